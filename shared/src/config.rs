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

/// The storage configuration as saved (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}
