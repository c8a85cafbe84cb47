//! A resolved bucket: the configured provider plus its credentials, ready for both clients
//! that talk to it — `object_store` (catalog, locks, probes) and restic (the data).
//!
//! Everything above this module sees a bucket only as a [`Target`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lifeboat_shared::config::{Provider, StorageConfig};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::restic::Repository;
use crate::secret::Secret;
use crate::secrets::{BucketCredentials, RESTIC_PASSPHRASE};

/// Why a bucket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The local folder cannot be created or used.
    #[error("cannot use the local folder {path}: {source}")]
    LocalFolder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The object store client rejected the settings.
    #[error("cannot open the bucket: {0}")]
    Client(#[from] object_store::Error),
    /// A credential the provider needs is not in the secret.
    #[error("the secret has no {0}")]
    MissingCredential(&'static str),
}

/// How patient the object store client is.
#[derive(Debug, Clone)]
pub struct ClientTuning {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one whole request.
    pub request_timeout: Duration,
    /// Retries of a failed request (0: none).
    pub max_retries: usize,
    /// Give up retrying after this long.
    pub retry_timeout: Duration,
}

impl ClientTuning {
    /// For backups and restores: a few retries of transient failures.
    pub fn operations() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
        }
    }

    /// For verify: answer fast, no retries, so a hanging endpoint is reported in time.
    pub fn verify() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(4),
            max_retries: 0,
            retry_timeout: Duration::from_secs(4),
        }
    }

    fn client_options(&self, allow_http: bool) -> ClientOptions {
        ClientOptions::new()
            .with_allow_http(allow_http)
            .with_connect_timeout(self.connect_timeout)
            .with_timeout(self.request_timeout)
    }

    fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
        }
    }
}

/// The Azure account name that means "the local Azurite emulator" (tests, development).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";

/// A bucket Lifeboat can use.
#[derive(Debug, Clone)]
pub struct Target {
    /// The object store client, rooted at the bucket.
    pub store: Arc<dyn ObjectStore>,
    /// The configured prefix inside the bucket (may be empty). Lifeboat's objects live
    /// below it: `<prefix>/catalog/…`, `<prefix>/locks/…`, `<prefix>/restic/…`.
    pub prefix: ObjectPath,
    /// How restic reaches the repository below the prefix.
    pub restic: Repository,
    /// Where an admin sets the passphrase on this runtime (for the hints of a passphrase
    /// that does not open the repository).
    pub passphrase_place: PassphrasePlace,
}

/// Where the passphrase is set: the page's Storage configuration, or, where secrets are
/// managed outside Lifeboat (the kubernetes runtime, whose API refuses to write them), a key
/// of the named Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PassphrasePlace {
    /// Storage configuration (Lifeboat keeps the secret).
    #[default]
    Settings,
    /// `RESTIC_PASSPHRASE` in this Secret.
    Secret(String),
}

impl PassphrasePlace {
    /// "in Storage configuration", or the Secret's key: completes "set the passphrase …".
    pub fn set_hint(&self) -> String {
        match self {
            Self::Settings => "in Storage configuration".to_owned(),
            Self::Secret(name) => format!(
                "as {RESTIC_PASSPHRASE} in the Secret {name} (Lifeboat reads it at each operation)"
            ),
        }
    }

    /// How to say that no passphrase is to be used.
    pub fn clear_hint(&self) -> String {
        match self {
            Self::Settings => "clear the passphrase in Storage configuration".to_owned(),
            Self::Secret(name) => format!("remove {RESTIC_PASSPHRASE} from the Secret {name}"),
        }
    }
}

