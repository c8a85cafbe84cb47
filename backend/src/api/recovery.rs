//! `/recovery-window` (what moments a restore can land on) and `/restore` (a restore to a
//! moment, Lifeboat choosing the backup).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use lifeboat_shared::recovery::RecoveryWindow;

use super::backups::{current_target, storage_error};
use crate::error::{AppError, Json};
use crate::jobs::restore::ToMoment;
use crate::state::AppState;
use crate::storage::catalog;
use crate::wal;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/recovery-window", get(window))
}

/// The window of `instance_id`, with the catalog and the archive's record it came from.
pub(super) async fn read(
    state: &AppState,
    instance_id: &str,
) -> Result<
    (
        RecoveryWindow,
        Vec<lifeboat_shared::backup::BackupManifest>,
        Option<wal::ArchiveState>,
    ),
    AppError,
> {
    let target = current_target(state).await?;
    let manifests = catalog::list(&target)
        .await
        .map_err(|e| storage_error(&e))?;
    let archive = wal::read(&target, instance_id)
        .await
        .map_err(|e| storage_error(&e))?;
    let w = wal::window(
        &manifests,
        archive.as_ref(),
        instance_id,
        time::OffsetDateTime::now_utc(),
    );
    Ok((w, manifests, archive))
}

pub(super) fn own_id(state: &AppState) -> Result<String, AppError> {
    state
        .instance()
        .map(|i| i.id().to_owned())
        .ok_or_else(|| super::instance::instance_starting(state))
}

async fn window(State(state): State<AppState>) -> Result<Json<RecoveryWindow>, AppError> {
    let id = own_id(&state)?;
    Ok(Json(read(&state, &id).await?.0))
}

/// Checks `at` (RFC 3339) against the window of the instance backup `id` was taken of (this
/// Lifeboat's own when `id` is `None`), and chooses the backup and WAL that reach it:
/// `400 invalid_target_time` when it is not a time, `422 target_time_out_of_range` with
/// the window when no restore can land there.
pub(super) async fn choose(
    state: &AppState,
    id: Option<&str>,
    at: &str,
) -> Result<(String, ToMoment), AppError> {
    let parsed = wal::parse_time(at).ok_or_else(|| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_target_time",
            format!(
                "target_time {:?} is not an RFC 3339 time",
                crate::error::quote(at)
            ),
        )
        .with_hint("give a time such as 2026-12-07T21:30:00Z")
    })?;
    let instance_id = match id {
        Some(id) => {
            let target = current_target(state).await?;
            catalog::get(&target, id)
                .await
                .map_err(|e| storage_error(&e))?
                .ok_or_else(|| {
                    AppError::not_found(format!(
                        "no backup {} in the catalog",
                        crate::error::quote(id)
                    ))
                })?
                .source
                .instance_id
        }
        None => own_id(state)?,
    };
    let (w, manifests, archive) = read(state, &instance_id).await?;
    let choice =
        wal::choose(&manifests, archive.as_ref(), &instance_id, parsed, id).map_err(|e| {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "target_time_out_of_range",
                e.to_string(),
            )
            .with_hint("choose a moment inside the recovery window")
            .with_detail("window", serde_json::to_value(&w).unwrap_or_default())
        })?;
    Ok((
        choice.backup_id,
        ToMoment {
            at: wal::format_time(parsed),
            wal_snapshot: Some(choice.wal_snapshot),
        },
    ))
}

/// [`choose`] for a restore of backup `id` to `at`; some apps' data alone cannot go to a
/// moment (`400 target_time_with_apps`: their dumps are as the backup took them).
pub(super) async fn moment(
    state: &AppState,
    id: Option<&str>,
    at: &str,
    apps_only: bool,
) -> Result<ToMoment, AppError> {
    if apps_only {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "target_time_with_apps",
            "some apps' data alone is restored as the backup took it, not to a moment",
        )
        .with_hint(
            "leave out target_time, or leave out apps to restore everything to that moment",
        ));
    }
    Ok(choose(state, id, at).await?.1)
}
