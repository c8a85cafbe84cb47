//! The configuration form's draft: every field as typed, its inline validation, and the
//! `PutConfig` it becomes. Pure, so its tests are plain module tests.

use lifeboat_shared::config::{
    ConfigView, Credentials, PassphraseChange, Provider, PutConfig, Retention, Schedule,
    StorageConfig,
};

use crate::validate;

/// The provider choices of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderKind {
    /// A folder on the Lifeboat host.
    #[default]
    Local,
    /// Amazon S3 or S3-compatible.
    S3,
    /// Azure Blob Storage.
    Azure,
    /// Google Cloud Storage.
    Gcs,
}

impl ProviderKind {
    /// Every choice, in menu order.
    pub const ALL: [Self; 4] = [Self::Local, Self::S3, Self::Azure, Self::Gcs];

    /// The `<option>` value.
    pub fn value(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::S3 => "s3",
            Self::Azure => "azure",
            Self::Gcs => "gcs",
        }
    }

    /// The `<option>` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Local => "Local folder on the Lifeboat host",
            Self::S3 => "Amazon S3 or S3-compatible",
            Self::Azure => "Azure Blob Storage",
            Self::Gcs => "Google Cloud Storage",
        }
    }

    /// From an `<option>` value (unknown values fall back to local).
    pub fn from_value(v: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.value() == v)
            .unwrap_or_default()
    }

    /// Whether the provider needs credentials.
    pub fn is_cloud(self) -> bool {
        self != Self::Local
    }

    /// The keys a managed Secret must hold for this provider: each entry is one need, met by
    /// any one of its keys (the backend's names, `secrets/mod.rs`).
    pub fn secret_needs(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Local => &[],
            Self::S3 => &[&["AWS_ACCESS_KEY_ID"], &["AWS_SECRET_ACCESS_KEY"]],
            Self::Azure => &[&["AZURE_ACCOUNT_KEY", "AZURE_SAS_TOKEN"]],
            Self::Gcs => &[&["GOOGLE_SERVICE_ACCOUNT_JSON"]],
        }
    }
}

/// The managed Secret's optional key: the restic passphrase.
pub const PASSPHRASE_KEY: &str = "RESTIC_PASSPHRASE";

/// The needs of `provider` that a Secret holding `keys` does not meet, in words
/// (`AZURE_ACCOUNT_KEY or AZURE_SAS_TOKEN`).
pub fn missing_secret_keys(provider: ProviderKind, keys: &[String]) -> Vec<String> {
    provider
        .secret_needs()
        .iter()
        .filter(|any| !any.iter().any(|k| keys.iter().any(|f| f == k)))
        .map(|any| any.join(" or "))
        .collect()
}

/// The `kubectl` command that creates the Secret `name` for `provider`, as the README writes
/// it: placeholders only, never a value. `<namespace>` when the namespace is not known.
pub fn create_secret_command(
    provider: ProviderKind,
    namespace: Option<&str>,
    name: &str,
) -> String {
    let ns = namespace.filter(|n| !n.is_empty()).unwrap_or("<namespace>");
    let keys: &[&str] = match provider {
        ProviderKind::Local => &[],
        ProviderKind::S3 => &[
            "--from-literal=AWS_ACCESS_KEY_ID='AKIA...'",
            "--from-literal=AWS_SECRET_ACCESS_KEY='...'",
        ],
        ProviderKind::Azure => &["--from-literal=AZURE_ACCOUNT_KEY='...'"],
        ProviderKind::Gcs => &["--from-file=GOOGLE_SERVICE_ACCOUNT_JSON=./service-account.json"],
    };
    let passphrase = "--from-literal=RESTIC_PASSPHRASE='...'          # optional";
    let mut command = format!("kubectl -n {ns} create secret generic {name}");
    for line in keys.iter().chain([&passphrase]) {
        command.push_str(" \\\n  ");
        command.push_str(line);
    }
    command
}

/// Which Azure secret the admin gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AzureSecret {
    /// A storage account key.
    #[default]
    AccountKey,
    /// A shared access signature.
    Sas,
}

/// What to do with the passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PassphraseMode {
    /// Leave it as it is (set or not set).
    #[default]
    Keep,
    /// Set one (or give the one the bucket's backups already use).
    Set,
    /// Replace the current one (old and new together).
    Change,
    /// Stop using one.
    Clear,
}

