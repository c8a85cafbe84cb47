//! The saved configuration: `<data_dir>/config.json`, replaced atomically.

use std::path::PathBuf;

use lifeboat_shared::config::StorageConfig;
use serde::{Deserialize, Serialize};

use crate::atomic;

/// Why the configuration file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a configuration.
    #[error("{path} is not a Lifeboat configuration ({reason}); save the configuration again")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        reason: String,
    },
}

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedConfig {
    /// The configuration.
    pub config: StorageConfig,
    /// When it was saved (RFC 3339, UTC).
    pub updated_at: String,
}

/// The configuration file.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    path: PathBuf,
}

impl ConfigStore {
    /// The store at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The saved configuration, or `None` if none was ever saved.
    pub fn load(&self) -> Result<Option<SavedConfig>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Damaged {
                path: self.path.clone(),
                reason: e.to_string(),
            })
    }

    /// Saves `config` stamped with the current time; a crash leaves the old or the new file.
    pub fn save(&self, config: &StorageConfig) -> Result<SavedConfig, StoreError> {
        let updated_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let saved = SavedConfig {
            config: config.clone(),
            updated_at,
        };
        let io = |source| StoreError::Io {
            action: "write",
            path: self.path.clone(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(&saved)
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        atomic::write_file(&self.path, &bytes, 0o644).map_err(io)?;
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::config::{Provider, Retention};

    use super::*;

    #[test]
    fn save_then_load_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::new(dir.path().join("config.json"));
        assert_eq!(store.load().unwrap(), None);
        let c = StorageConfig {
            provider: Provider::Local {
                path: String::new(),
            },
            secret_name: String::new(),
            schedule: None,
            retention: Retention::default(),
        };
        let saved = store.save(&c).unwrap();
        assert_eq!(store.load().unwrap(), Some(saved));
        std::fs::write(dir.path().join("config.json"), b"{\"config\":").unwrap();
        assert!(matches!(store.load(), Err(StoreError::Damaged { .. })));
    }
}
