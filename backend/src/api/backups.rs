//! `/backups`: start a backup, list the catalog, read one entry.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use lifeboat_shared::backup::{BackupList, BackupManifest, StartBackup};
use lifeboat_shared::operation::{Operation, Trigger};

use crate::error::{AppError, Json, Path};
use crate::jobs::JobsError;
use crate::state::AppState;
use crate::storage::catalog;

/// The longest description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/backups", get(list).post(start))
        .route("/backups/{id}", get(one))
}

/// Checks a description: at most 500 characters, no control characters (newlines included).
pub fn check_description(d: &str) -> Result<String, AppError> {
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_description",
            format!("the description is longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if d.chars().any(char::is_control) {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_description",
            "the description contains control characters (such as line breaks)",
        )
        .with_hint("use a single line of text"));
    }
    Ok(d.trim().to_owned())
}

/// The `409` for a second operation.
pub fn busy(running: &Operation) -> axum::response::Response {
    AppError::new(
        StatusCode::CONFLICT,
        "operation_running",
        format!(
            "operation {} is running; one backup or restore runs at a time",
            running.id
        ),
    )
    .with_hint("wait for it to finish, or cancel it")
    .with_detail(
        "operation",
        serde_json::to_value(running).unwrap_or_default(),
    )
    .into_response()
}

async fn start(
    State(state): State<AppState>,
    caller: super::caller::Caller,
    Json(body): Json<StartBackup>,
) -> Result<axum::response::Response, AppError> {
    let audit = |detail: &str, outcome: &str| {
        state
            .audit()
            .record(&caller.who, &caller.from, "backup.start", detail, outcome);
    };
    let description = check_description(&body.description).inspect_err(|e| {
        audit("Backup Now", &format!("refused: {}", e.body.code));
    })?;
    // Refused at once while the instance starts, not accepted to fail in its pre-flight.
    if state.instance().is_none() {
        audit("Backup Now", "refused: instance_starting");
        return Err(super::instance::instance_starting(&state));
    }
    let trigger = Trigger::Manual {
        by: caller.who.clone(),
    };
    match state.jobs().start_backup(
        description.clone(),
        trigger,
        body.include_apps,
        body.backup_type,
    ) {
        Ok(op) => {
            audit(
                &format!("Backup Now {:?} as {}", description, op.id),
                "accepted",
            );
            Ok((StatusCode::ACCEPTED, Json(op)).into_response())
        }
        Err(JobsError::Busy(running)) => {
            audit("Backup Now", "refused: operation_running");
            Ok(busy(&running))
        }
        Err(e) => {
            let e = not_started(e);
            audit("Backup Now", &format!("refused: {}", e.body.code));
            Err(e)
        }
    }
}

/// An operation that could not be started: `507 disk_full` when its record found no room
/// (nothing was started), else an internal error.
pub(super) fn not_started(e: JobsError) -> AppError {
    use crate::operations::{OperationsError, StoreError};
    match e {
        JobsError::Record(OperationsError::Store(full @ StoreError::Full { .. })) => {
            AppError::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", full.to_string())
                .with_hint(
                    "free space on the volume holding Lifeboat's data dir, then try again; nothing was started",
                )
        }
        e => AppError::internal(&e),
    }
}

async fn list(State(state): State<AppState>) -> Result<Json<BackupList>, AppError> {
    let target = current_target(&state).await?;
    let (backups, damaged) = catalog::list_checked(&target)
        .await
        .map_err(|e| storage_error(&e))?;
    Ok(Json(BackupList { backups, damaged }))
}

async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BackupManifest>, AppError> {
    let target = current_target(&state).await?;
    match catalog::get(&target, &id).await {
        Ok(Some(m)) => Ok(Json(m)),
        Ok(None) | Err(catalog::CatalogError::BadId(_)) => Err(AppError::not_found(format!(
            "no backup {} in the catalog",
            crate::error::quote(&id)
        ))),
        Err(e @ catalog::CatalogError::Damaged { .. }) => Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "backup_damaged",
            e.to_string(),
        )
        .with_hint("choose another backup")),
        Err(e) => Err(storage_error(&e)),
    }
}

/// The bucket in effect now, or the `502 storage_unavailable` that says it cannot be read.
pub(super) async fn current_target(state: &AppState) -> Result<crate::storage::Target, AppError> {
    state
        .config()
        .current_target()
        .await
        .map_err(|e| storage_error(&e))
}

/// The bucket could not be read (the cause is logged, not sent).
pub(super) fn storage_error(e: &dyn std::fmt::Display) -> AppError {
    tracing::warn!(error = %e, "cannot read the bucket");
    AppError::new(
        StatusCode::BAD_GATEWAY,
        "storage_unavailable",
        "the bucket cannot be read",
    )
    .with_hint("check the storage settings and that the bucket is reachable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_bounded_and_single_line() {
        assert_eq!(
            check_description("  before upgrade ").unwrap(),
            "before upgrade"
        );
        assert!(check_description(&"é".repeat(500)).is_ok());
        assert!(check_description(&"é".repeat(501)).is_err());
        assert!(check_description("a\nb").is_err());
        assert!(check_description("a\u{7}b").is_err());
        assert!(check_description("").is_ok());
    }
}