/// Field keys, shared by the errors map and the form.
pub mod field {
    #![allow(missing_docs)]
    pub const PATH: &str = "path";
    pub const REGION: &str = "region";
    pub const BUCKET: &str = "bucket";
    pub const PREFIX: &str = "prefix";
    pub const ENDPOINT: &str = "endpoint";
    pub const ACCOUNT: &str = "account";
    pub const SECRET_NAME: &str = "secret_name";
    pub const ACCESS_KEY_ID: &str = "access_key_id";
    pub const SECRET_ACCESS_KEY: &str = "secret_access_key";
    pub const AZURE_SECRET: &str = "azure_secret";
    pub const GCS_JSON: &str = "gcs_json";
    pub const PASSPHRASE: &str = "passphrase";
    pub const PASSPHRASE_REPEAT: &str = "passphrase_repeat";
    pub const OLD_PASSPHRASE: &str = "old_passphrase";
    pub const CRON: &str = "cron";
    pub const TIMEZONE: &str = "timezone";
    pub const KEEP_LAST: &str = "keep_last";
    pub const KEEP_DAILY: &str = "keep_daily";
    pub const KEEP_WEEKLY: &str = "keep_weekly";
    pub const KEEP_MONTHLY: &str = "keep_monthly";
}

/// Field key → message, in form order (a plain list: a map would add weight to the bundle).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    /// The message for a field.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, m)| m)
    }

    /// Whether a field has a problem.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The first field with a problem.
    pub fn first(&self) -> Option<&'static str> {
        self.0.first().map(|(k, _)| *k)
    }

    /// How many fields have a problem.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether every field is fine.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a field's problem (the first one found for a field is kept).
    pub fn insert(&mut self, key: &'static str, message: String) {
        if !self.contains_key(key) {
            self.0.push((key, message));
        }
    }
}

/// The form's content. Holds secrets while typed, so its `Debug` is redacted.
#[derive(Clone, PartialEq, Default)]
pub struct ConfigDraft {
    /// The provider.
    pub provider: ProviderKind,
    /// Local folder.
    pub path: String,
    /// S3 region.
    pub region: String,
    /// S3/GCS bucket, or Azure container.
    pub bucket: String,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// S3-compatible endpoint.
    pub endpoint: String,
    /// Azure storage account.
    pub account: String,
    /// The credentials Secret's name.
    pub secret_name: String,
    /// S3 access key id (write-only).
    pub access_key_id: String,
    /// S3 secret access key (write-only).
    pub secret_access_key: String,
    /// Which Azure secret is given.
    pub azure_kind: AzureSecret,
    /// The Azure key or SAS token (write-only).
    pub azure_secret: String,
    /// The GCS service account JSON (write-only).
    pub gcs_json: String,
    /// What to do with the passphrase.
    pub passphrase_mode: PassphraseMode,
    /// New passphrase.
    pub passphrase: String,
    /// New passphrase again.
    pub passphrase_repeat: String,
    /// Current passphrase (for a change).
    pub old_passphrase: String,
    /// Whether scheduled backups run.
    pub schedule_enabled: bool,
    /// Cron expression.
    pub cron: String,
    /// IANA time zone.
    pub timezone: String,
    /// Scheduled backups leave apps' own data out (kept as saved; the page has no switch yet).
    pub schedule_without_apps: bool,
    /// Retention counts as typed.
    pub keep_last: String,
    /// Daily count.
    pub keep_daily: String,
    /// Weekly count.
    pub keep_weekly: String,
    /// Monthly count.
    pub keep_monthly: String,
    /// The credentials and the passphrase come from a Secret Lifeboat only reads (the
    /// kubernetes runtime): the body never carries them.
    pub secret_managed: bool,
}

impl std::fmt::Debug for ConfigDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ConfigDraft {{ provider: {:?}, .. redacted }}",
            self.provider
        )
    }
}

/// Whether `text` is a JSON object. In the browser, its own `JSON.parse` (no JSON parser in
/// the bundle); off the browser, serde_json.
fn is_json_object(text: &str) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::JSON::parse(text)
            .map(|v| v.is_object() && !js_sys::Array::is_array(&v))
            .unwrap_or(false)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_str::<serde_json::Value>(text)
            .map(|v| v.is_object())
            .unwrap_or(false)
    }
}

fn count_text(n: u32) -> String {
    if n == 0 { String::new() } else { n.to_string() }
}

