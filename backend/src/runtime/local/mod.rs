//! The local runtime (the embedded default): tools run as processes on this host, places
//! are folders below Lifeboat's data dir, secrets are 0600 files, and the instances are
//! PostgreSQL clusters Lifeboat runs itself (the demo instance and those restores create).
//!
//! What runs tools and finds them is the host layer (`runtime::host`), shared with the
//! kubernetes runtime; this folder is what a local instance alone needs.
//!
//! - `instance/` — one local instance: its Postgres, seed and configuration folder.
//! - `registry.rs` — the instances by namespace.

pub mod instance;
pub mod registry;

use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::host::staging::FolderStaging;
use crate::command::{Place, Stream, ToolCommand, ToolOutput, Volume};
use crate::config_store::{ConfigStore, FileStore};
use crate::runtime::host::paths::Paths;
use crate::runtime::host::process::Runner;
use crate::runtime::host::toolbox::Toolbox;
use crate::runtime::{InstanceRegistry, Runtime, RuntimeError, Staging};
use crate::secrets::{LocalSecrets, SecretSource};

/// Runs everything on this host.
#[derive(Debug)]
pub struct LocalRuntime {
    runner: Arc<Runner>,
    registry: registry::LocalRegistry,
    secrets: Arc<LocalSecrets>,
    app_jobs: usize,
}

impl LocalRuntime {
    /// The runtime of the data dir `data_dir`, with the tools found at start.
    pub fn new(data_dir: &Path, toolbox: Toolbox) -> Self {
        Self::with_keycloak(data_dir, toolbox, None)
    }

    /// The same, its instances running Keycloak beside Postgres when `keycloak` is given.
    pub fn with_keycloak(
        data_dir: &Path,
        toolbox: Toolbox,
        keycloak: Option<instance::keycloak::KeycloakSetup>,
    ) -> Self {
        let runner = Arc::new(Runner::new(toolbox, Paths::new(data_dir)));
        Self {
            registry: registry::LocalRegistry::new(runner.clone(), keycloak),
            secrets: Arc::new(LocalSecrets::new(data_dir.join("secrets"))),
            runner,
            app_jobs: 2,
        }
    }

    /// Takes `app_jobs` apps' parts at once in a backup (`--app-jobs`; at least 1).
    #[must_use]
    pub fn with_app_jobs(mut self, app_jobs: usize) -> Self {
        self.app_jobs = app_jobs.max(1);
        self
    }

    /// The tools found at start.
    pub fn toolbox(&self) -> &Toolbox {
        self.runner.toolbox()
    }
}

#[async_trait::async_trait]
impl Runtime for LocalRuntime {
    fn name(&self) -> &'static str {
        "local"
    }

    fn host(&self) -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into())
    }

    async fn run(
        &self,
        cmd: ToolCommand,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, RuntimeError> {
        self.runner.run(cmd, cancel, on_line).await
    }

    fn install_hint(&self) -> Option<String> {
        self.toolbox().install_hint()
    }

    fn postgres_major(&self) -> Option<u32> {
        self.toolbox().postgres_major()
    }

    fn instances(&self) -> &dyn InstanceRegistry {
        &self.registry
    }

    fn restore_staging(&self, operation: &str) -> Arc<dyn Staging> {
        let paths = self.runner.paths();
        // The fetch fills `<data_dir>/restores` (maybe a volume of its own); a new
        // instance's data directory then fills the data dir.
        Arc::new(FolderStaging::new(
            paths,
            Place::root(Volume::RestoreStaging(operation.to_owned())),
            vec![paths.data_dir().to_path_buf()],
        ))
    }

    fn secrets(&self) -> Arc<dyn SecretSource> {
        self.secrets.clone()
    }

    fn app_jobs(&self) -> usize {
        self.app_jobs
    }

    fn config_store(&self) -> Arc<dyn ConfigStore> {
        Arc::new(FileStore::new(
            self.runner.paths().data_dir().join("config.json"),
        ))
    }
}