impl Target {
    /// A folder on this host standing in for a bucket (the embedded default).
    /// `passphrase` is restic's; `None` uses Lifeboat's built-in unencrypted-mode key
    /// (see `restic` module), which is not a secret.
    pub fn local(root: PathBuf, passphrase: Option<Secret>) -> Result<Self, TargetError> {
        std::fs::create_dir_all(&root).map_err(|source| TargetError::LocalFolder {
            path: root.clone(),
            source,
        })?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&root)?;
        let mut env = Vec::new();
        if let Some(p) = passphrase {
            env.push(("RESTIC_PASSWORD".to_owned(), p));
        }
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::default(),
            restic: Repository {
                env,
                ..Repository::new(root.join("restic").to_string_lossy())
            },
            passphrase_place: PassphrasePlace::Settings,
        })
    }

    /// Opens the configured bucket. `data_dir` holds the default local folder
    /// (`<data_dir>/bucket`); `passphrase` is restic's (`None`: the built-in no-passphrase
    /// key).
    pub fn open(
        config: &StorageConfig,
        data_dir: &Path,
        creds: &BucketCredentials,
        passphrase: Option<Secret>,
        tuning: &ClientTuning,
    ) -> Result<Self, TargetError> {
        let mut target = match &config.provider {
            Provider::Local { path } => {
                let root = if path.is_empty() {
                    data_dir.join("bucket")
                } else {
                    PathBuf::from(path)
                };
                return Self::local(root, passphrase);
            }
            Provider::S3 {
                region,
                bucket,
                prefix,
                endpoint,
            } => open_s3(region, bucket, prefix, endpoint, creds, tuning)?,
            Provider::Azure {
                account,
                container,
                prefix,
            } => open_azure(account, container, prefix, creds, tuning)?,
            Provider::Gcs { bucket, prefix } => open_gcs(bucket, prefix, creds, tuning)?,
        };
        if let Some(p) = passphrase {
            target.restic.env.push(("RESTIC_PASSWORD".to_owned(), p));
        }
        Ok(target)
    }

    /// The path of an object below the prefix, e.g. `key("catalog/x.json")`.
    pub fn key(&self, relative: &str) -> ObjectPath {
        self.prefix
            .parts()
            .chain(ObjectPath::from(relative).parts())
            .collect()
    }
}

/// A prefix as configured (`/a/b/`) in the form both clients use (`a/b`).
fn clean_prefix(prefix: &str) -> String {
    prefix
        .split('/')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// `<prefix>/restic`, or `restic` with no prefix.
fn restic_path(prefix: &str) -> String {
    if prefix.is_empty() {
        "restic".to_owned()
    } else {
        format!("{prefix}/restic")
    }
}

fn need(value: &Option<Secret>, what: &'static str) -> Result<Secret, TargetError> {
    value.clone().ok_or(TargetError::MissingCredential(what))
}

fn open_s3(
    region: &str,
    bucket: &str,
    prefix: &str,
    endpoint: &str,
    creds: &BucketCredentials,
    tuning: &ClientTuning,
) -> Result<Target, TargetError> {
    let key_id = need(&creds.access_key_id, "AWS_ACCESS_KEY_ID")?;
    let secret = need(&creds.secret_access_key, "AWS_SECRET_ACCESS_KEY")?;
    let endpoint = endpoint.trim_end_matches('/');
    let region = if region.is_empty() {
        "us-east-1"
    } else {
        region
    };
    let mut builder = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_access_key_id(key_id.expose())
        .with_secret_access_key(secret.expose())
        .with_retry(tuning.retry());
    let allow_http = endpoint.starts_with("http://");
    let restic_endpoint = if endpoint.is_empty() {
        format!("https://s3.{region}.amazonaws.com")
    } else {
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
        endpoint.to_owned()
    };
    let store = builder
        .with_client_options(tuning.client_options(allow_http))
        .build()?;
    let env = vec![
        ("AWS_ACCESS_KEY_ID".to_owned(), key_id),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), secret),
        ("AWS_DEFAULT_REGION".to_owned(), Secret::new(region)),
    ];
    Ok(in_bucket(store, prefix, |path| Repository {
        env,
        ..Repository::new(format!("s3:{restic_endpoint}/{bucket}/{path}"))
    }))
}

/// A target below `prefix` of `store`; `restic` makes the repository from its path in the
/// bucket (`<prefix>/restic`).
fn in_bucket(
    store: impl ObjectStore,
    prefix: &str,
    restic: impl FnOnce(&str) -> Repository,
) -> Target {
    let prefix = clean_prefix(prefix);
    Target {
        store: Arc::new(store),
        prefix: ObjectPath::from(prefix.as_str()),
        restic: restic(&restic_path(&prefix)),
        passphrase_place: PassphrasePlace::Settings,
    }
}