impl ConfigDraft {
    /// The draft for a saved configuration (or a fresh one: a local folder, a daily 02:00
    /// schedule proposal in `default_tz`, switched off).
    pub fn from_view(view: &ConfigView, default_tz: &str) -> Self {
        let mut d = Self {
            cron: "0 2 * * *".to_owned(),
            timezone: default_tz.to_owned(),
            secret_name: "lifeboat-storage".to_owned(),
            secret_managed: view.managed_secret.is_some(),
            ..Self::default()
        };
        let Some(c) = &view.config else {
            return d;
        };
        match &c.provider {
            Provider::Local { path } => {
                d.provider = ProviderKind::Local;
                d.path = path.clone();
            }
            Provider::S3 {
                region,
                bucket,
                prefix,
                endpoint,
            } => {
                d.provider = ProviderKind::S3;
                d.region = region.clone();
                d.bucket = bucket.clone();
                d.prefix = prefix.clone();
                d.endpoint = endpoint.clone();
            }
            Provider::Azure {
                account,
                container,
                prefix,
            } => {
                d.provider = ProviderKind::Azure;
                d.account = account.clone();
                d.bucket = container.clone();
                d.prefix = prefix.clone();
            }
            Provider::Gcs { bucket, prefix } => {
                d.provider = ProviderKind::Gcs;
                d.bucket = bucket.clone();
                d.prefix = prefix.clone();
            }
        }
        if !c.secret_name.is_empty() {
            d.secret_name = c.secret_name.clone();
        }
        if let Some(s) = &c.schedule {
            d.schedule_enabled = true;
            d.cron = s.cron.clone();
            d.timezone = s.timezone.clone();
            d.schedule_without_apps = !s.include_apps;
        }
        d.keep_last = count_text(c.retention.keep_last);
        d.keep_daily = count_text(c.retention.keep_daily);
        d.keep_weekly = count_text(c.retention.keep_weekly);
        d.keep_monthly = count_text(c.retention.keep_monthly);
        d
    }

