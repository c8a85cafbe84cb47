//! The local instances, by namespace: the demo instance this Lifeboat creates for itself
//! (namespace `demo`) and those restores created in other namespaces, which come back up
//! with Lifeboat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use super::instance::{DEMO_NAMESPACE, Layout, LocalInstance, namespaces_in, read_marker};
use super::process::Runner;
use crate::runtime::{Instance, InstanceError, InstanceRegistry};

/// The instances under `<data_dir>/instances/`.
#[derive(Debug)]
pub struct LocalRegistry {
    runner: Arc<Runner>,
    own: OnceLock<Arc<dyn Instance>>,
    /// Instances restores created in other namespaces, by namespace.
    others: Mutex<BTreeMap<String, Arc<dyn Instance>>>,
}

impl LocalRegistry {
    /// The registry of the instances `runner`'s data dir holds (none loaded yet).
    pub fn new(runner: Arc<Runner>) -> Self {
        Self {
            runner,
            own: OnceLock::new(),
            others: Mutex::default(),
        }
    }

    fn others(&self) -> MutexGuard<'_, BTreeMap<String, Arc<dyn Instance>>> {
        self.others.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn layout(&self, namespace: &str) -> Layout {
        Layout::new(self.runner.paths().data_dir(), namespace)
    }
}

#[async_trait::async_trait]
impl InstanceRegistry for LocalRegistry {
    fn own(&self) -> Option<Arc<dyn Instance>> {
        self.own.get().cloned()
    }

    fn get(&self, namespace: &str) -> Option<Arc<dyn Instance>> {
        self.own()
            .filter(|i| i.namespace() == namespace)
            .or_else(|| self.others().get(namespace).cloned())
    }

    fn list(&self) -> Vec<Arc<dyn Instance>> {
        self.own()
            .into_iter()
            .chain(self.others().values().cloned())
            .collect()
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
            namespace,
        )?))
    }

    fn adopt(&self, instance: Arc<dyn Instance>) {
        self.others()
            .insert(instance.namespace().to_owned(), instance);
    }

    async fn remove(&self, namespace: &str) -> Result<(), InstanceError> {
        let root = self.layout(namespace).root;
        super::files::remove_tree(root.clone())
            .await
            .map_err(|source| InstanceError::Io {
                what: "cannot remove",
                path: root,
                source,
            })
    }

    fn restoring_in(&self, namespace: &str) -> Option<String> {
        read_marker(&self.layout(namespace))
    }

    /// Brings up the demo instance, then the ones earlier restores created. The demo
    /// instance is published (`own`, which `/api/v1/instance`, Backup Now and every restore
    /// wait for) only once all of them are up: no request touches an instance start-up is
    /// still bringing up.
    async fn start(&self) -> Result<(), InstanceError> {
        let own: Arc<dyn Instance> =
            Arc::new(LocalInstance::ensure(self.runner.clone(), DEMO_NAMESPACE).await?);
        // Instances earlier restores created in other namespaces run again too.
        for namespace in namespaces_in(self.runner.paths().data_dir()) {
            if namespace == DEMO_NAMESPACE {
                continue;
            }
            match LocalInstance::ensure(self.runner.clone(), &namespace).await {
                Ok(other) => self.adopt(Arc::new(other)),
                Err(e) => {
                    tracing::error!(%namespace, error = %e, "the instance in this namespace did not start");
                }
            }
        }
        let _ = self.own.set(own);
        Ok(())
    }

    async fn stop_all(&self) {
        for instance in self.list() {
            if let Err(e) = instance.stop().await {
                tracing::warn!(namespace = instance.namespace(), error = %e, "cannot stop the instance");
            }
        }
    }
}
