//! Backups as the catalog in the bucket records them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::operation::Trigger;

/// What a pgBackRest backup of the system Postgres copied: everything (`full`), what
/// changed since the last full (`diff`), or since the last backup of any type (`incr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    /// Every file.
    #[default]
    Full,
    /// What changed since the last full backup.
    Diff,
    /// What changed since the last backup.
    Incr,
}

impl BackupType {
    /// `full`, `diff` or `incr`, as pgBackRest's `--type` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Diff => "diff",
            Self::Incr => "incr",
        }
    }
}

/// One component of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// `postgres` (the system database, via pgBackRest), `configuration`, or an app's or
    /// workspace's data: `app/<name>/postgres`, `app/<name>/redis`, `app/<name>/files`,
    /// `workspace/<name>/files`.
    pub name: String,
    /// The restic snapshot holding it.
    pub snapshot_id: String,
    /// The pgBackRest backup label, for the Postgres component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgbackrest_label: Option<String>,
    /// Size of the data the component holds, in bytes.
    pub size_bytes: u64,
    /// Where it is in its snapshot (`dumps/app-001/postgres.dump`, `files/apps/app-001`),
    /// for an app's or workspace's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How it was taken (`pgbackrest`, `pg_dump -Fc`, `redis-cli --rdb`, `restic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// How long taking it took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl Component {
    /// The app whose data this is (`app/<name>/…`), if it is an app's.
    pub fn app(&self) -> Option<&str> {
        self.name.strip_prefix("app/")?.split('/').next()
    }

    /// The workspace whose files these are (`workspace/<name>/files`), if they are.
    pub fn workspace(&self) -> Option<&str> {
        self.name.strip_prefix("workspace/")?.split('/').next()
    }
}

/// The instance a backup came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInstance {
    /// The instance's stable id.
    pub instance_id: String,
    /// Its namespace.
    pub namespace: String,
}

/// A backup's catalog entry (a JSON manifest in the bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Catalog id, e.g. `bk-20261125T110705Z-3f9a`.
    pub id: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 end time.
    pub finished_at: String,
    /// Who or what started it.
    pub trigger: Trigger,
    /// The admin's description, possibly empty.
    pub description: String,
    /// Where it came from.
    pub source: SourceInstance,
    /// The platform version backed up.
    pub platform_version: String,
    /// The Lifeboat version that wrote it.
    pub lifeboat_version: String,
    /// PostgreSQL major version of the system database.
    pub postgres_major: u32,
    /// What it holds.
    pub components: Vec<Component>,
    /// Bytes this backup added to the bucket.
    pub bytes_added: u64,
    /// Total size of the data backed up.
    pub size_bytes: u64,
    /// Whether a passphrase encrypts it.
    pub encrypted: bool,
    /// A fingerprint of the repository key in use (not the key), to tell passphrases apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// Row counts taken right after the database backup (e.g. `keycloak.user_entity`); a
    /// restore checks the restored database against them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    /// What its pgBackRest backup copied (`full` for backups written before there were
    /// others).
    #[serde(default)]
    pub backup_type: BackupType,
    /// The backup it needs (a `diff`'s full, an `incr`'s previous backup), or null.
    #[serde(default)]
    pub depends_on: Option<String>,
    /// RFC 3339: the moment it restores to (pgBackRest's stop); null for backups written
    /// before there was a recovery window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The page does not use it yet (its bundle has a size budget).
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub consistent_at: Option<String>,
    /// RFC 3339: its snapshot holds the WAL of every moment up to this one (a commit after
    /// it marks the end), so a restore to a moment before it may replay from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The page does not use it yet (its bundle has a size budget).
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub wal_until: Option<String>,
}

impl BackupManifest {
    /// The component named `name` (`postgres`, `configuration`), if the backup holds it.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// The apps whose data the backup holds, sorted, once each.
    pub fn apps(&self) -> Vec<&str> {
        let mut apps: Vec<&str> = self.components.iter().filter_map(Component::app).collect();
        apps.sort_unstable();
        apps.dedup();
        apps
    }
}

/// The body of `GET /api/v1/backups`: every backup in the bucket, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupList {
    /// Newest first.
    pub backups: Vec<BackupManifest>,
    /// Catalog entries that cannot be restored: unreadable, or naming data that is not in
    /// the bucket. Not in `backups`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damaged: Vec<DamagedBackup>,
}

/// The body of `GET /api/v1/bucket`: what the bucket holds below Lifeboat's prefix, counted
/// from a listing of the bucket itself (after restic's compression, deduplication and
/// encryption: what the provider bills).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketUsage {
    /// The bytes of every object below the prefix.
    pub stored_bytes: u64,
    /// How many objects that is.
    pub objects: u64,
    /// When the listing was made (RFC 3339, UTC).
    pub measured_at: String,
}

