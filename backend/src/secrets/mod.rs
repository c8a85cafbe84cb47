//! Where bucket credentials and the passphrase come from.
//!
//! A *secret* is a named set of key/value pairs, exactly like a Kubernetes Secret: the
//! configuration names it (`secret_name`) and Lifeboat reads the keys below from it. The
//! local runtime keeps each secret in a 0600 file under `<data_dir>/secrets/` (written
//! through the API, never readable back through it); a Kubernetes source would read the
//! namespace-scoped Secret of the same name. Values only ever exist as [`Secret`]s.

pub mod local;

use std::collections::BTreeMap;

use lifeboat_shared::config::Credentials;

pub use local::LocalSecrets;

use crate::secret::Secret;
use crate::storage::BucketCredentials;

/// AWS / S3-compatible access key id.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// AWS / S3-compatible secret access key.
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Azure storage account key.
pub const AZURE_ACCOUNT_KEY: &str = "AZURE_ACCOUNT_KEY";
/// Azure shared access signature (instead of the account key).
pub const AZURE_SAS_TOKEN: &str = "AZURE_SAS_TOKEN";
/// GCS service account JSON key.
pub const GOOGLE_SERVICE_ACCOUNT_JSON: &str = "GOOGLE_SERVICE_ACCOUNT_JSON";
/// restic passphrase (optional).
pub const RESTIC_PASSPHRASE: &str = "RESTIC_PASSPHRASE";

/// Every credential key (the passphrase is not one: it survives a credential change).
pub const CREDENTIAL_KEYS: [&str; 5] = [
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    AZURE_ACCOUNT_KEY,
    AZURE_SAS_TOKEN,
    GOOGLE_SERVICE_ACCOUNT_JSON,
];

/// The secret used when the configuration names none (e.g. a local folder).
pub const DEFAULT_SECRET_NAME: &str = "lifeboat-storage";

/// Why a secret could not be read or written. Never carries a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secret store cannot be read or written.
    #[error("cannot {action} the secret {name:?} in the secret store: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The secret's name.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// The stored secret is not a JSON object of strings.
    #[error("the secret {0:?} in the secret store is damaged; save the credentials again")]
    Damaged(String),
    /// This source cannot be written through Lifeboat (e.g. a Kubernetes Secret).
    #[error(
        "secrets here are managed outside Lifeboat (kubectl); they cannot be written through the API"
    )]
    ReadOnly,
    /// The name is not a valid secret name.
    #[error("{0:?} is not a valid secret name")]
    BadName(String),
}

/// A secret's key/value pairs. `Debug` shows the key names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(pub BTreeMap<String, Secret>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl SecretValues {
    /// A value, if the key is set and not empty.
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.0.get(key).filter(|s| !s.expose().is_empty())
    }

    /// The passphrase, if one is set.
    pub fn passphrase(&self) -> Option<Secret> {
        self.get(RESTIC_PASSPHRASE).cloned()
    }

    /// Whether any credential key is set.
    pub fn has_credentials(&self) -> bool {
        CREDENTIAL_KEYS.iter().any(|k| self.get(k).is_some())
    }

    /// Replaces every credential key with `creds` (the passphrase is kept).
    pub fn set_credentials(&mut self, creds: &Credentials) {
        for k in CREDENTIAL_KEYS {
            self.0.remove(k);
        }
        let mut put = |k: &str, v: &str| {
            if !v.is_empty() {
                self.0.insert(k.to_owned(), Secret::new(v));
            }
        };
        match creds {
            Credentials::S3 {
                access_key_id,
                secret_access_key,
            } => {
                put(AWS_ACCESS_KEY_ID, access_key_id);
                put(AWS_SECRET_ACCESS_KEY, secret_access_key);
            }
            Credentials::Azure {
                account_key,
                sas_token,
            } => {
                put(
                    AZURE_ACCOUNT_KEY,
                    account_key.as_deref().unwrap_or_default(),
                );
                put(AZURE_SAS_TOKEN, sas_token.as_deref().unwrap_or_default());
            }
            Credentials::Gcs {
                service_account_json,
            } => put(GOOGLE_SERVICE_ACCOUNT_JSON, service_account_json),
        }
    }

    /// Sets (or with `None` removes) the passphrase.
    pub fn set_passphrase(&mut self, passphrase: Option<&str>) {
        match passphrase.filter(|p| !p.is_empty()) {
            Some(p) => {
                self.0.insert(RESTIC_PASSPHRASE.to_owned(), Secret::new(p));
            }
            None => {
                self.0.remove(RESTIC_PASSPHRASE);
            }
        }
    }

    /// The bucket credentials these values hold, whatever the provider.
    pub fn bucket_credentials(&self) -> BucketCredentials {
        let get = |k| self.get(k).cloned();
        BucketCredentials {
            access_key_id: get(AWS_ACCESS_KEY_ID),
            secret_access_key: get(AWS_SECRET_ACCESS_KEY),
            azure_account_key: get(AZURE_ACCOUNT_KEY),
            azure_sas_token: get(AZURE_SAS_TOKEN),
            gcs_service_account_json: get(GOOGLE_SERVICE_ACCOUNT_JSON),
        }
    }
}

/// Reads (and, where the source allows it, writes) named secrets.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync + std::fmt::Debug {
    /// The secret's values; empty if it does not exist.
    async fn read(&self, name: &str) -> Result<SecretValues, SecretError>;

    /// Replaces the secret's values. Sources managed outside Lifeboat return
    /// [`SecretError::ReadOnly`].
    async fn write(&self, name: &str, values: &SecretValues) -> Result<(), SecretError>;
}

/// The secret a configuration uses: its `secret_name`, or [`DEFAULT_SECRET_NAME`].
pub fn effective_name(secret_name: &str) -> &str {
    if secret_name.is_empty() {
        DEFAULT_SECRET_NAME
    } else {
        secret_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_key_names_only() {
        let mut v = SecretValues::default();
        v.set_credentials(&Credentials::S3 {
            access_key_id: "AKIDVALUE".into(),
            secret_access_key: "SECRETVALUE".into(),
        });
        v.set_passphrase(Some("pw-value"));
        let dbg = format!("{v:?}");
        assert!(dbg.contains("AWS_ACCESS_KEY_ID"));
        assert!(!dbg.contains("AKIDVALUE") && !dbg.contains("SECRETVALUE"));
        // Credentials of another provider replace the old ones; the passphrase stays.
        v.set_credentials(&Credentials::Azure {
            account_key: Some("k".into()),
            sas_token: None,
        });
        assert!(v.get(AWS_ACCESS_KEY_ID).is_none());
        assert_eq!(v.get(AZURE_ACCOUNT_KEY).unwrap().expose(), "k");
        assert_eq!(v.passphrase().unwrap().expose(), "pw-value");
    }
}
