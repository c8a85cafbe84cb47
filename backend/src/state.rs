//! The application's shared state: what every request handler may reach, behind methods.
//! Built once by `lifeboat serve` (or a test) from the settings and a runtime.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::http::HeaderValue;

use crate::audit::AuditLog;
use crate::auth::AuthContext;
use crate::config::Config;
use crate::gate::OperationGate;
use crate::jobs::Jobs;
use crate::operations::Operations;
use crate::runtime::{Instance, Runtime};
use crate::startup::Startup;

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
    runtime: Arc<dyn Runtime>,
    config: Config,
    jobs: Arc<Jobs>,
    audit: AuditLog,
    auth: OnceLock<Arc<AuthContext>>,
    startup: Startup,
}

impl AppState {
    /// Builds the state from settings and the runtime Lifeboat runs on.
    pub fn new(settings: Settings, runtime: Arc<dyn Runtime>) -> Self {
        let gate = OperationGate::new();
        let config = Config::new(&settings.data_dir, runtime.clone(), gate.clone());
        let audit = AuditLog::new(settings.data_dir.join("audit.jsonl"));
        let jobs = Arc::new(Jobs::new(crate::jobs::JobDeps::new(
            Operations::open(settings.data_dir.join("operations")),
            runtime.clone(),
            config.clone(),
            gate,
            audit.clone(),
        )));
        Self {
            inner: Arc::new(Inner {
                settings,
                runtime,
                config,
                jobs,
                audit,
                auth: OnceLock::new(),
                startup: Startup::default(),
            }),
        }
    }

    /// Where things are.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Where tools run and instances live.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.inner.runtime
    }

    /// The storage configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Backups and restores: starting, cancelling, and their records.
    pub fn jobs(&self) -> &Arc<Jobs> {
        &self.inner.jobs
    }

    /// Every backup and restore, durable and live.
    pub fn operations(&self) -> &Operations {
        self.inner.jobs.operations()
    }

    /// The gate every backup and restore enters; the configuration is locked while one runs.
    pub fn gate(&self) -> &OperationGate {
        self.inner.jobs.gate()
    }

    /// The audit trail.
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// How bringing up the instances at start is going.
    pub fn startup(&self) -> &Startup {
        &self.inner.startup
    }

    /// The instance this Lifeboat protects, once it is up.
    pub fn instance(&self) -> Option<Arc<dyn Instance>> {
        self.inner.runtime.instances().own()
    }

    /// Every instance: this Lifeboat's own first, then the others by namespace.
    pub fn instances(&self) -> Vec<Arc<dyn Instance>> {
        self.inner.runtime.instances().list()
    }

    /// Who may call the API. `lifeboat serve` always sets it before building the router;
    /// only in-process handler tests run the factory without it.
    pub fn auth(&self) -> Option<Arc<AuthContext>> {
        self.inner.auth.get().cloned()
    }

    /// Installs authentication once; `false` if it was already set.
    pub fn set_auth(&self, auth: Arc<AuthContext>) -> bool {
        self.inner.auth.set(auth).is_ok()
    }
}

impl axum::extract::FromRef<AppState> for Option<Arc<AuthContext>> {
    fn from_ref(state: &AppState) -> Self {
        state.auth()
    }
}

impl axum::extract::FromRef<AppState> for AuditLog {
    fn from_ref(state: &AppState) -> Self {
        state.audit().clone()
    }
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
