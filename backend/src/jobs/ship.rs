//! WAL shipped into the bucket between operations, every `--wal-ship-seconds` (60 by
//! default): the WAL's end marked and archived, a restic snapshot of the staging's archive
//! (deduplicated: only the segments archived since the last one are new), the archive's
//! record in the bucket updated, older shipments of the instance forgotten. A shipment
//! never runs beside a backup or restore (they share [`JobDeps::quiet`]); a backup ships
//! its own WAL in its snapshot.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::deps::JobDeps;
use crate::restic::backup as rb;
use crate::runtime::{Instance, InstanceError};
use crate::wal::{self, ArchiveState, WAL_TAG};

/// How long a mark waits for its segment to be archived.
const ARCHIVE_WAIT: Duration = Duration::from_secs(30);

/// Why a shipment did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// Postgres could not mark its WAL's end.
    #[error("the system Postgres: {0}")]
    Instance(#[from] InstanceError),
    /// The segment holding the mark was not archived in time.
    #[error("WAL segment {segment} was not archived within {} s{}", ARCHIVE_WAIT.as_secs(), .failing.as_deref().map(|f| format!(" (archiving fails: {f})")).unwrap_or_default())]
    NotArchived {
        /// The segment.
        segment: String,
        /// The last failure Postgres reports, if newer than its last success.
        failing: Option<String>,
    },
    /// restic could not take the snapshot.
    #[error("restic: {0}")]
    Restic(String),
    /// The bucket or its record.
    #[error("{0}")]
    Record(#[from] wal::WalError),
    /// No bucket configured.
    #[error("storage: {0}")]
    Storage(String),
}

/// Marks the WAL's end and waits until the segment holding the mark is archived; returns
/// the mark's time (RFC 3339).
pub async fn mark(instance: &dyn Instance) -> Result<String, ShipError> {
    let sql = instance.sql().await;
    let (at, segment) = sql.mark_wal_end().await?;
    let deadline = tokio::time::Instant::now() + ARCHIVE_WAIT;
    loop {
        let (done, failing) = sql.archived(&segment).await?;
        if done {
            return Ok(at);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ShipError::NotArchived { segment, failing });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ships WAL every `every` until Lifeboat stops (never when `every` is zero).
pub fn spawn(jobs: &Arc<JobDeps>, every: Duration) {
    if every.is_zero() {
        return;
    }
    let jobs = jobs.clone();
    tokio::spawn(async move {
        let stop = jobs.shutdown_token().clone();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            // Between operations only; the next tick tries again.
            let Ok(_quiet) = jobs.quiet().try_lock() else {
                continue;
            };
            match ship(&jobs, &stop).await {
                Ok(Some(s)) => {
                    tracing::debug!(latest = %s.latest.as_deref().unwrap_or(""), "WAL shipped")
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "WAL was not shipped"),
            }
        }
    });
}

/// One shipment; `None` when there is nothing to ship from (no running instance, no
/// bucket yet).
pub async fn ship(
    deps: &JobDeps,
    cancel: &CancellationToken,
) -> Result<Option<ArchiveState>, ShipError> {
    let Some(instance) = deps.runtime().instances().own() else {
        return Ok(None);
    };
    if instance.restoring().is_some() || !instance.is_running().await {
        return Ok(None);
    }
    let target = deps
        .config()
        .current_target()
        .await
        .map_err(|e| ShipError::Storage(e.to_string()))?;
    let mut state = wal::read(&target, instance.id()).await?.unwrap_or_default();
    state.instance_id = instance.id().to_owned();
    state.namespace = instance.namespace().to_owned();
    match shipment(deps, instance.as_ref(), &target, cancel).await {
        Ok((at, snapshot)) => {
            state.latest = Some(at);
            state.snapshot_id = Some(snapshot);
            state.last_error = None;
        }
        Err(e) => {
            state.last_error = Some(e.to_string());
            wal::write(&target, &state).await?;
            return Err(e);
        }
    }
    let new_holes = holes(instance.as_ref(), &mut state).await;
    if new_holes {
        state.full_needed = true;
    }
    wal::write(&target, &state).await?;
    forget_older(deps, &target, instance.as_ref(), cancel).await;
    Ok(Some(state))
}

/// The mark and the snapshot: (the mark's time, the snapshot's id).
async fn shipment(
    deps: &JobDeps,
    instance: &dyn Instance,
    target: &crate::storage::Target,
    cancel: &CancellationToken,
) -> Result<(String, String), ShipError> {
    let at = mark(instance).await?;
    let args = vec![
        "backup".to_owned(),
        "--json".into(),
        format!(
            "--host={}",
            super::snapshot::host_name(instance.namespace())
        ),
        format!("--tag={WAL_TAG}"),
        format!("--tag=instance={}", instance.id()),
        format!("--tag=namespace={}", instance.namespace()),
        // pgBackRest writes a segment under a temporary name, then renames it.
        "--exclude=*.tmp".into(),
        "--".into(),
        "pgbackrest/archive".into(),
    ];
    let mut cmd = crate::restic::command(&target.restic, args);
    cmd.cwd = Some(instance.backup_staging().place());
    let mut summary = None;
    let out = deps
        .runtime()
        .run(cmd, cancel.child_token(), &mut |_, line| {
            if let rb::BackupMessage::Summary(s) = rb::parse_backup_line(line) {
                summary = Some(s);
            }
        })
        .await
        .map_err(|e| ShipError::Restic(e.to_string()))?;
    match (crate::restic::Exit::of(&out), summary) {
        (crate::restic::Exit::Ok, Some(s)) => Ok((at, s.snapshot_id)),
        _ => Err(ShipError::Restic(crate::restic::output_tail(&out))),
    }
}

/// Adds the gaps in the staging's archive to the record's holes; whether any was new.
async fn holes(instance: &dyn Instance, state: &mut ArchiveState) -> bool {
    let segments = instance.backup_staging().wal_segments().await;
    let mut added = false;
    for gap in crate::runtime::host::segments::gaps(&segments) {
        let at = |secs: i64| {
            time::OffsetDateTime::from_unix_timestamp(secs)
                .map(wal::format_time)
                .unwrap_or_default()
        };
        let hole = lifeboat_shared::recovery::Hole {
            from: at(gap.from),
            to: at(gap.to),
        };
        if !state.holes.contains(&hole) {
            state.holes.push(hole);
            added = true;
        }
    }
    added
}

/// Forgets the instance's older shipments: the newest holds every segment they held
/// (the staging's archive only grows between backups, and a backup's own snapshot holds
/// what it had before pgBackRest's expire). A failure is logged: the next one tries again.
async fn forget_older(
    deps: &JobDeps,
    target: &crate::storage::Target,
    instance: &dyn Instance,
    cancel: &CancellationToken,
) {
    let cmd = crate::restic::command(
        &target.restic,
        [
            "forget".to_owned(),
            format!("--tag={WAL_TAG},instance={}", instance.id()),
            "--group-by=host,tags".into(),
            "--keep-last=1".into(),
        ],
    );
    match deps
        .runtime()
        .run(cmd, cancel.child_token(), &mut |_, _| {})
        .await
    {
        Ok(out) if out.exit_code == Some(0) => {}
        Ok(out) => {
            tracing::warn!(error = %crate::restic::output_tail(&out), "older WAL shipments were not forgotten")
        }
        Err(e) => tracing::warn!(error = %e, "older WAL shipments were not forgotten"),
    }
}
