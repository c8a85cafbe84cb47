//! `/instance`: what this Lifeboat protects.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use lifeboat_shared::backup::{InstanceInfo, InstanceList};

use crate::error::{AppError, Json};
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
        starting: state.runtime().instances().starting(),
    })
}

async fn info(State(state): State<AppState>) -> Result<Json<InstanceInfo>, AppError> {
    let instance = state.instance().ok_or_else(|| instance_starting(&state))?;
    let mut info = instance.info();
    // The apps' data as App Manager records it; the rest answers when that cannot be read.
    match instance.app_data().await {
        Ok((apps, workspaces)) => {
            info.apps = apps;
            info.workspaces = workspaces;
        }
        Err(e) => tracing::warn!(error = %e, "the apps' data could not be listed"),
    }
    Ok(Json(info))
}

/// `503 instance_starting`: the instance is not up yet, so nothing may touch it. Says why
/// when an attempt has failed (callers are authenticated: the error may name paths).
pub(super) fn instance_starting(state: &AppState) -> AppError {
    let report = state.startup().report();
    let message = match report
        .as_ref()
        .and_then(|r| r.last_error.as_ref().map(|e| (r, e)))
    {
        Some((r, error)) => format!(
            "the instance is starting: attempt {} failed ({error}); trying again{}",
            r.failed_attempts,
            r.retry_in_seconds
                .map(|s| format!(" in {s} s"))
                .unwrap_or_default()
        ),
        None => "the instance is starting".to_owned(),
    };
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "instance_starting",
        message,
    )
    .with_hint("try again in a few seconds")
}
