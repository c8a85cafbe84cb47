//! The configuration saved in a file: `<data_dir>/config.json`, replaced atomically.

use std::path::PathBuf;

use lifeboat_shared::config::StorageConfig;

use super::store::{ConfigStore, SavedConfig, StoreError};
use crate::atomic;

/// The configuration file.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// The store at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn read(&self) -> Result<Option<SavedConfig>, StoreError> {
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
                place: self.path.display().to_string(),
                reason: e.to_string(),
            })
    }

    fn write(&self, config: &StorageConfig) -> Result<SavedConfig, StoreError> {
        let saved = SavedConfig::now(config);
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

#[async_trait::async_trait]
impl ConfigStore for FileStore {
    async fn load(&self) -> Result<Option<SavedConfig>, StoreError> {
        self.read()
    }

    async fn save(&self, config: &StorageConfig) -> Result<SavedConfig, StoreError> {
        self.write(config)
    }
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::config::{Provider, Retention};

    use super::*;

    #[tokio::test]
    async fn save_then_load_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("config.json"));
        assert_eq!(store.load().await.unwrap(), None);
        let c = StorageConfig {
            backup_policy: None,
            provider: Provider::Local {
                path: String::new(),
            },
            secret_name: String::new(),
            schedule: None,
            retention: Retention::default(),
        };
        let saved = store.save(&c).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(saved));
        std::fs::write(dir.path().join("config.json"), b"{\"config\":").unwrap();
        assert!(matches!(
            store.load().await,
            Err(StoreError::Damaged { .. })
        ));
    }
}
