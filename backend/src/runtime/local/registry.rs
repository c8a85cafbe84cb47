//! The local instances, by namespace: the demo instance this Lifeboat creates for itself
//! (namespace `demo`) and those restores created in other namespaces, which come back up
//! with Lifeboat.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::instance::keycloak::KeycloakSetup;
use super::instance::{DEMO_NAMESPACE, Layout, LocalInstance, namespaces_in};
use crate::runtime::host::process::Runner;
use crate::runtime::loaded::Loaded;
use crate::runtime::{Instance, InstanceError, InstanceRegistry};

/// The instances under `<data_dir>/instances/`.
#[derive(Debug)]
pub struct LocalRegistry {
    runner: Arc<Runner>,
    /// Keycloak, when the instances run one beside their Postgres.
    keycloak: Option<KeycloakSetup>,
    loaded: Loaded,
    /// Namespaces whose instance start-up is still bringing up (not listed, not touched).
    starting: Mutex<BTreeSet<String>>,
}

impl LocalRegistry {
    /// The registry of the instances `runner`'s data dir holds (none loaded yet).
    pub fn new(runner: Arc<Runner>, keycloak: Option<KeycloakSetup>) -> Self {
        Self {
            runner,
            keycloak,
            loaded: Loaded::default(),
            starting: Mutex::default(),
        }
    }

    fn starting_set(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.starting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn layout(&self, namespace: &str) -> Layout {
        Layout::new(self.runner.paths().data_dir(), namespace)
    }
}

#[async_trait::async_trait]
impl InstanceRegistry for LocalRegistry {
    fn own(&self) -> Option<Arc<dyn Instance>> {
        self.loaded.own()
    }

    fn get(&self, namespace: &str) -> Option<Arc<dyn Instance>> {
        self.loaded.get(namespace)
    }

    fn list(&self) -> Vec<Arc<dyn Instance>> {
        self.loaded.list()
    }

    fn has_remains(&self, namespace: &str) -> bool {
        self.get(namespace).is_none() && self.layout(namespace).root.exists()
    }

    /// A local "namespace" is a folder of Lifeboat's own data dir: none is anyone else's.
    async fn is_foreign(&self, _namespace: &str) -> Result<bool, InstanceError> {
        Ok(false)
    }

    async fn create_empty(&self, namespace: &str) -> Result<Arc<dyn Instance>, InstanceError> {
        Ok(Arc::new(LocalInstance::create_empty(
            self.runner.clone(),
            self.keycloak.as_ref(),
            namespace,
        )?))
    }

    fn adopt(&self, instance: Arc<dyn Instance>) {
        self.loaded.adopt(instance);
    }

    async fn remove(&self, namespace: &str) -> Result<(), InstanceError> {
        let root = self.layout(namespace).root;
        crate::runtime::host::files::remove_tree(root.clone())
            .await
            .map_err(|source| InstanceError::Io {
                what: "cannot remove",
                path: root,
                source,
            })
    }

    fn restoring_in(&self, namespace: &str) -> Option<String> {
        self.layout(namespace).restore_marker().read()
    }

    /// Brings up the demo instance and publishes it (`own`, which `/api/v1/instance`,
    /// Backup Now and every restore wait for) as soon as it is up; then the ones earlier
    /// restores created, side by side, each listed once it is up and reported as starting
    /// until then (a restore into one is refused meanwhile). Start-up does not grow with the
    /// number of instances: each waits for its own Postgres and Keycloak only.
    async fn start(&self) -> Result<(), InstanceError> {
        // Marked starting before the demo instance is published: from the first answer
        // of `/api/v1/instance` on, every instance is listed or reported starting.
        let others: Vec<String> = namespaces_in(self.runner.paths().data_dir())
            .into_iter()
            .filter(|ns| ns != DEMO_NAMESPACE && self.get(ns).is_none())
            .collect();
        *self.starting_set() = others.iter().cloned().collect();
        let own: Arc<dyn Instance> = Arc::new(
            LocalInstance::ensure(self.runner.clone(), self.keycloak.as_ref(), DEMO_NAMESPACE)
                .await?,
        );
        self.loaded.set_own(own);
        futures::future::join_all(others.iter().map(|namespace| async move {
            match LocalInstance::ensure(self.runner.clone(), self.keycloak.as_ref(), namespace).await {
                Ok(other) => self.adopt(Arc::new(other)),
                Err(e) => {
                    tracing::error!(%namespace, error = %e, "the instance in this namespace did not start");
                }
            }
            self.starting_set().remove(namespace);
        }))
        .await;
        Ok(())
    }

    fn starting(&self) -> Vec<String> {
        self.starting_set().iter().cloned().collect()
    }

    async fn stop_all(&self) {
        for instance in self.list() {
            if let Err(e) = instance.stop().await {
                tracing::warn!(namespace = instance.namespace(), error = %e, "cannot stop the instance");
            }
        }
    }
}
