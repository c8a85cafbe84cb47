//! `pgbackrest info --output=json`: the backups in the staging repository.

use serde::Deserialize;

/// Why `info` output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    /// Not the JSON pgBackRest prints.
    #[error("unreadable pgbackrest info output: {0}")]
    Json(#[from] serde_json::Error),
}

/// One backup in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// e.g. `20261125-113629F`.
    pub label: String,
    /// `full`, `diff` or `incr`.
    pub kind: String,
    /// The backup it builds on (a `diff`'s full, an `incr`'s previous backup).
    pub prior: Option<String>,
    /// Size of the cluster it captured, in bytes.
    pub size_bytes: u64,
    /// Size of the backup in the repository, in bytes.
    pub repository_bytes: u64,
    /// Unix start and stop times.
    pub started: i64,
    /// Unix stop time.
    pub stopped: i64,
    /// PostgreSQL major version of the cluster (from `db[]`).
    pub postgres_major: Option<u32>,
}

#[derive(Deserialize)]
struct Stanza {
    #[serde(default)]
    backup: Vec<RawBackup>,
    #[serde(default)]
    db: Vec<RawDb>,
}

#[derive(Deserialize)]
struct RawDb {
    #[serde(default)]
    id: u64,
    #[serde(default)]
    version: String,
}

#[derive(Deserialize)]
struct RawBackup {
    label: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    prior: Option<String>,
    #[serde(default)]
    info: RawInfo,
    #[serde(default)]
    timestamp: RawTimes,
    #[serde(default)]
    database: Option<RawDbRef>,
}

#[derive(Deserialize, Default)]
struct RawInfo {
    #[serde(default)]
    size: u64,
    #[serde(default)]
    repository: RawRepo,
}

#[derive(Deserialize, Default)]
struct RawRepo {
    #[serde(default)]
    size: u64,
}

#[derive(Deserialize, Default)]
struct RawTimes {
    #[serde(default)]
    start: i64,
    #[serde(default)]
    stop: i64,
}

#[derive(Deserialize)]
struct RawDbRef {
    #[serde(default)]
    id: u64,
}

/// Every backup of every stanza in `info --output=json`, oldest first (pgBackRest's order).
pub fn parse_info(json: &str) -> Result<Vec<BackupInfo>, InfoError> {
    let stanzas: Vec<Stanza> = serde_json::from_str(json)?;
    Ok(stanzas
        .into_iter()
        .flat_map(|s| {
            let dbs = s.db;
            s.backup.into_iter().map(move |b| {
                let db_id = b.database.as_ref().map(|d| d.id);
                let postgres_major = dbs
                    .iter()
                    .find(|d| Some(d.id) == db_id)
                    .and_then(|d| d.version.split('.').next()?.parse().ok());
                BackupInfo {
                    label: b.label,
                    kind: b.kind,
                    prior: b.prior,
                    size_bytes: b.info.size,
                    repository_bytes: b.info.repository.size,
                    started: b.timestamp.start,
                    stopped: b.timestamp.stop,
                    postgres_major,
                }
            })
        })
        .collect())
}

/// The PostgreSQL major version a repository's `backup.info` records for its cluster
/// (`db-version="15"` in its `[db]` section).
pub fn db_version_major(backup_info: &str) -> Option<u32> {
    let mut in_db = false;
    for line in backup_info.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_db = line == "[db]";
        } else if in_db && let Some(v) = line.strip_prefix("db-version=") {
            return v.trim_matches('"').split('.').next()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_captured_info() {
        let b = parse_info(include_str!("testdata/info.json")).unwrap();
        assert_eq!(
            b,
            vec![BackupInfo {
                prior: None,
                label: "20261125-113629F".into(),
                kind: "full".into(),
                size_bytes: 22_992_589,
                repository_bytes: 22_992_589,
                started: 1_795_606_589,
                stopped: 1_795_606_591,
                postgres_major: Some(15),
            }]
        );
        assert!(
            parse_info(include_str!("testdata/info-empty.json"))
                .unwrap()
                .is_empty()
        );
        assert!(parse_info("not json").is_err());
    }

    #[test]
    fn db_version_from_backup_info() {
        let text = "[backrest]\nbackrest-format=5\n\n[db]\ndb-catalog-version=202209061\ndb-id=1\ndb-version=\"15\"\n\n[db:history]\n1={}\n";
        assert_eq!(db_version_major(text), Some(15));
        assert_eq!(db_version_major("[other]\ndb-version=\"14\"\n"), None);
    }
}