    /// Every problem, by field.
    pub fn errors(&self) -> Errors {
        let mut e = Errors::default();
        let mut check = |key: &'static str, r: Result<(), String>| {
            if let Err(m) = r {
                e.insert(key, m);
            }
        };
        match self.provider {
            ProviderKind::Local => check(field::PATH, validate::local_path(&self.path)),
            ProviderKind::S3 => {
                check(field::REGION, validate::region(&self.region));
                check(field::BUCKET, validate::s3_bucket(&self.bucket));
                check(field::ENDPOINT, validate::endpoint(&self.endpoint));
            }
            ProviderKind::Azure => {
                check(field::ACCOUNT, validate::azure_account(&self.account));
                check(field::BUCKET, validate::azure_container(&self.bucket));
            }
            ProviderKind::Gcs => check(field::BUCKET, validate::gcs_bucket(&self.bucket)),
        }
        if self.provider.is_cloud() {
            check(field::PREFIX, validate::prefix(&self.prefix));
            check(field::SECRET_NAME, validate::secret_name(&self.secret_name));
        } else if !self.secret_name.is_empty() {
            check(field::SECRET_NAME, validate::secret_name(&self.secret_name));
        }
        match self.provider {
            _ if self.secret_managed => {}
            ProviderKind::S3 => {
                let (id, key) = (self.access_key_id.trim(), self.secret_access_key.trim());
                if id.is_empty() != key.is_empty() {
                    let missing = if id.is_empty() {
                        field::ACCESS_KEY_ID
                    } else {
                        field::SECRET_ACCESS_KEY
                    };
                    check(missing, Err("Give both the access key id and the secret access key, or neither to keep the stored ones.".to_owned()));
                }
            }
            ProviderKind::Gcs if !self.gcs_json.trim().is_empty() => {
                let ok = is_json_object(&self.gcs_json);
                if !ok {
                    check(
                        field::GCS_JSON,
                        Err("Paste the whole JSON key file of the service account.".to_owned()),
                    );
                }
            }
            _ => {}
        }
        match self.passphrase_mode {
            _ if self.secret_managed => {}
            PassphraseMode::Keep | PassphraseMode::Clear => {}
            PassphraseMode::Set | PassphraseMode::Change => {
                if self.passphrase.is_empty() {
                    check(field::PASSPHRASE, Err("Enter the passphrase.".to_owned()));
                } else if self.passphrase != self.passphrase_repeat {
                    check(
                        field::PASSPHRASE_REPEAT,
                        Err("The two passphrases differ.".to_owned()),
                    );
                }
                if self.passphrase_mode == PassphraseMode::Change {
                    if self.old_passphrase.is_empty() {
                        check(
                            field::OLD_PASSPHRASE,
                            Err("Enter the passphrase in use now.".to_owned()),
                        );
                    } else if self.old_passphrase == self.passphrase {
                        check(
                            field::PASSPHRASE,
                            Err("The new passphrase is the same as the current one.".to_owned()),
                        );
                    }
                }
            }
        }
        if self.schedule_enabled {
            check(field::CRON, validate::cron(&self.cron));
            check(field::TIMEZONE, validate::timezone(self.timezone.trim()));
        }
        for (key, text) in [
            (field::KEEP_LAST, &self.keep_last),
            (field::KEEP_DAILY, &self.keep_daily),
            (field::KEEP_WEEKLY, &self.keep_weekly),
            (field::KEEP_MONTHLY, &self.keep_monthly),
        ] {
            check(key, validate::count(text).map(|_| ()));
        }
        e
    }

    /// The request body. Credentials go only when typed; the passphrase only when changed;
    /// neither when a managed Secret holds them (the backend refuses them: `409
    /// secret_read_only`).
    pub fn to_put(&self) -> PutConfig {
        let t = |s: &str| s.trim().to_owned();
        let provider = match self.provider {
            ProviderKind::Local => Provider::Local {
                path: t(&self.path),
            },
            ProviderKind::S3 => Provider::S3 {
                region: t(&self.region),
                bucket: t(&self.bucket),
                prefix: t(&self.prefix),
                endpoint: t(&self.endpoint),
            },
            ProviderKind::Azure => Provider::Azure {
                account: t(&self.account),
                container: t(&self.bucket),
                prefix: t(&self.prefix),
            },
            ProviderKind::Gcs => Provider::Gcs {
                bucket: t(&self.bucket),
                prefix: t(&self.prefix),
            },
        };
        let credentials = match self.provider {
            _ if self.secret_managed => None,
            ProviderKind::Local => None,
            ProviderKind::S3 => (!self.access_key_id.trim().is_empty()
                && !self.secret_access_key.trim().is_empty())
            .then(|| Credentials::S3 {
                access_key_id: t(&self.access_key_id),
                secret_access_key: t(&self.secret_access_key),
            }),
            ProviderKind::Azure => {
                let secret = t(&self.azure_secret);
                (!secret.is_empty()).then_some(match self.azure_kind {
                    AzureSecret::AccountKey => Credentials::Azure {
                        account_key: Some(secret),
                        sas_token: None,
                    },
                    AzureSecret::Sas => Credentials::Azure {
                        account_key: None,
                        sas_token: Some(secret),
                    },
                })
            }
            ProviderKind::Gcs => (!self.gcs_json.trim().is_empty()).then(|| Credentials::Gcs {
                service_account_json: self.gcs_json.trim().to_owned(),
            }),
        };
        let passphrase = match self.passphrase_mode {
            _ if self.secret_managed => None,
            PassphraseMode::Keep => None,
            PassphraseMode::Set => Some(PassphraseChange::Set {
                passphrase: self.passphrase.clone(),
            }),
            PassphraseMode::Change => Some(PassphraseChange::Change {
                old: self.old_passphrase.clone(),
                new: self.passphrase.clone(),
            }),
            PassphraseMode::Clear => Some(PassphraseChange::Clear),
        };
        let n = |s: &str| validate::count(s).unwrap_or(0);
        PutConfig {
            config: StorageConfig {
                backup_policy: None,
                provider,
                // A local folder needs no credentials, so it names no Secret.
                secret_name: if self.provider.is_cloud() {
                    t(&self.secret_name)
                } else {
                    String::new()
                },
                schedule: self.schedule_enabled.then(|| Schedule {
                    cron: self.cron.split_whitespace().collect::<Vec<_>>().join(" "),
                    timezone: t(&self.timezone),
                    include_apps: !self.schedule_without_apps,
                }),
                retention: Retention {
                    keep_last: n(&self.keep_last),
                    keep_daily: n(&self.keep_daily),
                    keep_weekly: n(&self.keep_weekly),
                    keep_monthly: n(&self.keep_monthly),
                },
            },
            credentials,
            passphrase,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(config: Option<StorageConfig>) -> ConfigView {
        ConfigView {
            config,
            is_default: false,
            passphrase_set: false,
            credentials_set: false,
            updated_at: None,
            locked_by: None,
            schedule_preview: None,
            managed_secret: None,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_fresh_draft_is_a_valid_local_folder() {
        let d = ConfigDraft::from_view(&view(None), "Europe/Berlin");
        assert_eq!(d.provider, ProviderKind::Local);
        assert!(d.errors().is_empty(), "{:?}", d.errors());
        let put = d.to_put();
        assert_eq!(
            put.config.provider,
            Provider::Local {
                path: String::new()
            }
        );
        assert_eq!(put.config.schedule, None);
        assert_eq!(put.credentials, None);
        assert_eq!(put.passphrase, None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_saved_config_round_trips() {
        let saved = StorageConfig {
            backup_policy: None,
            provider: Provider::S3 {
                region: "us-east-1".into(),
                bucket: "dash-backups".into(),
                prefix: "prod".into(),
                endpoint: "http://127.0.0.1:9000".into(),
            },
            secret_name: "lifeboat-s3".into(),
            schedule: Some(Schedule {
                cron: "0 2 * * *".into(),
                timezone: "UTC".into(),
                include_apps: true,
            }),
            retention: Retention {
                keep_last: 7,
                keep_daily: 0,
                keep_weekly: 4,
                keep_monthly: 0,
            },
        };
        let d = ConfigDraft::from_view(&view(Some(saved.clone())), "Europe/Berlin");
        assert!(d.errors().is_empty(), "{:?}", d.errors());
        assert_eq!(d.keep_daily, "", "zero shows as empty");
        assert_eq!(d.to_put().config, saved);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn invalid_fields_are_named() {
        let mut d = ConfigDraft {
            provider: ProviderKind::S3,
            bucket: "Bad_Bucket".into(),
            endpoint: "minio:9000".into(),
            access_key_id: "AKIA".into(),
            passphrase_mode: PassphraseMode::Change,
            passphrase: "new".into(),
            passphrase_repeat: "neu".into(),
            schedule_enabled: true,
            cron: "daily".into(),
            keep_last: "x".into(),
            ..ConfigDraft::default()
        };
        let e = d.errors();
        for key in [
            field::REGION,
            field::BUCKET,
            field::ENDPOINT,
            field::SECRET_NAME,
            field::SECRET_ACCESS_KEY,
            field::PASSPHRASE_REPEAT,
            field::OLD_PASSPHRASE,
            field::CRON,
            field::TIMEZONE,
            field::KEEP_LAST,
        ] {
            assert!(e.contains_key(key), "{key} missing from {e:?}");
        }
        d.provider = ProviderKind::Gcs;
        d.bucket = "dash".into();
        d.gcs_json = "not json".into();
        assert!(d.errors().contains_key(field::GCS_JSON));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn credentials_and_passphrase_go_only_when_given() {
        let mut d = ConfigDraft {
            provider: ProviderKind::Azure,
            account: "acme".into(),
            bucket: "backups".into(),
            secret_name: "az".into(),
            azure_kind: AzureSecret::Sas,
            azure_secret: "sv=1".into(),
            passphrase_mode: PassphraseMode::Set,
            passphrase: "s3cret".into(),
            passphrase_repeat: "s3cret".into(),
            ..ConfigDraft::default()
        };
        assert!(d.errors().is_empty(), "{:?}", d.errors());
        let put = d.to_put();
        assert_eq!(
            put.credentials,
            Some(Credentials::Azure {
                account_key: None,
                sas_token: Some("sv=1".into())
            })
        );
        assert_eq!(
            put.passphrase,
            Some(PassphraseChange::Set {
                passphrase: "s3cret".into()
            })
        );
        d.azure_secret.clear();
        d.passphrase_mode = PassphraseMode::Clear;
        let put = d.to_put();
        assert_eq!(put.credentials, None);
        assert_eq!(put.passphrase, Some(PassphraseChange::Clear));
        assert!(!format!("{d:?}").contains("s3cret"), "Debug is redacted");
    }

    fn managed(keys: &[&str]) -> ConfigView {
        ConfigView {
            managed_secret: Some(lifeboat_shared::config::ManagedSecret {
                name: "lifeboat-storage".into(),
                keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                problem: None,
            }),
            ..view(None)
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn with_a_managed_secret_the_body_carries_no_credentials_and_no_passphrase() {
        let mut d = ConfigDraft::from_view(&managed(&[]), "UTC");
        assert!(d.secret_managed);
        // Whatever the draft holds (nothing the panel lets one type), none of it is sent.
        d.provider = ProviderKind::S3;
        d.region = "us-east-1".into();
        d.bucket = "dash-backups".into();
        d.access_key_id = "AKIAEXAMPLE".into();
        d.secret_access_key = "s3cret".into();
        d.passphrase_mode = PassphraseMode::Change;
        d.passphrase = "new".into();
        assert!(d.errors().is_empty(), "{:?}", d.errors());
        let put = d.to_put();
        assert_eq!((&put.credentials, &put.passphrase), (&None, &None));
        assert_eq!(put.config.secret_name, "lifeboat-storage");
        // The body as sent (off the browser only: serde_json is not in the bundle).
        #[cfg(not(target_arch = "wasm32"))]
        {
            let body = serde_json::to_value(&put).unwrap();
            for key in ["credentials", "passphrase"] {
                assert!(body.get(key).is_none(), "{key} in {body}");
            }
            assert!(!body.to_string().contains("s3cret"), "{body}");
        }
        d.passphrase_mode = PassphraseMode::Clear;
        assert_eq!(d.to_put().passphrase, None, "not even a clear");
        // Without one (the local runtime), the same draft sends both.
        d.secret_managed = false;
        d.passphrase_repeat = "new".into();
        d.old_passphrase = "old".into();
        d.passphrase_mode = PassphraseMode::Change;
        let put = d.to_put();
        assert!(put.credentials.is_some() && put.passphrase.is_some());
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_keys_a_provider_needs_that_the_secret_lacks_are_named() {
        let keys = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        let missing = missing_secret_keys;
        assert!(
            missing(ProviderKind::Local, &[]).is_empty(),
            "a folder needs none"
        );
        assert_eq!(
            missing(
                ProviderKind::S3,
                &keys(&["AWS_ACCESS_KEY_ID", PASSPHRASE_KEY])
            ),
            ["AWS_SECRET_ACCESS_KEY"]
        );
        assert_eq!(
            missing(ProviderKind::S3, &[]),
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        );
        assert_eq!(
            missing(ProviderKind::Azure, &keys(&["AWS_ACCESS_KEY_ID"])),
            ["AZURE_ACCOUNT_KEY or AZURE_SAS_TOKEN"]
        );
        for either in ["AZURE_ACCOUNT_KEY", "AZURE_SAS_TOKEN"] {
            assert!(missing(ProviderKind::Azure, &keys(&[either])).is_empty());
        }
        assert_eq!(
            missing(ProviderKind::Gcs, &[]),
            ["GOOGLE_SERVICE_ACCOUNT_JSON"]
        );
        assert!(missing(ProviderKind::Gcs, &keys(&["GOOGLE_SERVICE_ACCOUNT_JSON"])).is_empty());
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_kubectl_command_is_the_readmes_with_placeholders_only() {
        let readme = include_str!("../../README.md");
        for (provider, name) in [
            (ProviderKind::S3, "lifeboat-s3"),
            (ProviderKind::Azure, "lifeboat-azure"),
            (ProviderKind::Gcs, "lifeboat-gcs"),
        ] {
            let command = create_secret_command(provider, None, name);
            assert!(readme.contains(&command), "not in the README:\n{command}");
        }
        assert_eq!(
            create_secret_command(ProviderKind::Local, Some("dash"), "lifeboat-storage"),
            "kubectl -n dash create secret generic lifeboat-storage \\\n  \
             --from-literal=RESTIC_PASSPHRASE='...'          # optional"
        );
        assert!(create_secret_command(ProviderKind::S3, Some(""), "x").contains("-n <namespace> "));
        // Every value is a placeholder.
        for provider in ProviderKind::ALL {
            let command = create_secret_command(provider, Some("dash"), "s");
            for line in command.lines().skip(1) {
                let value = line.split('=').nth(2).unwrap_or_default();
                let value = value
                    .trim_end_matches(" \\")
                    .split_whitespace()
                    .next()
                    .unwrap_or_default();
                assert!(
                    ["'...'", "'AKIA...'", "./service-account.json"].contains(&value),
                    "{value:?} in {command}"
                );
            }
        }
    }
}
