//! Where the storage configuration is saved, chosen by the runtime (as the secret store
//! is): a file in the data dir locally ([`FileStore`]), a ConfigMap in the namespace on
//! Kubernetes ([`ConfigMapStore`], so it can be managed declaratively too).
//!
//! The folder's own types are in `store.rs`; this file only names the parts.

pub mod config_map;
pub mod file;
pub mod store;

pub use config_map::ConfigMapStore;
pub use file::FileStore;
pub use store::*;
