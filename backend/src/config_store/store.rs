//! What a configuration store is: the [`ConfigStore`] trait both runtimes implement, the
//! saved configuration and the errors.

use std::path::PathBuf;

use lifeboat_shared::config::StorageConfig;
use serde::{Deserialize, Serialize};

/// Why the configuration could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// What is saved is not a configuration.
    #[error("{place} is not a Lifeboat configuration ({reason}); save the configuration again")]
    Damaged {
        /// The file or ConfigMap, in words.
        place: String,
        /// The parser's words.
        reason: String,
    },
    /// The ConfigMap a save writes does not exist (Lifeboat may update it, not create it).
    #[error(
        "the ConfigMap {name:?} does not exist in the namespace {namespace:?}; create it with \
         `kubectl -n {namespace} create configmap {name}` (deploy/ does)"
    )]
    Missing {
        /// The namespace.
        namespace: String,
        /// The ConfigMap.
        name: String,
    },
    /// The API server refused or failed.
    #[error("cannot {action} the ConfigMap {name:?} in the namespace {namespace:?}: {reason}")]
    Kube {
        /// `read` or `write`.
        action: &'static str,
        /// The namespace.
        namespace: String,
        /// The ConfigMap.
        name: String,
        /// The API server's words.
        reason: String,
    },
}

/// What is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedConfig {
    /// The configuration.
    pub config: StorageConfig,
    /// When it was saved (RFC 3339, UTC).
    pub updated_at: String,
}

impl SavedConfig {
    /// `config` stamped with the current time.
    pub fn now(config: &StorageConfig) -> Self {
        Self {
            config: config.clone(),
            updated_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }
    }
}

/// Where the configuration is saved.
#[async_trait::async_trait]
pub trait ConfigStore: Send + Sync + std::fmt::Debug {
    /// The saved configuration, or `None` if none was ever saved.
    async fn load(&self) -> Result<Option<SavedConfig>, StoreError>;

    /// Saves `config` stamped with the current time; a crash leaves the old or the new one.
    async fn save(&self, config: &StorageConfig) -> Result<SavedConfig, StoreError>;
}
