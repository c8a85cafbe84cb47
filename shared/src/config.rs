//! Storage configuration: where backups go, how they are encrypted, when they run.
//!
//! Secrets (bucket credentials, the passphrase) never appear in these types on the way out:
//! the API reports only whether they are set.

use serde::{Deserialize, Serialize};

/// Where the bucket is. One bucket at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case", deny_unknown_fields)]
pub enum Provider {
    /// A folder on the Lifeboat host (the embedded default).
    Local {
        /// Absolute path; empty means `<data dir>/bucket`.
        #[serde(default)]
        path: String,
    },
    /// Amazon S3 or any S3-compatible store.
    S3 {
        /// AWS region, e.g. `us-east-1`.
        region: String,
        /// Bucket name (S3 naming rules).
        bucket: String,
        /// Optional key prefix inside the bucket.
        #[serde(default)]
        prefix: String,
        /// Endpoint of an S3-compatible store (path-style addressing); empty for AWS.
        #[serde(default)]
        endpoint: String,
    },
    /// Azure Blob Storage.
    Azure {
        /// Storage account name.
        account: String,
        /// Container name.
        container: String,
        /// Optional blob prefix.
        #[serde(default)]
        prefix: String,
    },
    /// Google Cloud Storage.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Optional object prefix.
        #[serde(default)]
        prefix: String,
    },
}

/// When scheduled backups run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Five-field cron expression, e.g. `0 2 * * *`.
    pub cron: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Whether scheduled backups take apps' own data too (as Backup Now's `include_apps`).
    #[serde(default = "crate::yes")]
    pub include_apps: bool,
}

/// Which backups to keep after each successful backup. All zero keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Keep the newest N backups.
    #[serde(default)]
    pub keep_last: u32,
    /// Keep the newest backup of each of the last N days.
    #[serde(default)]
    pub keep_daily: u32,
    /// Keep the newest backup of each of the last N weeks.
    #[serde(default)]
    pub keep_weekly: u32,
    /// Keep the newest backup of each of the last N months.
    #[serde(default)]
    pub keep_monthly: u32,
}

/// The storage configuration as saved (no secrets). The page neither reads nor sends
/// what it has no fields for (`backup_policy`): a `PUT` without it keeps the saved one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), serde(deny_unknown_fields))]
pub struct StorageConfig {
    /// Where the bucket is.
    pub provider: Provider,
    /// Name of the namespace-scoped Kubernetes Secret holding the credentials
    /// (the local runtime keeps them in its secret store under this name).
    #[serde(default)]
    pub secret_name: String,
    /// Optional backup schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Retention applied after each successful backup.
    #[serde(default)]
    pub retention: Retention,
    /// Which type each backup is when it does not ask (the default policy when absent; a
    /// `PUT` without it keeps the saved one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub backup_policy: Option<BackupPolicy>,
}

/// Which type a backup is when it does not ask: a full when this instance has none in the
/// bucket or its last is older than `full_every_days`, else `between`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupPolicy {
    /// Days after which the next backup is a full again (1 to 366; default 7).
    #[serde(default = "seven")]
    pub full_every_days: u32,
    /// The type of the backups between fulls: `incr` (the default), `diff`, or `full` (every
    /// backup a full).
    #[serde(default = "incr")]
    pub between: crate::backup::BackupType,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        Self {
            full_every_days: 7,
            between: crate::backup::BackupType::Incr,
        }
    }
}

fn seven() -> u32 {
    7
}

fn incr() -> crate::backup::BackupType {
    crate::backup::BackupType::Incr
}

/// The body of `GET /api/v1/config` (and of a successful `PUT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigView {
    /// The effective configuration: the saved one, or the embedded default (a local folder
    /// under the data dir, no passphrase) until one is saved (see `is_default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<StorageConfig>,
    /// True while no configuration has been saved and `config` is the embedded default.
    #[serde(default)]
    pub is_default: bool,
    /// Whether a passphrase is set (the passphrase itself is never returned).
    pub passphrase_set: bool,
    /// Whether credentials exist under `secret_name` (their values are never returned).
    pub credentials_set: bool,
    /// When the configuration was last saved (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Set while a backup or restore runs: the configuration cannot change until it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<crate::operation::OperationId>,
    /// The schedule in plain words and its next run times, when a schedule is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_preview: Option<SchedulePreview>,
    /// Set when the credentials live in a Secret managed outside Lifeboat (the kubernetes
    /// runtime): the page shows this instead of credential fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_secret: Option<ManagedSecret>,
}

