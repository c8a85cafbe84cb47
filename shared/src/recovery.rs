//! The recovery window: every moment a restore can land on, from the oldest backup's
//! consistent point to the newest WAL shipped into the bucket.

use serde::{Deserialize, Serialize};

/// A stretch of the window no restore can reach: WAL was dropped (the archive's queue was
/// full) or never archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hole {
    /// RFC 3339: the last moment before it that can be restored.
    pub from: String,
    /// RFC 3339: the first moment after it that can be restored again.
    pub to: String,
}

/// `GET /api/v1/recovery-window`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryWindow {
    /// RFC 3339: the oldest moment a restore can land on (the oldest backup's consistent
    /// point); `null` without a backup.
    pub earliest: Option<String>,
    /// RFC 3339: the newest (the newest WAL shipped, or the newest backup's point).
    pub latest: Option<String>,
    /// Seconds from `latest` to now: how much a disaster now would lose.
    pub lag_seconds: Option<u64>,
    /// Stretches inside the window that cannot be restored, oldest first.
    #[serde(default)]
    pub holes: Vec<Hole>,
    /// The instance whose window this is.
    #[serde(default)]
    pub instance_id: String,
    /// The backups on the window, oldest first: id and consistent point (RFC 3339).
    #[serde(default)]
    pub backups: Vec<WindowBackup>,
    /// Why the archive is behind, in words, when it is (`null` when it is not).
    #[serde(default)]
    pub behind: Option<String>,
}

/// A backup on the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowBackup {
    /// Catalog id.
    pub id: String,
    /// RFC 3339: the moment it restores to.
    pub consistent_at: String,
    /// `full`, `diff` or `incr`.
    pub backup_type: crate::backup::BackupType,
}
