//! The one instance a Lifeboat on the kubernetes runtime manages: the system of its own
//! namespace. (Instances in other namespaces come with restores into a new namespace.)

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::instance::{KubeInstance, KubeSettings};
use crate::runtime::local::Runner;
use crate::runtime::{Instance, InstanceError, InstanceRegistry};

/// How long [`KubeRegistry::start`] waits for the system Postgres to accept pgBackRest.
const START_LIMIT: Duration = Duration::from_secs(600);

/// The system of one namespace.
pub struct KubeRegistry {
    client: kube::Client,
    namespace: String,
    runner: Arc<Runner>,
    settings: KubeSettings,
    own: OnceLock<Arc<dyn Instance>>,
}

impl std::fmt::Debug for KubeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeRegistry")
            .field("namespace", &self.namespace)
            .field("own", &self.own)
            .finish_non_exhaustive()
    }
}

impl KubeRegistry {
    /// The registry of `namespace` (nothing loaded until [`InstanceRegistry::start`]).
    pub fn new(
        client: kube::Client,
        namespace: String,
        runner: Arc<Runner>,
        settings: KubeSettings,
    ) -> Self {
        Self {
            client,
            namespace,
            runner,
            settings,
            own: OnceLock::new(),
        }
    }

    /// The namespace managed.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

#[async_trait::async_trait]
impl InstanceRegistry for KubeRegistry {
    fn own(&self) -> Option<Arc<dyn Instance>> {
        self.own.get().cloned()
    }

    fn get(&self, namespace: &str) -> Option<Arc<dyn Instance>> {
        self.own().filter(|i| i.namespace() == namespace)
    }

    fn list(&self) -> Vec<Arc<dyn Instance>> {
        self.own().into_iter().collect()
    }

    fn has_remains(&self, _namespace: &str) -> bool {
        false
    }

    async fn create_empty(&self, namespace: &str) -> Result<Arc<dyn Instance>, InstanceError> {
        Err(InstanceError::NotHere(format!(
            "creating an instance in namespace {namespace}"
        )))
    }

    fn adopt(&self, _instance: Arc<dyn Instance>) {}

    async fn remove(&self, namespace: &str) -> Result<(), InstanceError> {
        Err(InstanceError::NotHere(format!(
            "removing the instance in namespace {namespace}"
        )))
    }

    fn restoring_in(&self, namespace: &str) -> Option<String> {
        self.get(namespace).and_then(|i| i.restoring())
    }

    /// Writes pgBackRest's settings and creates its stanza once the system Postgres and its
    /// `pgbackrest server` sidecar answer (retrying for up to ten minutes), unless a restore
    /// that did not finish left it stopped.
    async fn start(&self) -> Result<(), InstanceError> {
        let instance = KubeInstance::open(
            self.client.clone(),
            &self.namespace,
            self.runner.clone(),
            self.settings.clone(),
        )
        .await?;
        if let Some(op) = instance.restoring() {
            // A restore stopped the system Postgres on purpose and did not finish: its data
            // is incomplete until a restore succeeds, so do not wait for it to answer.
            tracing::error!(namespace = %self.namespace, operation = %op, "a restore into this namespace did not finish; the system Postgres stays stopped until a restore succeeds");
            let _ = self.own.set(Arc::new(instance));
            return Ok(());
        }
        let started = tokio::time::Instant::now();
        loop {
            match instance.create_stanza().await {
                Ok(()) => break,
                Err(e) if started.elapsed() < START_LIMIT => {
                    tracing::info!(error = %e, "the system Postgres is not ready for pgBackRest yet; retrying in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => return Err(e),
            }
        }
        tracing::info!(namespace = %self.namespace, "system instance ready");
        let _ = self.own.set(Arc::new(instance));
        Ok(())
    }

    async fn stop_all(&self) {}
}
