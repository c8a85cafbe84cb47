//! Serves the built single-page app: real files with their content type and cache headers,
//! and `index.html` for any other non-API path so that client-side routes survive a reload.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;

/// Asset names are stable (the plugin entry point must be), so browsers revalidate every
/// time; `Last-Modified` makes that a cheap `304`.
const CACHE_CONTROL: &str = "no-cache";

/// The static routes: everything not under `/api`.
pub fn router(static_dir: &Path) -> Router<AppState> {
    let index = static_dir.join("index.html");
    let serve = ServeDir::new(static_dir).fallback(ServeFile::new(index));
    Router::new()
        .fallback_service(serve)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}
