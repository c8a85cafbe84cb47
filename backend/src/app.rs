//! The application factory: shared state and the router. Tests drive `app()` directly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::tools::Toolbox;

/// Where things are; fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Lifeboat's own state.
    pub data_dir: PathBuf,
    /// The built single-page app.
    pub static_dir: PathBuf,
    /// Origins allowed to call the API and load the plugin from another page.
    pub allowed_origins: Vec<HeaderValue>,
}

/// Why an `--allowed-origin` was refused.
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    /// Not of the form `scheme://host[:port]`.
    #[error("allowed origin {0:?} must look like https://host[:port], with no path")]
    Malformed(String),
}

/// Checks an origin given on the command line: `http(s)://host[:port]`, nothing after.
pub fn parse_origin(origin: &str) -> Result<HeaderValue, OriginError> {
    let bad = || OriginError::Malformed(origin.to_owned());
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    HeaderValue::from_str(origin).map_err(|_| bad())
}

/// State shared by every request handler. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    toolbox: Toolbox,
    gate: crate::gate::OperationGate,
    operations: crate::operations::Operations,
    jobs: crate::jobs::Jobs,
    runtime: Arc<dyn crate::runtime::Runtime>,
    instance: std::sync::OnceLock<Arc<crate::instance::Instance>>,
    /// Instances restores created in other namespaces, by namespace.
    audit: crate::audit::AuditLog,
    others: std::sync::Mutex<std::collections::BTreeMap<String, Arc<crate::instance::Instance>>>,
    auth: std::sync::OnceLock<Arc<crate::auth::AuthContext>>,
}

impl AppState {
    /// Builds the state from settings and the discovered tools.
    pub fn new(settings: Settings, toolbox: Toolbox) -> Self {
        Self {
            inner: Arc::new(Inner {
                gate: crate::gate::OperationGate::new(),
                operations: crate::operations::Operations::open(
                    settings.data_dir.join("operations"),
                ),
                jobs: crate::jobs::Jobs::default(),
                runtime: Arc::new(crate::runtime::LocalRuntime::new(toolbox.clone())),
                instance: std::sync::OnceLock::new(),
                others: std::sync::Mutex::default(),
                audit: crate::audit::AuditLog::new(settings.data_dir.join("audit.jsonl")),
                auth: std::sync::OnceLock::new(),
                settings,
                toolbox,
            }),
        }
    }

    /// Where things are.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The external tools found at start.
    pub fn toolbox(&self) -> &Toolbox {
        &self.inner.toolbox
    }

    /// The gate every backup and restore enters; the configuration is locked while one runs.
    pub fn gate(&self) -> &crate::gate::OperationGate {
        &self.inner.gate
    }

    /// Every backup and restore, durable and live.
    pub fn operations(&self) -> &crate::operations::Operations {
        &self.inner.operations
    }

    /// The running jobs (cancellation).
    pub fn jobs(&self) -> &crate::jobs::Jobs {
        &self.inner.jobs
    }

    /// Where tools run.
    pub fn runtime(&self) -> &Arc<dyn crate::runtime::Runtime> {
        &self.inner.runtime
    }

    /// The instance this Lifeboat protects, once it is up (see `jobs::start_instance`).
    pub fn instance(&self) -> Option<Arc<crate::instance::Instance>> {
        self.inner.instance.get().cloned()
    }

    /// Who may call the API. `lifeboat serve` always sets it before building the router;
    /// only in-process handler tests run the factory without it.
    pub fn auth(&self) -> Option<Arc<crate::auth::AuthContext>> {
        self.inner.auth.get().cloned()
    }

    /// Installs authentication once; `false` if it was already set.
    pub fn set_auth(&self, auth: Arc<crate::auth::AuthContext>) -> bool {
        self.inner.auth.set(auth).is_ok()
    }

    fn others(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, Arc<crate::instance::Instance>>>
    {
        self.inner
            .others
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The audit trail.
    pub fn audit(&self) -> &crate::audit::AuditLog {
        &self.inner.audit
    }

    /// The instance in `namespace` other than this Lifeboat's own, if a restore made one.
    pub fn instance_in(&self, namespace: &str) -> Option<Arc<crate::instance::Instance>> {
        self.others().get(namespace).cloned()
    }

    /// Adds (or replaces) an instance in another namespace.
    pub fn add_instance(&self, instance: Arc<crate::instance::Instance>) {
        self.others()
            .insert(instance.namespace().to_owned(), instance);
    }

    /// Every instance: this Lifeboat's own first, then the others by namespace.
    pub fn instances(&self) -> Vec<Arc<crate::instance::Instance>> {
        self.instance()
            .into_iter()
            .chain(self.others().values().cloned())
            .collect()
    }

    /// Sets the instance once; `false` if one was already set.
    pub fn set_instance(&self, instance: Arc<crate::instance::Instance>) -> bool {
        self.inner.instance.set(instance).is_ok()
    }
}

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
    Router::new()
        .nest(lifeboat_shared::API_PREFIX, api)
        .route("/login", axum::routing::get(crate::auth::login_page))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_be_bare_scheme_host_port() {
        assert!(parse_origin("https://appmanager.example.com").is_ok());
        assert!(parse_origin("http://127.0.0.1:8090").is_ok());
        for bad in [
            "appmanager.example.com",
            "https://",
            "https://x/path",
            "ftp://x",
            "https://a b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
