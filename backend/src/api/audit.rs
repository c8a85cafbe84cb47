//! `GET /api/v1/audit`: the audit trail, newest first.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use lifeboat_shared::backup::AuditList;
use serde::Deserialize;

use super::{AppError, Json, Query};
use crate::state::AppState;

/// The most entries one call returns.
const MAX_LIMIT: usize = 1000;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    Query(p): Query<Params>,
) -> Result<Json<AuditList>, AppError> {
    let limit = p.limit.unwrap_or(200).clamp(1, MAX_LIMIT);
    let entries = state
        .audit()
        .list(limit)
        .map_err(|e| AppError::internal(&e))?;
    Ok(Json(AuditList { entries }))
}