/// A catalog entry that cannot be restored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamagedBackup {
    /// The backup's id (the entry's file name when the entry cannot be read).
    pub id: String,
    /// What is wrong, for people.
    pub problem: String,
    /// When it was made, when its entry could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Its description, when its entry could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The body of `POST /api/v1/backups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBackup {
    /// Optional description, up to 500 characters, no control characters.
    #[serde(default)]
    pub description: String,
    /// Whether apps' own data (their Postgres, Redis and files, and the workspaces' files)
    /// goes in too. Default true.
    #[serde(default = "crate::yes")]
    pub include_apps: bool,
    /// A type of backup to take (`full` for a new chain); without it, the configuration's
    /// policy chooses. (The page does not ask yet.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub backup_type: Option<BackupType>,
}

impl Default for StartBackup {
    fn default() -> Self {
        Self {
            description: String::new(),
            include_apps: true,
            backup_type: None,
        }
    }
}

/// The body of `POST /api/v1/backups/{id}/restore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRestore {
    /// Must be exactly `restore backup`.
    pub confirmation: String,
    /// The namespace to restore into (DNS-1123 label); the instance's own for an in-place restore.
    pub target_namespace: String,
    /// Replace an instance that already lives in `target_namespace` (other than this one).
    #[serde(default)]
    pub replace_existing: bool,
    /// Restore only these apps' data, into the instance's own namespace, leaving the system
    /// and every other app untouched. Absent: everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps: Option<Vec<String>>,
    /// RFC 3339: restore the newest backup before this moment and replay WAL up to it.
    /// Absent: the backup's own point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The page does not use it yet (its bundle has a size budget).
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub target_time: Option<String>,
}

/// The phrase a restore must be confirmed with.
pub const RESTORE_CONFIRMATION: &str = "restore backup";

/// The body of `GET /api/v1/instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// Stable id of this instance.
    pub instance_id: String,
    /// Its namespace.
    pub namespace: String,
    /// `local` or `kubernetes`.
    pub runtime: String,
    /// What a backup captures.
    pub components: Vec<String>,
    /// For the local runtime: the system Postgres' TCP port on 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_port: Option<u16>,
    /// For the local runtime: the folder holding its Unix socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_socket_dir: Option<String>,
    /// For the local runtime: the configuration folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_dir: Option<String>,
    /// Set when a restore into this instance did not finish: its Postgres is stopped and
    /// its data incomplete until a restore succeeds. Names the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_incomplete: Option<String>,
    /// The instance's Keycloak (`http://127.0.0.1:<port>/auth` for the local demo), when
    /// Lifeboat runs one beside its Postgres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keycloak_url: Option<String>,
    /// Its apps that have data of their own, as App Manager records them, with how to reach
    /// that data (by name).
    #[serde(default)]
    pub apps: Vec<AppInfo>,
    /// Its workspaces and their files.
    #[serde(default)]
    pub workspaces: Vec<WorkspaceInfo>,
}

/// An app with data of its own: a managed Postgres database, a managed Redis, a persistent
/// filesystem (any of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The app's name in App Manager.
    pub name: String,
    /// Its managed Postgres database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<AppPostgres>,
    /// Its managed Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<AppRedis>,
    /// Its persistent filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<AppFiles>,
}

/// An app's database on the instance's app-data Postgres server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPostgres {
    /// The database (its owner role has the same name).
    pub database: String,
    /// The server's TCP port on 127.0.0.1 (local runtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The server's host name (kubernetes runtime: its Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// An app's Redis server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRedis {
    /// Its TCP port on 127.0.0.1 (local runtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Its host name (kubernetes runtime: its Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// An app's or workspace's persistent files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppFiles {
    /// The folder holding them (local runtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The PersistentVolumeClaim holding them (kubernetes runtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
}

/// A workspace and its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    /// The workspace's name in App Manager.
    pub name: String,
    /// Its files.
    pub files: AppFiles,
}

/// The body of `GET /api/v1/instances`: this Lifeboat's own instance first, then the ones
/// restores created in other namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceList {
    /// Every instance this Lifeboat runs.
    pub instances: Vec<InstanceInfo>,
    /// Namespaces whose instance Lifeboat's start-up is still bringing up (listed in
    /// `instances` once up).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starting: Vec<String>,
}

/// One line of the audit trail: who did what, when, from where, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 time.
    pub at: String,
    /// The user (`admin` for the standalone token, the token's subject with OIDC), or
    /// `scheduler` / `lifeboat` for what Lifeboat did by itself.
    pub who: String,
    /// The client's address (or `X-Forwarded-For`), `-` for Lifeboat itself.
    pub from: String,
    /// e.g. `config.save`, `passphrase.change`, `backup.start`, `restore.confirm`,
    /// `operation.end`, `operation.cancel`.
    pub action: String,
    /// What it was about, in words (never a secret).
    pub detail: String,
    /// `accepted`, `refused: <code>`, or an operation's final status.
    pub outcome: String,
}

/// The body of `GET /api/v1/audit`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// Older entries remain (ask again with a larger `offset`).
    #[serde(default)]
    pub more: bool,
}
