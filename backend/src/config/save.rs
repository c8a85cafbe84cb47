//! Saving a configuration (`PUT /api/v1/config`) and verifying a candidate
//! (`POST /api/v1/config/verify`): validate, refuse while an operation runs, apply a
//! passphrase change to the repository, store secrets and config, then verify.

use lifeboat_shared::config::{
    PassphraseChange, PutConfig, SaveResult, StorageConfig, VerifyReport,
};
use lifeboat_shared::operation::OperationId;
use tokio_util::sync::CancellationToken;

use super::current::{Config, ConfigError};
use super::validate::{self, Invalid};
use crate::secret::Secret;
use crate::secrets::{SecretError, SecretValues, effective_name};
use crate::storage::ClientTuning;
use crate::storage::repository::{self, RepoError};
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

/// Serializes saves: two admins saving at once get one after the other.
static SAVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn provider_name(c: &StorageConfig) -> &'static str {
    use lifeboat_shared::config::Provider;
    match c.provider {
        Provider::Local { .. } => "local",
        Provider::S3 { .. } => "s3",
        Provider::Azure { .. } => "azure",
        Provider::Gcs { .. } => "gcs",
    }
}

impl Config {
    /// Validates `put` and combines it with the stored secret values.
    pub async fn candidate(&self, put: &PutConfig) -> Result<Candidate, SaveError> {
        validate::config(&put.config)?;
        if let Some(creds) = &put.credentials {
            validate::credentials(&put.config.provider, creds)?;
        }
        if let Some(p) = &put.passphrase {
            validate::passphrase(p)?;
        }
        // Credentials and the passphrase of a Secret managed with kubectl change there.
        if self.secrets().read_only() && (put.credentials.is_some() || put.passphrase.is_some()) {
            return Err(crate::secrets::SecretError::ReadOnly.into());
        }
        let mut values = self
            .secrets()
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
        let mut config = put.config.clone();
        // What the page has no fields for, it does not send: the saved value stays.
        if config.backup_policy.is_none() {
            config.backup_policy = self
                .effective()
                .await
                .ok()
                .and_then(|e| e.config.backup_policy);
        }
        Ok(Candidate {
            config,
            values,
            new_passphrase,
        })
    }

    /// Verifies a candidate (not saved) or, with `None`, the configuration in effect.
    pub async fn verify_candidate(
        &self,
        put: Option<&PutConfig>,
    ) -> Result<VerifyReport, SaveError> {
        let (config, values) = match put {
            Some(put) => {
                let c = self.candidate(put).await?;
                (c.config, c.values)
            }
            None => {
                let eff = self.effective().await?;
                let values = self.secret_values(&eff.config).await?;
                (eff.config, values)
            }
        };
        Ok(self.run_verify(&config, &values).await)
    }

    async fn run_verify(&self, config: &StorageConfig, values: &SecretValues) -> VerifyReport {
        let target = self.open_target(config, values, &ClientTuning::verify());
        verify(config, target, self.runtime.as_ref()).await
    }

    /// Saves `put` and verifies the result. Refused while a backup or restore runs.
    pub async fn save(&self, put: &PutConfig) -> Result<SaveResult, SaveError> {
        let _one_at_a_time = SAVING.lock().await;
        let cand = self.candidate(put).await?;
        {
            let _gate = self.gate.try_enter(SAVE_GATE_ID).map_err(SaveError::Busy)?;
            let mut values = cand.values;
            if let Some(new) = &cand.new_passphrase {
                self.change_passphrase(&cand.config, &values, new).await?;
                values.set_passphrase(Some(new.expose()));
            }
            if !self.secrets().read_only() {
                self.secrets()
                    .write(effective_name(&cand.config.secret_name), &values)
                    .await?;
            }
            self.store
                .save(&cand.config)
                .await
                .map_err(ConfigError::from)?;
            tracing::info!(
                provider = provider_name(&cand.config),
                passphrase_changed = cand.new_passphrase.is_some(),
                "storage configuration saved"
            );
        }
        let eff = self.effective().await?;
        let values = self.secret_values(&eff.config).await?;
        let report = self.run_verify(&eff.config, &values).await;
        Ok(SaveResult {
            config: self.view().await?,
            verify: report,
        })
    }

    /// Re-keys the repository from the old passphrase (in `values`) to `new`. A bucket with no
    /// repository yet needs nothing.
    async fn change_passphrase(
        &self,
        config: &StorageConfig,
        values: &SecretValues,
        new: &Secret,
    ) -> Result<(), SaveError> {
        let target = self.open_target(config, values, &ClientTuning::operations())?;
        let cancel = CancellationToken::new();
        let old = values
            .passphrase()
            .unwrap_or_else(|| Secret::new(crate::restic::NO_PASSPHRASE_KEY));
        let rt = self.runtime.as_ref();
        match repository::change_passphrase(rt, &target.restic, &old, new, &cancel).await {
            Ok(()) => Ok(()),
            Err(RepoError::NoRepository) => Ok(()),
            Err(RepoError::WrongPassword) => Err(SaveError::OldPassphraseRejected),
            Err(e) => Err(SaveError::PassphraseChange(e)),
        }
    }
}
