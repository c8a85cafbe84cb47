//! How a secret store's errors answer: each says what to do (the `kubectl` to run), none
//! carries a value.

use axum::http::StatusCode;

use crate::error::AppError;
use crate::secrets::SecretError;

/// The answer to a request that failed on the secret store.
pub(super) fn secret_error(e: SecretError) -> AppError {
    let message = e.to_string();
    match e {
        SecretError::ReadOnly => AppError::new(StatusCode::CONFLICT, "secret_read_only", message)
            .with_hint(
                "send no credentials or passphrase: change them in the Secret with \
                 `kubectl create secret generic … --dry-run=client -o yaml | kubectl apply -f -`",
            ),
        SecretError::NotFound { .. } => {
            AppError::new(StatusCode::CONFLICT, "secret_missing", message)
        }
        SecretError::Forbidden { .. } => {
            AppError::new(StatusCode::FORBIDDEN, "secret_forbidden", message)
                .with_hint("grant Lifeboat's Role `get` on that Secret (deploy/ has the Role)")
        }
        SecretError::BadName(_) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_secret_name",
            message,
        ),
        SecretError::Unavailable { .. } => AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "secret_unavailable",
            message,
        )
        .with_hint("check that the Kubernetes API server answers, then try again"),
        other => AppError::internal(&other),
    }
}
