//! The instances a registry has loaded, the same on every runtime: its own (set once, when
//! it is up) and those restores created in other namespaces, by namespace.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use super::Instance;

/// The loaded instances of one registry.
#[derive(Debug, Default)]
pub struct Loaded {
    own: OnceLock<Arc<dyn Instance>>,
    others: Mutex<BTreeMap<String, Arc<dyn Instance>>>,
}

impl Loaded {
    fn others(&self) -> MutexGuard<'_, BTreeMap<String, Arc<dyn Instance>>> {
        self.others.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registry's own instance, once it is up.
    pub fn own(&self) -> Option<Arc<dyn Instance>> {
        self.own.get().cloned()
    }

    /// Publishes the own instance (the first call wins: it is set once).
    pub fn set_own(&self, instance: Arc<dyn Instance>) {
        let _ = self.own.set(instance);
    }

    /// The instance in `namespace`, own or other.
    pub fn get(&self, namespace: &str) -> Option<Arc<dyn Instance>> {
        self.own()
            .filter(|i| i.namespace() == namespace)
            .or_else(|| self.others().get(namespace).cloned())
    }

    /// Every loaded instance, the own one first, then by namespace.
    pub fn list(&self) -> Vec<Arc<dyn Instance>> {
        self.own()
            .into_iter()
            .chain(self.others().values().cloned())
            .collect()
    }

    /// Keeps an instance of another namespace (replacing one loaded there before).
    pub fn adopt(&self, instance: Arc<dyn Instance>) {
        self.others()
            .insert(instance.namespace().to_owned(), instance);
    }
}
