//! The configuration in effect: loaded from its store, with its secrets, as a ready
//! [`Target`] for the rest of Lifeboat.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeboat_shared::config::{ConfigView, ManagedSecret, Provider, Retention, StorageConfig};

pub use crate::config_store::{ConfigStore, SavedConfig, StoreError};

use crate::gate::OperationGate;
use crate::runtime::Runtime;
use crate::secrets::{SecretError, SecretSource, SecretValues, effective_name};
use crate::storage::{ClientTuning, PassphrasePlace, Target, TargetError};

/// Why the configuration or its target is not available.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The secret store cannot be read.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// The bucket cannot be opened with this configuration (e.g. credentials missing).
    #[error("storage is not configured completely: {0}")]
    NotConfigured(#[from] TargetError),
}

/// The configuration in effect: the saved one or the embedded default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The configuration.
    pub config: StorageConfig,
    /// When it was saved; `None` for the default.
    pub updated_at: Option<String>,
}

impl Effective {
    /// Whether this is the embedded default (nothing saved yet).
    pub fn is_default(&self) -> bool {
        self.updated_at.is_none()
    }
}

/// The embedded default: the local folder `<data_dir>/bucket`, no passphrase, no schedule.
pub fn default_config() -> StorageConfig {
    StorageConfig {
        provider: Provider::Local {
            path: String::new(),
        },
        secret_name: String::new(),
        schedule: None,
        retention: Retention::default(),
        backup_policy: None,
    }
}

/// The storage configuration of one Lifeboat: where it is saved, where its secrets come
/// from (the runtime's secret store), and what it needs to verify and re-key a bucket.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Config {
    pub(super) store: Arc<dyn ConfigStore>,
    pub(super) data_dir: PathBuf,
    pub(super) runtime: Arc<dyn Runtime>,
    pub(super) gate: OperationGate,
}

impl Config {
    /// The configuration kept in the runtime's store (the default local folder is
    /// `<data_dir>/bucket`), with the runtime's secrets; saves wait for `gate`.
    pub fn new(data_dir: &Path, runtime: Arc<dyn Runtime>, gate: OperationGate) -> Self {
        Self {
            store: runtime.config_store(),
            data_dir: data_dir.to_path_buf(),
            runtime,
            gate,
        }
    }

    /// Where the configuration is saved.
    pub fn store(&self) -> &dyn ConfigStore {
        self.store.as_ref()
    }

    /// The secret source of this runtime.
    pub fn secrets(&self) -> Arc<dyn SecretSource> {
        self.runtime.secrets()
    }

    /// The configuration in effect.
    pub async fn effective(&self) -> Result<Effective, ConfigError> {
        Ok(match self.store.load().await? {
            Some(saved) => Effective {
                config: saved.config,
                updated_at: Some(saved.updated_at),
            },
            None => Effective {
                config: default_config(),
                updated_at: None,
            },
        })
    }

    /// Which type a backup is when it does not ask (the default policy when nothing is
    /// configured).
    pub async fn backup_policy(&self) -> lifeboat_shared::config::BackupPolicy {
        self.effective()
            .await
            .ok()
            .and_then(|e| e.config.backup_policy)
            .unwrap_or_default()
    }

    /// The retention policy in effect (everything kept when nothing is configured).
    pub async fn retention(&self) -> Retention {
        self.effective()
            .await
            .map(|e| e.config.retention)
            .unwrap_or_default()
    }

    /// The secret values `config` uses.
    pub async fn secret_values(&self, config: &StorageConfig) -> Result<SecretValues, ConfigError> {
        Ok(self
            .secrets()
            .read(effective_name(&config.secret_name))
            .await?)
    }

    /// Opens `config`'s bucket with `values` (credentials and the passphrase).
    pub fn open_target(
        &self,
        config: &StorageConfig,
        values: &SecretValues,
        tuning: &ClientTuning,
    ) -> Result<Target, TargetError> {
        let mut target = Target::open(
            config,
            &self.data_dir,
            &values.bucket_credentials(),
            values.passphrase(),
            tuning,
        )?;
        if self.secrets().read_only() {
            target.passphrase_place =
                PassphrasePlace::Secret(effective_name(&config.secret_name).to_owned());
        }
        Ok(target)
    }

    /// The bucket backups and restores use now: the saved configuration (or the embedded
    /// default local folder) with its credentials and passphrase.
    pub async fn current_target(&self) -> Result<Target, ConfigError> {
        let eff = self.effective().await?;
        let values = self.secret_values(&eff.config).await?;
        Ok(self.open_target(&eff.config, &values, &ClientTuning::operations())?)
    }

    /// What `GET /api/v1/config` returns: no secret values, only whether they are set.
    pub async fn view(&self) -> Result<ConfigView, ConfigError> {
        let eff = self.effective().await?;
        let (values, managed_secret) = if self.secrets().read_only() {
            let name = effective_name(&eff.config.secret_name).to_owned();
            match self.secret_values(&eff.config).await {
                Ok(v) => {
                    let keys = v.0.keys().cloned().collect();
                    let managed = ManagedSecret {
                        name,
                        keys,
                        problem: None,
                    };
                    (v, Some(managed))
                }
                Err(e) => {
                    let managed = ManagedSecret {
                        name,
                        keys: Vec::new(),
                        problem: Some(e.to_string()),
                    };
                    (SecretValues::default(), Some(managed))
                }
            }
        } else {
            (self.secret_values(&eff.config).await?, None)
        };
        let schedule_preview = eff
            .config
            .schedule
            .as_ref()
            .and_then(|s| super::schedule::ParsedSchedule::parse(s).ok())
            .map(|p| p.preview(chrono::Utc::now()));
        Ok(ConfigView {
            is_default: eff.is_default(),
            passphrase_set: values.passphrase().is_some(),
            credentials_set: values.has_credentials(),
            updated_at: eff.updated_at,
            locked_by: self.gate.running(),
            schedule_preview,
            managed_secret,
            config: Some(eff.config),
        })
    }
}
