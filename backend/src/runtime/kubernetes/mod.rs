//! The kubernetes runtime: Lifeboat runs in a pod of the Dash Enterprise namespace it
//! manages. Its tools (restic, pgBackRest) run as processes in its own container, on its
//! staging volume (the data dir is that volume's mount), through the same process runner
//! as the local runtime; what it backs up lives in the cluster:
//!
//! - the system Postgres, in the pod of the StatefulSet `system-postgres`, is read by
//!   `pgbackrest backup` over pgBackRest's TLS protocol from the `pgbackrest server`
//!   sidecar beside it (`pg1-host-type=tls`, client certificates; no `kubectl exec`), and
//!   archives its WAL to the `pgbackrest server` beside Lifeboat's staging volume;
//! - the platform configuration is every namespaced object of the kinds that make it up,
//!   found through discovery (`export.rs`), cleaned of what the API server set
//!   (`objects.rs`) and saved as YAML.
//!
//! - `instance.rs` — the namespace's system, as an [`Instance`].
//! - `registry.rs` — the one instance this Lifeboat manages.
//! - `export.rs` / `objects.rs` — the platform configuration, saved.
//! - `workloads.rs` — what a restore in place stops and brings back, counts remembered on
//!   the workloads.
//! - `restore_job.rs` — `pgbackrest restore` in a Job on the system Postgres' claim.
//! - `apply.rs` — the saved configuration, server-side applied in dependency order;
//!   `rewrite.rs` — moved to another namespace on the way.
//! - `watch.rs` — waits that list, then watch from there.
//! - `client.rs` — the API server's client, over HTTP/2.

pub mod apply;
pub mod apps;
pub mod claim_job;
pub mod client;
pub mod dash_apps;
pub mod export;
pub mod instance;
pub mod objects;
pub mod registry;
pub mod restore_job;
pub mod rewrite;
pub mod watch;
pub mod workloads;

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::host::paths::Paths;
use super::host::process::Runner;
use super::host::staging::FolderStaging;
use super::host::toolbox::Toolbox;
use crate::command::{Place, Stream, ToolCommand, ToolOutput, Volume};
use crate::config_store::{ConfigMapStore, ConfigStore};
use crate::runtime::{InstanceRegistry, Runtime, RuntimeError, Staging};
use crate::secrets::{KubeSecrets, SecretSource};

pub use instance::KubeSettings;
pub use registry::KubeRegistry;

/// Why the kubernetes runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum KubeRuntimeError {
    /// No configuration to reach the API server (not in a pod, no kubeconfig).
    #[error("cannot find how to reach the Kubernetes API server: {0}")]
    Config(String),
    /// The client could not be built.
    #[error("cannot build a Kubernetes client: {0}")]
    Client(String),
    /// No namespace was given and none could be inferred.
    #[error("no namespace: pass --namespace (or run in a pod, whose namespace is the default)")]
    Namespace,
}

/// How to reach the cluster and what to manage there.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// A kubeconfig file; without it, the in-cluster configuration (or `$KUBECONFIG`).
    pub kubeconfig: Option<PathBuf>,
    /// The namespace managed; without it, the pod's own (or the kubeconfig context's).
    pub namespace: Option<String>,
    /// Names and paths of the system Postgres.
    pub settings: KubeSettings,
    /// The ConfigMap the storage configuration is saved in.
    pub config_map: String,
}

/// Runs tools in Lifeboat's own container and manages the system of its namespace.
#[derive(Debug)]
pub struct KubeRuntime {
    runner: Arc<Runner>,
    registry: KubeRegistry,
    secrets: Arc<KubeSecrets>,
    config: Arc<ConfigMapStore>,
    host: String,
    app_jobs: usize,
}

impl KubeRuntime {
    /// Connects to the API server; the data dir is Lifeboat's staging volume.
    pub async fn connect(
        data_dir: &std::path::Path,
        toolbox: Toolbox,
        options: KubeOptions,
    ) -> Result<Self, KubeRuntimeError> {
        let config = match &options.kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| KubeRuntimeError::Config(e.to_string()))?;
                kube::Config::from_custom_kubeconfig(kc, &Default::default())
                    .await
                    .map_err(|e| KubeRuntimeError::Config(e.to_string()))?
            }
            None => kube::Config::infer()
                .await
                .map_err(|e| KubeRuntimeError::Config(e.to_string()))?,
        };
        let namespace = options
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| Some(config.default_namespace.clone()).filter(|n| !n.is_empty()))
            .ok_or(KubeRuntimeError::Namespace)?;
        let client = client::build(config).map_err(|e| KubeRuntimeError::Client(e.to_string()))?;
        let runner = Arc::new(Runner::new(toolbox, Paths::new(data_dir)));
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| format!("lifeboat.{namespace}"));
        let app_jobs = options.settings.app_jobs;
        Ok(Self {
            app_jobs,
            registry: KubeRegistry::new(
                client.clone(),
                namespace.clone(),
                runner.clone(),
                options.settings,
            ),
            config: Arc::new(ConfigMapStore::new(
                client.clone(),
                namespace.clone(),
                options.config_map.clone(),
            )),
            secrets: Arc::new(KubeSecrets::new(client, namespace)),
            runner,
            host,
        })
    }

    /// The namespace managed.
    pub fn namespace(&self) -> &str {
        self.registry.namespace()
    }
}

#[async_trait::async_trait]
impl Runtime for KubeRuntime {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn host(&self) -> String {
        self.host.clone()
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
        // PostgreSQL runs in its own pod: only restic and pgBackRest are needed here.
        self.runner
            .toolbox()
            .only(&["restic", "pgbackrest"])
            .install_hint()
    }

    fn postgres_major(&self) -> Option<u32> {
        None
    }

    fn instances(&self) -> &dyn InstanceRegistry {
        &self.registry
    }

    fn restore_staging(&self, operation: &str) -> Arc<dyn Staging> {
        let paths = self.runner.paths();
        Arc::new(FolderStaging::new(
            paths,
            Place::root(Volume::RestoreStaging(operation.to_owned())),
            Vec::new(),
        ))
    }

    fn secrets(&self) -> Arc<dyn SecretSource> {
        self.secrets.clone()
    }

    fn config_store(&self) -> Arc<dyn ConfigStore> {
        self.config.clone()
    }

    fn app_jobs(&self) -> usize {
        self.app_jobs
    }

    /// An app's files and its Redis' RDB are put back beside their claims, from the bucket.
    fn restores_beside(&self, kind: crate::runtime::PartKind) -> bool {
        matches!(
            kind,
            crate::runtime::PartKind::Files | crate::runtime::PartKind::Redis
        )
    }
}
