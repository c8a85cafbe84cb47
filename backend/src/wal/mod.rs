//! The recovery window: WAL shipped into the bucket every minute, what an instance's
//! archive holds there, and which backup and WAL a restore to a moment uses.
//!
//! Each shipment is a restic snapshot (tag [`WAL_TAG`]) of the staging repository's
//! `archive/` folder, timed at the mark it ends with ([`crate::runtime::host::sql::SystemSql::mark_wal_end`]):
//! restic deduplicates, so it adds only the segments archived since the last one. The
//! staging's archive only grows between two backups (pgBackRest's `expire` runs after a
//! backup's upload), so the newest snapshot of an instance (a shipment, or a backup's own)
//! holds every segment an older one held: the older shipments are forgotten. What the
//! archive of an instance holds is kept beside the catalog (`wal/<instance id>.json`), for
//! every Lifeboat on the bucket.

use bytes::Bytes;
use lifeboat_shared::backup::BackupManifest;
use lifeboat_shared::recovery::{Hole, RecoveryWindow, WindowBackup};
use object_store::{ObjectStoreExt as _, PutPayload};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::storage::Target;

/// The tag of a shipment's snapshot (never `lifeboat`: retention counts backups by that).
pub const WAL_TAG: &str = "lifeboat-wal";

/// Why the archive's record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The bucket refused.
    #[error("the bucket: {0}")]
    Store(#[from] object_store::Error),
    /// The record is not what Lifeboat writes.
    #[error("the WAL archive's record is unreadable: {0}")]
    Unreadable(#[from] serde_json::Error),
    /// An instance id that cannot name an object.
    #[error("not an instance id: {0:?}")]
    BadId(String),
}

/// What an instance's archive holds in the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveState {
    /// The instance.
    pub instance_id: String,
    /// Its namespace when it last shipped.
    pub namespace: String,
    /// RFC 3339: every moment up to this one is in the bucket.
    pub latest: Option<String>,
    /// The snapshot holding it.
    pub snapshot_id: Option<String>,
    /// Stretches whose WAL was never archived, oldest first.
    #[serde(default)]
    pub holes: Vec<Hole>,
    /// A hole appeared since the last full backup: the next backup is a full.
    #[serde(default)]
    pub full_needed: bool,
    /// Why the last shipment failed, if it did (cleared by the next that works).
    #[serde(default)]
    pub last_error: Option<String>,
}

fn key(target: &Target, instance_id: &str) -> Result<object_store::path::Path, WalError> {
    if instance_id.is_empty()
        || !instance_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(WalError::BadId(instance_id.to_owned()));
    }
    Ok(target.key(&format!("wal/{instance_id}.json")))
}

/// The record of `instance_id`'s archive (`None` before its first shipment).
pub async fn read(target: &Target, instance_id: &str) -> Result<Option<ArchiveState>, WalError> {
    let bytes = match target.store.get(&key(target, instance_id)?).await {
        Ok(r) => r.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(serde_json::from_slice(&bytes)?))
}

/// Writes (replaces) the record.
pub async fn write(target: &Target, state: &ArchiveState) -> Result<(), WalError> {
    let body = Bytes::from(serde_json::to_vec_pretty(state)?);
    target
        .store
        .put(&key(target, &state.instance_id)?, PutPayload::from(body))
        .await?;
    Ok(())
}

/// Parses an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Formats a time as RFC 3339 (UTC).
pub fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// `instance_id`'s backups that have a consistent point, oldest first, with it parsed.
fn on_window<'a>(
    manifests: &'a [BackupManifest],
    instance_id: &str,
) -> Vec<(&'a BackupManifest, OffsetDateTime)> {
    let mut out: Vec<_> = manifests
        .iter()
        .filter(|m| m.source.instance_id == instance_id)
        .filter_map(|m| Some((m, parse_time(m.consistent_at.as_deref()?)?)))
        .collect();
    out.sort_by_key(|(_, t)| *t);
    out
}

/// How far a backup's snapshot's WAL reaches, for a restore to a moment: its `wal_until`
/// (a commit marks it; recovery to a moment fails when it finds no commit past it).
fn reach(m: &BackupManifest) -> Option<OffsetDateTime> {
    parse_time(m.wal_until.as_deref()?)
}

