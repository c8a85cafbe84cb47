//! `GET /api/v1/bucket`: what the configured bucket holds below Lifeboat's prefix, from a
//! listing of the bucket itself (the figure an admin budgets with).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use lifeboat_shared::backup::BucketUsage;

use super::backups::{current_target, storage_error};
use crate::error::{AppError, Json};
use crate::operations::clock;
use crate::state::AppState;
use crate::storage::usage;

/// The bucket's route, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().route("/bucket", get(measure))
}

async fn measure(State(state): State<AppState>) -> Result<Json<BucketUsage>, AppError> {
    let target = current_target(&state).await?;
    let measured_at = clock::now();
    let u = usage::measure(&target)
        .await
        .map_err(|e| storage_error(&e))?;
    Ok(Json(BucketUsage {
        stored_bytes: u.stored_bytes,
        objects: u.objects,
        measured_at,
    }))
}