fn open_azure(
    account: &str,
    container: &str,
    prefix: &str,
    creds: &BucketCredentials,
    tuning: &ClientTuning,
) -> Result<Target, TargetError> {
    let emulator = account == AZURITE_ACCOUNT;
    let mut builder = object_store::azure::MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_container_name(container)
        .with_retry(tuning.retry());
    let mut env = vec![("AZURE_ACCOUNT_NAME".to_owned(), Secret::new(account))];
    match (&creds.azure_account_key, &creds.azure_sas_token) {
        (Some(key), _) => {
            builder = builder.with_access_key(key.expose());
            env.push(("AZURE_ACCOUNT_KEY".to_owned(), key.clone()));
        }
        (None, Some(sas)) => {
            let sas = sas.expose().trim_start_matches('?');
            builder = builder.with_config(object_store::azure::AzureConfigKey::SasKey, sas);
            env.push(("AZURE_ACCOUNT_SAS".to_owned(), Secret::new(sas)));
        }
        (None, None) => {
            return Err(TargetError::MissingCredential(
                "AZURE_ACCOUNT_KEY or AZURE_SAS_TOKEN",
            ));
        }
    }
    if emulator {
        builder = builder.with_use_emulator(true);
    }
    let store = builder
        .with_client_options(tuning.client_options(emulator))
        .build()?;
    Ok(in_bucket(store, prefix, |path| Repository {
        env,
        ..Repository::new(format!("azure:{container}:/{path}"))
    }))
}

fn open_gcs(
    bucket: &str,
    prefix: &str,
    creds: &BucketCredentials,
    tuning: &ClientTuning,
) -> Result<Target, TargetError> {
    let json = need(
        &creds.gcs_service_account_json,
        "GOOGLE_SERVICE_ACCOUNT_JSON",
    )?;
    let builder = object_store::gcp::GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_service_account_key(json.expose())
        .with_retry(tuning.retry());
    // A test-only key may point at a local server (`gcs_base_url: http://...`).
    let allow_http = json.expose().contains("\"gcs_base_url\":\"http://");
    let store = builder
        .with_client_options(tuning.client_options(allow_http))
        .build()?;
    // restic reads the key from a file: the runtime writes it for each run, 0600.
    let env_files = vec![("GOOGLE_APPLICATION_CREDENTIALS".to_owned(), json.clone())];
    let mut env = Vec::new();
    let project = serde_json::from_str::<serde_json::Value>(json.expose())
        .ok()
        .and_then(|v| v.get("project_id")?.as_str().map(str::to_owned));
    if let Some(project) = project {
        env.push(("GOOGLE_PROJECT_ID".to_owned(), Secret::new(project)));
    }
    Ok(in_bucket(store, prefix, |path| Repository {
        repository: format!("gs:{bucket}:/{path}"),
        env,
        env_files,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passphrase_hint_names_where_this_runtime_keeps_it() {
        let here = PassphrasePlace::default();
        assert_eq!(here.set_hint(), "in Storage configuration");
        let secret = PassphrasePlace::Secret("lifeboat-storage".into());
        assert_eq!(
            secret.set_hint(),
            "as RESTIC_PASSPHRASE in the Secret lifeboat-storage (Lifeboat reads it at each operation)"
        );
        assert_eq!(
            secret.clear_hint(),
            "remove RESTIC_PASSPHRASE from the Secret lifeboat-storage"
        );
        assert!(!secret.set_hint().contains("Storage configuration"));
    }

    #[test]
    fn keys_live_below_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Target::local(dir.path().join("b"), None).unwrap();
        assert_eq!(t.key("catalog/a.json").as_ref(), "catalog/a.json");
        t.prefix = ObjectPath::from("team/de");
        assert_eq!(t.key("catalog/a.json").as_ref(), "team/de/catalog/a.json");
        assert!(t.restic.repository.ends_with("/b/restic"));
        assert!(t.restic.env.is_empty());
    }
}
