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

/// The catalog, and the window of the instance backup `id` was taken of (this Lifeboat's
/// own when `id` is `None`; `404` when the catalog has no such backup) with the archive's
/// record it came from: one listing of the catalog, one read of the record.
async fn read(
    state: &AppState,
    id: Option<&str>,
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
    let instance_id = match id {
        Some(id) => manifests
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.source.instance_id.clone())
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "no backup {} in the catalog",
                    crate::error::quote(id)
                ))
            })?,
        None => own_id(state)?,
    };
    let archive = wal::read(&target, &instance_id)
        .await
        .map_err(|e| storage_error(&e))?;
    let w = wal::window(
        &manifests,
        archive.as_ref(),
        &instance_id,
        time::OffsetDateTime::now_utc(),
    );
    Ok((w, manifests, archive))
}

fn own_id(state: &AppState) -> Result<String, AppError> {
    state
        .instance()
        .map(|i| i.id().to_owned())
        .ok_or_else(|| super::instance::instance_starting(state))
}

async fn window(State(state): State<AppState>) -> Result<Json<RecoveryWindow>, AppError> {
    Ok(Json(read(&state, None).await?.0))
}

/// Checks `at` (RFC 3339; `None`: the newest moment the window reaches) against the
/// window of the instance backup `id` was taken of (this Lifeboat's own when `id` is
/// `None`), and chooses the backup and WAL that reach it: `400 invalid_target_time` when
/// it is not a time, `422 target_time_out_of_range` with the window when no restore can
/// land there.
pub(super) async fn choose(
    state: &AppState,
    id: Option<&str>,
    at: Option<&str>,
) -> Result<(String, ToMoment), AppError> {
    let parsed = at
        .map(|at| {
            wal::parse_time(at).ok_or_else(|| {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_target_time",
                    format!(
                        "target_time {:?} is not an RFC 3339 time",
                        crate::error::quote(at)
                    ),
                )
                .with_hint("give a time such as 2026-12-07T21:30:00Z")
            })
        })
        .transpose()?;
    let (w, manifests, archive) = read(state, id).await?;
    let out_of_range = |message: String| {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "target_time_out_of_range",
            message,
        )
        .with_hint("choose a moment inside the recovery window")
        .with_detail("window", serde_json::to_value(&w).unwrap_or_default())
    };
    let Some(parsed) = parsed.or_else(|| w.latest.as_deref().and_then(wal::parse_time)) else {
        return Err(out_of_range(
            "this instance has no backup with a recovery point in the bucket".into(),
        )
        .with_hint("run a backup first"));
    };
    let choice = wal::choose(&manifests, archive.as_ref(), &w.instance_id, parsed, id)
        .map_err(|e| out_of_range(e.to_string()))?;
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
    Ok(choose(state, id, Some(at)).await?.1)
}