/// The window of `instance_id` from its backups in the catalog and its archive's record.
pub fn window(
    manifests: &[BackupManifest],
    state: Option<&ArchiveState>,
    instance_id: &str,
    now: OffsetDateTime,
) -> RecoveryWindow {
    let backups = on_window(manifests, instance_id);
    let Some((_, earliest)) = backups.first() else {
        return RecoveryWindow {
            instance_id: instance_id.to_owned(),
            behind: state.and_then(|s| s.last_error.clone()),
            ..RecoveryWindow::default()
        };
    };
    let earliest = *earliest;
    let mut latest = backups
        .iter()
        .filter_map(|(m, _)| reach(m))
        .max()
        .unwrap_or(earliest);
    if let Some(shipped) = state.and_then(|s| parse_time(s.latest.as_deref()?))
        && shipped > latest
    {
        latest = shipped;
    }
    let holes = state
        .map(|s| {
            s.holes
                .iter()
                .filter(|h| {
                    parse_time(&h.to).is_some_and(|to| to > earliest)
                        && parse_time(&h.from).is_some_and(|from| from < latest)
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let lag = (now - latest).whole_seconds().max(0) as u64;
    RecoveryWindow {
        earliest: Some(format_time(earliest)),
        latest: Some(format_time(latest)),
        lag_seconds: Some(lag),
        holes,
        instance_id: instance_id.to_owned(),
        backups: backups
            .iter()
            .map(|(m, t)| WindowBackup {
                id: m.id.clone(),
                consistent_at: format_time(*t),
                backup_type: m.backup_type,
            })
            .collect(),
        behind: state.and_then(|s| s.last_error.clone()),
    }
}

/// What a restore to a moment uses: the backup it starts from, and the snapshot whose
/// WAL it replays (its own when that reaches far enough).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The catalog id of the backup restored.
    pub backup_id: String,
    /// The restic snapshot whose `pgbackrest/archive` is laid over the backup's.
    pub wal_snapshot: String,
}

/// Why a moment cannot be restored to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfRange {
    /// Before the window, after it, or in a hole.
    #[error("{0}")]
    Outside(String),
}

/// The backup and WAL a restore of `instance_id` to `at` uses: the newest backup whose
/// consistent point is at or before `at` (or `from`, when the caller chose the backup), and
/// of the snapshots whose WAL reaches `at` the one that reaches least far (newer ones may
/// miss an older chain's WAL once pgBackRest expired it).
pub fn choose(
    manifests: &[BackupManifest],
    state: Option<&ArchiveState>,
    instance_id: &str,
    at: OffsetDateTime,
    from: Option<&str>,
) -> Result<Choice, OutOfRange> {
    let w = window(manifests, state, instance_id, at);
    let (Some(earliest), Some(latest)) = (
        w.earliest.as_deref().and_then(parse_time),
        w.latest.as_deref().and_then(parse_time),
    ) else {
        return Err(OutOfRange::Outside(
            "this instance has no backup with a recovery point in the bucket".into(),
        ));
    };
    let when = format_time(at);
    if at < earliest || at > latest {
        return Err(OutOfRange::Outside(format!(
            "{when} is outside the recovery window ({} to {})",
            format_time(earliest),
            format_time(latest)
        )));
    }
    let backups = on_window(manifests, instance_id);
    let base = match from {
        Some(id) => backups.iter().find(|(m, _)| m.id == id),
        None => backups.iter().rev().find(|(_, t)| *t <= at),
    };
    let Some((base, base_at)) = base else {
        return Err(OutOfRange::Outside(match from {
            Some(id) => format!("backup {id} has no recovery point on this instance's window"),
            None => format!("no backup of this instance is older than {when}"),
        }));
    };
    if *base_at > at {
        return Err(OutOfRange::Outside(format!(
            "backup {} restores to {}, after {when}",
            base.id,
            format_time(*base_at)
        )));
    }
    if let Some(h) = w.holes.iter().find(|h| {
        parse_time(&h.to).is_some_and(|to| to > *base_at)
            && parse_time(&h.from).is_some_and(|from| from < at)
    }) {
        return Err(OutOfRange::Outside(format!(
            "the WAL from {} to {} was never archived: {when} cannot be reached from backup {}",
            h.from, h.to, base.id
        )));
    }
    let mut sources: Vec<(OffsetDateTime, String)> = backups
        .iter()
        .filter_map(|(m, _)| Some((reach(m)?, m.component("postgres")?.snapshot_id.clone())))
        .collect();
    if let Some(s) = state
        && let (Some(t), Some(id)) = (s.latest.as_deref().and_then(parse_time), &s.snapshot_id)
    {
        sources.push((t, id.clone()));
    }
    let wal_snapshot = sources
        .into_iter()
        .filter(|(t, _)| *t >= at)
        .min_by_key(|(t, _)| *t)
        .map(|(_, id)| id)
        .ok_or_else(|| OutOfRange::Outside(format!("no WAL in the bucket reaches {when}")))?;
    Ok(Choice {
        backup_id: base.id.clone(),
        wal_snapshot,
    })
}
