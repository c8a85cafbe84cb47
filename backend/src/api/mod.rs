//! The JSON API under `/api/v1`: extract, call, map. No business logic lives here.

mod audit;
mod backups;
mod bucket;
mod caller;
mod config;
mod health;
mod instance;
mod operations;
mod recovery;
mod restore;
mod secret_errors;

use axum::Router;

use crate::state::AppState;

pub use crate::error::{AppError, Json, Path, Query};
pub use caller::Caller;

/// Every API route, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(config::router())
        .merge(backups::router())
        .merge(recovery::router())
        .merge(restore::router())
        .merge(bucket::router())
        .merge(operations::router())
        .merge(instance::router())
        .merge(audit::router())
        .fallback(unknown_route)
}

/// The JSON `404` for a path under `/api` that no route serves.
pub async fn unknown_route(uri: axum::http::Uri) -> AppError {
    AppError::not_found(format!("no API route {}", crate::error::quote(uri.path())))
}
