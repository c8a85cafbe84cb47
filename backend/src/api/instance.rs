//! `/instance`: what this Lifeboat protects.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use lifeboat_shared::backup::{InstanceInfo, InstanceList};

use super::{AppError, Json};
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/instance", get(info))
        .route("/instances", get(list))
}

async fn list(State(state): State<AppState>) -> Json<InstanceList> {
    Json(InstanceList {
        instances: state.instances().iter().map(|i| i.info()).collect(),
    })
}

async fn info(State(state): State<AppState>) -> Result<Json<InstanceInfo>, AppError> {
    state
        .instance()
        .map(|i| Json(i.info()))
        .ok_or_else(instance_starting)
}

/// `503 instance_starting`: the instance is not up yet, so nothing may touch it.
pub(super) fn instance_starting() -> AppError {
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "instance_starting",
        "the instance is starting (or failed to start; see the server log)",
    )
    .with_hint("try again in a few seconds")
}
