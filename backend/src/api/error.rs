//! How errors become responses: always the shared `ApiError` body, never an internal detail.

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lifeboat_shared::ApiError;

/// An error on its way to the client.
#[derive(Debug)]
pub struct AppError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ApiError,
}

impl AppError {
    /// Any status with a code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError::new(code, message),
        }
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `500 internal`: the cause is logged here and not sent to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Lifeboat hit an internal error; the server log has the details",
        )
    }

    /// Adds what the admin can do next.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.body.hint = Some(hint.into());
        self
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        Self::new(
            status,
            "invalid_body",
            without_quoted(&rejection.body_text()),
        )
        .with_hint("send a JSON body that matches the API's types")
    }
}

/// serde's messages quote the values they could not use (`invalid type: string "…"`), and
/// a value may be a secret: every double-quoted part is replaced by `"…"`. Field names
/// (backquoted) stay.
fn without_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// `axum::Json` whose rejections come back as our `ApiError`.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_not_echoed() {
        assert_eq!(
            without_quoted(
                "credentials.secret_access_key: invalid type: string \"s3cr3t\", expected u32 at line 1"
            ),
            "credentials.secret_access_key: invalid type: string \"…\", expected u32 at line 1"
        );
        assert_eq!(without_quoted("unknown field `x`"), "unknown field `x`");
    }
}
