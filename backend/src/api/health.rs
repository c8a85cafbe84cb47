//! `GET /api/v1/health`: unauthenticated liveness, tool readiness and how start-up goes.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use lifeboat_shared::{Health, HealthStatus, InstanceStart};

use crate::error::Json;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    let status = if state.runtime().install_hint().is_none() {
        HealthStatus::Ok
    } else {
        HealthStatus::Degraded
    };
    let keycloak_sign_in = state
        .auth()
        .filter(|a| a.sso.is_some())
        .map(|_| crate::auth::sso::START_PATH.to_owned());
    Json(Health {
        status,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        keycloak_sign_in,
        instance_start: state.startup().report().map(|r| InstanceStart {
            failed_attempts: r.failed_attempts,
            retry_in_seconds: r.retry_in_seconds,
        }),
    })
}
