//! The storage configuration: where backups go (saved in `<data_dir>/config.json`), its
//! validation, schedules, and how the rest of Lifeboat gets a ready [`Target`].
//!
//! Until an admin saves a configuration, the embedded default applies: a local folder
//! `<data_dir>/bucket` with no passphrase, so backups work out of the box.

pub mod atomic;
pub mod save;
pub mod schedule;
pub mod store;
pub mod validate;

use std::path::PathBuf;
use std::sync::Arc;

use lifeboat_shared::config::{ConfigView, Provider, Retention, StorageConfig};

pub use save::{SaveError, save};
pub use store::{ConfigStore, SavedConfig, StoreError};
pub use validate::Invalid;

use crate::app::AppState;
use crate::secrets::{LocalSecrets, SecretError, SecretSource, SecretValues, effective_name};
use crate::storage::{ClientTuning, Target, TargetError};

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
    }
}

/// The configuration file of this instance.
pub fn store(state: &AppState) -> ConfigStore {
    ConfigStore::new(state.settings().data_dir.join("config.json"))
}

/// Where secrets are kept on this host: `<data_dir>/secrets/`.
pub fn secrets_dir(state: &AppState) -> PathBuf {
    state.settings().data_dir.join("secrets")
}

/// The secret source of this runtime (the local secret store).
pub fn secret_source(state: &AppState) -> Arc<dyn SecretSource> {
    Arc::new(LocalSecrets::new(secrets_dir(state)))
}

/// The configuration in effect.
pub fn effective(state: &AppState) -> Result<Effective, ConfigError> {
    Ok(match store(state).load()? {
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

/// The secret values `config` uses.
pub async fn secret_values(
    state: &AppState,
    config: &StorageConfig,
) -> Result<SecretValues, ConfigError> {
    Ok(secret_source(state)
        .read(effective_name(&config.secret_name))
        .await?)
}

/// Opens `config`'s bucket with `values` (credentials and the passphrase).
pub fn open_target(
    state: &AppState,
    config: &StorageConfig,
    values: &SecretValues,
    tuning: &ClientTuning,
) -> Result<Target, TargetError> {
    Target::open(
        config,
        &state.settings().data_dir,
        &secrets_dir(state).join("run"),
        &values.bucket_credentials(),
        values.passphrase(),
        tuning,
    )
}

/// The bucket backups and restores use now: the saved configuration (or the embedded
/// default local folder) with its credentials and passphrase.
pub async fn current_target(state: &AppState) -> Result<Target, ConfigError> {
    let eff = effective(state)?;
    let values = secret_values(state, &eff.config).await?;
    Ok(open_target(
        state,
        &eff.config,
        &values,
        &ClientTuning::operations(),
    )?)
}

/// What `GET /api/v1/config` returns: no secret values, only whether they are set.
pub async fn view(state: &AppState) -> Result<ConfigView, ConfigError> {
    let eff = effective(state)?;
    let values = secret_values(state, &eff.config).await?;
    let schedule_preview = eff
        .config
        .schedule
        .as_ref()
        .and_then(|s| schedule::ParsedSchedule::parse(s).ok())
        .map(|p| p.preview(chrono::Utc::now()));
    Ok(ConfigView {
        is_default: eff.is_default(),
        passphrase_set: values.passphrase().is_some(),
        credentials_set: values.has_credentials(),
        updated_at: eff.updated_at,
        locked_by: state.gate().running(),
        schedule_preview,
        config: Some(eff.config),
    })
}
