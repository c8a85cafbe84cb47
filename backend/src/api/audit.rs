//! `GET /api/v1/audit`: the audit trail, newest first, a page at a time
//! (`?limit=20&offset=40`), optionally without some actions (`?without=session.sign_in`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use lifeboat_shared::backup::AuditList;
use serde::Deserialize;

use crate::error::{AppError, Json, Query};
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
    /// How many of the newest (matching) entries to skip.
    #[serde(default)]
    offset: Option<usize>,
    /// Actions to leave out, comma-separated.
    #[serde(default)]
    without: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Query(p): Query<Params>,
) -> Result<Json<AuditList>, AppError> {
    let limit = p.limit.unwrap_or(200).clamp(1, MAX_LIMIT);
    let without: Vec<&str> = p
        .without
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    let (entries, more) = state
        .audit()
        .page(p.offset.unwrap_or(0), limit, &without)
        .map_err(|e| AppError::internal(&e))?;
    Ok(Json(AuditList { entries, more }))
}
