//! Saving a configuration (`PUT /api/v1/config`) and verifying a candidate
//! (`POST /api/v1/config/verify`): validate, refuse while an operation runs, apply a
//! passphrase change to the repository, store secrets and config, then verify.

use lifeboat_shared::config::{
    PassphraseChange, PutConfig, SaveResult, StorageConfig, VerifyReport,
};
use lifeboat_shared::operation::OperationId;
use tokio_util::sync::CancellationToken;

use super::{ConfigError, Invalid, secret_source, secrets_dir, validate};
use crate::app::AppState;
use crate::restic::repo::{self, RepoError};
use crate::runtime::LocalRuntime;
use crate::secret::Secret;
use crate::secrets::{SecretError, SecretValues, effective_name};
use crate::storage::ClientTuning;
use crate::storage::verify::verify;

/// The gate id a save holds while it changes the repository and the files.
pub const SAVE_GATE_ID: &str = "configuration-save";

/// Why a configuration was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// A backup or restore runs.
    #[error("the configuration cannot change while operation {0} runs")]
    Busy(OperationId),
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The old passphrase of a change does not open the repository.
    #[error("the old passphrase does not open the repository in the bucket")]
    OldPassphraseRejected,
    /// The repository could not be re-keyed.
    #[error("the passphrase could not be changed in the repository: {0}")]
    PassphraseChange(RepoError),
    /// The bucket could not be opened to change the passphrase.
    #[error("the bucket cannot be opened to change the passphrase: {0}")]
    Target(#[from] crate::storage::TargetError),
    /// Reading or writing the configuration or secrets failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl From<SecretError> for SaveError {
    fn from(e: SecretError) -> Self {
        Self::Config(ConfigError::Secrets(e))
    }
}

/// A configuration with the secret values it would use.
#[derive(Debug)]
pub struct Candidate {
    /// The configuration.
    pub config: StorageConfig,
    /// Credentials and the passphrase that opens the repository now.
    pub values: SecretValues,
    /// The passphrase to switch to after a successful re-key.
    pub new_passphrase: Option<Secret>,
}

/// Validates `put` and combines it with the stored secret values.
pub async fn candidate(state: &AppState, put: &PutConfig) -> Result<Candidate, SaveError> {
    validate::config(&put.config)?;
    if let Some(creds) = &put.credentials {
        validate::credentials(&put.config.provider, creds)?;
    }
    if let Some(p) = &put.passphrase {
        validate::passphrase(p)?;
    }
    let mut values = secret_source(state)
        .read(effective_name(&put.config.secret_name))
        .await?;
    if let Some(creds) = &put.credentials {
        values.set_credentials(creds);
    }
    let mut new_passphrase = None;
    match &put.passphrase {
        None => {}
        Some(PassphraseChange::Set { passphrase }) => values.set_passphrase(Some(passphrase)),
        Some(PassphraseChange::Clear) => values.set_passphrase(None),
        Some(PassphraseChange::Change { old, new }) => {
            values.set_passphrase(Some(old));
            new_passphrase = Some(Secret::new(new.as_str()));
        }
    }
    Ok(Candidate {
        config: put.config.clone(),
        values,
        new_passphrase,
    })
}

/// Verifies a candidate (not saved) or, with `None`, the configuration in effect.
pub async fn verify_candidate(
    state: &AppState,
    put: Option<&PutConfig>,
) -> Result<VerifyReport, SaveError> {
    let (config, values) = match put {
        Some(put) => {
            let c = candidate(state, put).await?;
            (c.config, c.values)
        }
        None => {
            let eff = super::effective(state)?;
            let values = super::secret_values(state, &eff.config).await?;
            (eff.config, values)
        }
    };
    Ok(run_verify(state, &config, &values).await)
}

async fn run_verify(
    state: &AppState,
    config: &StorageConfig,
    values: &SecretValues,
) -> VerifyReport {
    let target = super::open_target(state, config, values, &ClientTuning::verify());
    let rt = LocalRuntime::new(state.toolbox().clone());
    verify(config, target, &rt).await
}

/// Serializes saves: two admins saving at once get one after the other.
static SAVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Saves `put` and verifies the result. Refused while a backup or restore runs.
pub async fn save(state: &AppState, put: &PutConfig) -> Result<SaveResult, SaveError> {
    let _one_at_a_time = SAVING.lock().await;
    let cand = candidate(state, put).await?;
    {
        let _gate = state
            .gate()
            .try_enter(SAVE_GATE_ID)
            .map_err(SaveError::Busy)?;
        let mut values = cand.values;
        if let Some(new) = &cand.new_passphrase {
            change_passphrase(state, &cand.config, &values, new).await?;
            values.set_passphrase(Some(new.expose()));
        }
        secret_source(state)
            .write(effective_name(&cand.config.secret_name), &values)
            .await?;
        super::store(state)
            .save(&cand.config)
            .map_err(ConfigError::from)?;
        tracing::info!(
            provider = provider_name(&cand.config),
            passphrase_changed = cand.new_passphrase.is_some(),
            "storage configuration saved"
        );
    }
    let eff = super::effective(state)?;
    let values = super::secret_values(state, &eff.config).await?;
    let report = run_verify(state, &eff.config, &values).await;
    Ok(SaveResult {
        config: super::view(state).await?,
        verify: report,
    })
}

fn provider_name(c: &StorageConfig) -> &'static str {
    use lifeboat_shared::config::Provider;
    match c.provider {
        Provider::Local { .. } => "local",
        Provider::S3 { .. } => "s3",
        Provider::Azure { .. } => "azure",
        Provider::Gcs { .. } => "gcs",
    }
}

/// Re-keys the repository from the old passphrase (in `values`) to `new`. A bucket with no
/// repository yet needs nothing.
async fn change_passphrase(
    state: &AppState,
    config: &StorageConfig,
    values: &SecretValues,
    new: &Secret,
) -> Result<(), SaveError> {
    let target = super::open_target(state, config, values, &ClientTuning::operations())?;
    let rt = LocalRuntime::new(state.toolbox().clone());
    let cancel = CancellationToken::new();
    let old = values
        .passphrase()
        .unwrap_or_else(|| Secret::new(crate::restic::NO_PASSPHRASE_KEY));
    let tmp = secrets_dir(state).join("run");
    match repo::change_passphrase(&rt, &target.restic, &old, new, &tmp, &cancel).await {
        Ok(()) => Ok(()),
        Err(RepoError::NoRepository) => Ok(()),
        Err(RepoError::WrongPassword) => Err(SaveError::OldPassphraseRejected),
        Err(e) => Err(SaveError::PassphraseChange(e)),
    }
}
