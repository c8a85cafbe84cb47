//! What a secret store is and what it holds: the [`SecretSource`] trait both runtimes
//! implement, the keys Lifeboat reads, and the errors.

use std::collections::BTreeMap;

use lifeboat_shared::config::Credentials;

use crate::secret::Secret;

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

/// Bucket credentials as read from the secret store. Only the ones the provider needs are
/// used; `Debug` never shows a value (they are [`Secret`]s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketCredentials {
    /// S3 access key id.
    pub access_key_id: Option<Secret>,
    /// S3 secret access key.
    pub secret_access_key: Option<Secret>,
    /// Azure account key.
    pub azure_account_key: Option<Secret>,
    /// Azure SAS token (without or with a leading `?`).
    pub azure_sas_token: Option<Secret>,
    /// GCS service account JSON key.
    pub gcs_service_account_json: Option<Secret>,
}

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
    /// The Kubernetes Secret does not exist.
    #[error(
        "the Secret {name:?} does not exist in the namespace {namespace:?}; create it with \
         `kubectl -n {namespace} create secret generic {name} --from-literal=KEY=VALUE ...` \
         with your provider's keys (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; \
         AZURE_ACCOUNT_KEY or AZURE_SAS_TOKEN; or \
         --from-file=GOOGLE_SERVICE_ACCOUNT_JSON=<key file>) and RESTIC_PASSPHRASE if you use one"
    )]
    NotFound {
        /// The namespace looked in.
        namespace: String,
        /// The Secret's name.
        name: String,
    },
    /// Lifeboat's service account may not read the Secret.
    #[error(
        "Lifeboat may not read the Secret {name:?} in the namespace {namespace:?}: its service \
         account needs `get` on `secrets` in that namespace (a Role and RoleBinding; RBAC)"
    )]
    Forbidden {
        /// The namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
    },
    /// The secret store (the Kubernetes API server) cannot be reached or failed.
    #[error("cannot read the Secret {name:?} in the namespace {namespace:?}: {reason}")]
    Unavailable {
        /// The namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// Why, in plain words (never a value).
        reason: String,
    },
    /// A value of the Secret is not UTF-8 text.
    #[error(
        "the key {key} of the Secret {name:?} in the namespace {namespace:?} is not text; \
         recreate the Secret with kubectl"
    )]
    NotText {
        /// The namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// The key whose value is not text.
        key: String,
    },
}

/// Whether `name` is a DNS-1123 subdomain (what Kubernetes requires of a Secret's name):
/// at most 253 characters, dot-separated labels of lowercase letters, digits and `-` that
/// start and end with a letter or digit.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(label_chars)
}

/// Whether `name` is a DNS-1123 label (what Kubernetes requires of a namespace): one label
/// of at most 63 characters.
pub fn is_dns1123_label(name: &str) -> bool {
    name.len() <= 63 && label_chars(name)
}

fn label_chars(label: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    label.starts_with(alnum)
        && label.ends_with(alnum)
        && label.chars().all(|c| alnum(c) || c == '-')
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
    /// The secret's values. The local store answers an empty set for a secret it does not
    /// have yet; sources managed outside Lifeboat answer [`SecretError::NotFound`].
    async fn read(&self, name: &str) -> Result<SecretValues, SecretError>;

    /// Replaces the secret's values. Sources managed outside Lifeboat return
    /// [`SecretError::ReadOnly`].
    async fn write(&self, name: &str, values: &SecretValues) -> Result<(), SecretError>;

    /// Whether secrets here are managed outside Lifeboat ([`SecretSource::write`] refuses).
    fn read_only(&self) -> bool {
        false
    }
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

    #[test]
    fn dns1123_names() {
        for ok in [
            "lifeboat-storage",
            "a",
            "s3.creds-2",
            "0x",
            &"a".repeat(253),
        ] {
            assert!(is_dns1123_subdomain(ok), "{ok}");
        }
        let long = "a".repeat(254);
        for bad in [
            "", "Upper", "-a", "a-", ".a", "a.", "a..b", "a.-b", "a_b", "a/b", "../x", "a b", "é",
            &long,
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
        assert!(is_dns1123_label("dash-apps"));
        assert!(!is_dns1123_label("a.b"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
    }
}
