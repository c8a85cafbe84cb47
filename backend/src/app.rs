//! The application factory: the router over the shared state (`state.rs`). Tests drive
//! `app()` directly.

use std::time::Duration;

use axum::Router;
use axum::http::{Method, header};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::state::AppState;

/// How long one API request may take before it gets `408`. Streams are exempt.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request body the API reads (a configuration with a GCS service-account key is
/// a few KiB); larger ones get `413`.
pub const API_BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP surface: `/api/v1/...` and the web page.
pub fn app(state: AppState) -> Router {
    let static_dir = state.settings().static_dir.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(state.settings().allowed_origins.clone()))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static(crate::auth::CSRF_HEADER),
        ])
        .allow_credentials(true);
    let mut api = crate::api::router()
        .merge(crate::auth::router())
        .layer(axum::extract::DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    if let Some(ctx) = state.auth() {
        api = api.layer(axum::middleware::from_fn_with_state(
            ctx,
            crate::auth::require_auth,
        ));
    }
    // Outermost, so the bodies of `405`, `408`, `413` and the like are `ApiError`s too.
    let api = api.layer(axum::middleware::map_response(crate::error::json_errors));
    Router::new()
        .nest(lifeboat_shared::API_PREFIX, api)
        .route("/login", axum::routing::get(crate::auth::login_page))
        .route(
            crate::auth::sso::START_PATH,
            axum::routing::get(crate::auth::sso_routes::start),
        )
        .route(
            crate::auth::sso::CALLBACK_PATH,
            axum::routing::get(crate::auth::sso_routes::callback),
        )
        // Any other `/api` path is an API 404, not the web page.
        .route("/api", axum::routing::any(crate::api::unknown_route))
        .route(
            "/api/{*rest}",
            axum::routing::any(crate::api::unknown_route),
        )
        .merge(crate::web::router(
            &static_dir,
            &state.settings().allowed_origins,
        ))
        .layer(cors)
        .layer(CompressionLayer::new())
        // A 5xx is logged at WARN here: the expected `503 instance_starting` while the
        // instance starts is no error, and internal errors are logged at ERROR with their
        // cause by `api::error`.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .with_state(state)
}