/// A Secret managed with kubectl, as the configuration page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedSecret {
    /// The Secret's name.
    pub name: String,
    /// The keys found in it (never their values).
    pub keys: Vec<String>,
    /// Why it could not be read (missing, not allowed), with the command that creates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A schedule explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulePreview {
    /// e.g. "At 02:00, every day (Europe/Berlin)".
    pub description: String,
    /// The next five run times, RFC 3339 with the zone's offset.
    pub next_runs: Vec<String>,
}

/// Bucket credentials, written through the API for the local runtime (in Kubernetes they
/// come from the named Secret). Write-only: never returned.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    /// AWS or S3-compatible keys.
    S3 {
        /// Access key id.
        access_key_id: String,
        /// Secret access key.
        secret_access_key: String,
    },
    /// Azure: an account key or a SAS token (one of them).
    Azure {
        /// Storage account key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_key: Option<String>,
        /// Shared access signature.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sas_token: Option<String>,
    },
    /// GCS: a service account's JSON key.
    Gcs {
        /// The JSON key file's content.
        service_account_json: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let provider = match self {
            Self::S3 { .. } => "s3",
            Self::Azure { .. } => "azure",
            Self::Gcs { .. } => "gcs",
        };
        write!(f, "Credentials {{ provider: {provider}, .. redacted }}")
    }
}

/// What to do with the passphrase on save.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum PassphraseChange {
    /// Set a passphrase where none is set, or confirm the one the bucket's repository
    /// already uses (e.g. on a second instance sharing the bucket).
    Set {
        /// The passphrase.
        passphrase: String,
    },
    /// Replace the passphrase: the repository gets the new key and loses the old one, so
    /// earlier backups stay restorable with the new passphrase.
    Change {
        /// The passphrase in use now.
        old: String,
        /// The new passphrase.
        new: String,
    },
    /// Stop using a passphrase for new configuration (backups made with one still need it).
    Clear,
}

impl std::fmt::Debug for PassphraseChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = match self {
            Self::Set { .. } => "set",
            Self::Change { .. } => "change",
            Self::Clear => "clear",
        };
        write!(f, "PassphraseChange {{ action: {action}, .. redacted }}")
    }
}

/// The body of `PUT /api/v1/config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutConfig {
    /// The new configuration.
    pub config: StorageConfig,
    /// New credentials to store under `config.secret_name`; omit to keep the stored ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    /// A passphrase change; omit to keep the passphrase as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<PassphraseChange>,
}

/// The outcome of one verify check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Passed.
    Ok,
    /// Passed with a caveat (see the message).
    Warning,
    /// Failed (see the message and hint).
    Failed,
    /// Not run because an earlier check failed.
    Skipped,
    /// A status this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

/// One check of `POST /api/v1/config/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyCheck {
    /// Stable id: `reachable`, `credentials`, `bucket`, `write_read_delete`, `repository`.
    pub id: String,
    /// What was checked, for people.
    pub title: String,
    /// How it went.
    pub status: CheckStatus,
    /// What was found, in plain words.
    pub message: String,
    /// What to do about a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// How long the check took, in milliseconds.
    pub millis: u64,
}

/// What the bucket's restic repository looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepositoryState {
    /// Nothing there yet: the first backup will create it.
    Empty,
    /// A Lifeboat repository that opens with the configured passphrase.
    Ready,
    /// A Lifeboat repository, but the configured passphrase does not open it.
    PassphraseMismatch,
    /// Something else lives under the prefix.
    Foreign,
    /// Not determined (an earlier check failed), or a state a newer backend added.
    #[serde(other)]
    Unknown,
}

/// The body of `POST /api/v1/config/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Whether every check passed (warnings allowed).
    pub ok: bool,
    /// The checks in the order they ran.
    pub checks: Vec<VerifyCheck>,
    /// The repository's state.
    pub repository: RepositoryState,
}

/// The body of a successful `PUT /api/v1/config`: what is now saved, and how the verify
/// that ran on save went (the configuration is saved even when verify finds a problem).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveResult {
    /// The configuration as `GET /api/v1/config` now returns it.
    pub config: ConfigView,
    /// The verify run against the saved configuration.
    pub verify: VerifyReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_state_from_a_newer_backend_reads_as_unknown() {
        let s: RepositoryState = serde_json::from_str("\"sharded\"").unwrap();
        assert_eq!(s, RepositoryState::Unknown);
        let s: RepositoryState = serde_json::from_str("\"passphrase_mismatch\"").unwrap();
        assert_eq!(s, RepositoryState::PassphraseMismatch);
    }
}
