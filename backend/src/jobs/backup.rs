//! The backup steps: pre-flight, bucket lock, pgBackRest into staging, configuration export,
//! restic into the bucket, catalog entry, retention. The lock is released whatever happens;
//! the catalog entry is written only after the snapshot exists, so a failed or cancelled
//! backup leaves none.

use std::sync::Arc;
use std::time::Instant;

use lifeboat_shared::backup::{BackupManifest, BackupType, Component, SourceInstance};
use lifeboat_shared::operation::{OperationKind, Outcome, Trigger};
use tokio_util::sync::CancellationToken;

use super::bucket::{
    current_target, open_error, open_repo, run_tool, take_lock, tools_present, while_locked,
};
use super::context::JobCtx;
use super::measure::{PgbackrestProgress, exit_text, human};
use super::step::{StepError, StepFailure, failed, step};
use crate::command::Stream;
use crate::operations::clock;
use crate::restic::backup as rb;
use crate::runtime::Instance;
use crate::storage::repository::RepoError;
use crate::storage::usage::{self, Usage};
use crate::storage::{Target, catalog};

/// The steps of a backup, in order.
pub fn backup_steps() -> Vec<lifeboat_shared::operation::Step> {
    super::step::pending_steps(&[
        ("preflight", "Pre-flight checks"),
        ("lock", "Take the bucket lock"),
        ("postgres", "Back up the system Postgres (pgBackRest)"),
        ("configuration", "Export the configuration"),
        ("upload", "Upload to the bucket (restic)"),
        ("apps", "Back up the apps' data (databases, Redis, files)"),
        ("catalog", "Write the catalog entry"),
        ("retention", "Apply retention"),
    ])
}

struct Preflight {
    instance: Arc<dyn Instance>,
    target: Target,
    key_fingerprint: Option<String>,
}

/// Runs the whole backup; `Ok` names the new catalog entry.
pub async fn run(ctx: &JobCtx) -> Result<Outcome, StepFailure> {
    ctx.set_weights(&[("postgres", 0.4), ("upload", 0.4), ("apps", 0.2)]);
    let started_at = clock::now();
    let backup_id = clock::new_id("bk");
    let pre = step(ctx, "preflight", preflight(ctx)).await?;
    let lease = step(
        ctx,
        "lock",
        take_lock(
            ctx,
            &pre.target,
            pre.instance.id(),
            pre.instance.namespace(),
        ),
    )
    .await?;
    while_locked(ctx, lease, async {
        locked(ctx, &pre, &backup_id, &started_at).await?;
        Ok(Outcome::Backup {
            backup_id: backup_id.clone(),
        })
    })
    .await
}

async fn locked(
    ctx: &JobCtx,
    pre: &Preflight,
    backup_id: &str,
    started_at: &str,
) -> Result<(), StepFailure> {
    let (description, trigger, include_apps, asked) = match ctx.kind() {
        Some(OperationKind::Backup {
            description,
            trigger,
            include_apps,
            backup_type,
        }) => (description, trigger, include_apps, backup_type),
        _ => (String::new(), Trigger::Scheduled, true, None),
    };
    let chains = Chains::read(ctx, pre).await;
    let (kind, archive) = backup_kind(ctx, pre, &chains, asked).await;
    let pg = step(ctx, "postgres", postgres(ctx, pre.instance.as_ref(), kind)).await?;
    let config_bytes = step(ctx, "configuration", export_config(pre.instance.as_ref())).await?;
    let before = usage::measure(&pre.target).await.ok();
    let summary = step(ctx, "upload", upload(ctx, pre, backup_id)).await?;
    // Only now that the bucket has the older chain's WAL: the staging lets it go.
    expire(ctx, pre.instance.as_ref()).await;
    let apps = step(
        ctx,
        "apps",
        super::apps::back_up(
            ctx,
            &pre.target,
            pre.instance.as_ref(),
            backup_id,
            include_apps,
        ),
    )
    .await
    .inspect_err(|_| forget_orphan(ctx, pre, &summary.snapshot_id))?;
    let added = added_to_bucket(&pre.target, before, &summary).await
        + apps.iter().map(|a| a.added).sum::<u64>();
    let manifest = BackupManifest {
        id: backup_id.to_owned(),
        started_at: started_at.to_owned(),
        finished_at: clock::now(),
        trigger,
        description,
        source: SourceInstance {
            instance_id: pre.instance.id().to_owned(),
            namespace: pre.instance.namespace().to_owned(),
        },
        platform_version: pre.instance.platform_version(),
        lifeboat_version: env!("CARGO_PKG_VERSION").to_owned(),
        postgres_major: pg.postgres_major.unwrap_or(15),
        components: [
            Component {
                name: "postgres".into(),
                snapshot_id: summary.snapshot_id.clone(),
                pgbackrest_label: Some(pg.label.clone()),
                size_bytes: pg.size_bytes,
                path: Some("pgbackrest".into()),
                method: Some("pgbackrest".into()),
                duration_ms: Some(pg.duration_ms),
            },
            Component {
                name: "configuration".into(),
                snapshot_id: summary.snapshot_id.clone(),
                pgbackrest_label: None,
                size_bytes: config_bytes,
                path: Some("config".into()),
                method: None,
                duration_ms: None,
            },
        ]
        .into_iter()
        .chain(apps.iter().flat_map(|a| a.components.iter().cloned()))
        .collect(),
        bytes_added: added,
        size_bytes: summary.total_bytes_processed + apps.iter().map(|a| a.processed).sum::<u64>(),
        encrypted: pre.target.restic.has_passphrase(),
        key_fingerprint: pre.key_fingerprint.clone(),
        counts: pg.counts,
        backup_type: pg.kind,
        depends_on: pg
            .prior
            .as_deref()
            .and_then(|label| chains.with_label(label)),
        consistent_at: pg.consistent_at.clone(),
        wal_until: pg.wal_until.clone(),
    };
    step(ctx, "catalog", async {
        catalog::put(&pre.target, &manifest)
            .await
            .map(|()| ((), Some(format!("{backup_id} ({} added)", human(added)))))
            .map_err(|e| failed("catalog_write_failed", e.to_string(), None))
    })
    .await
    .inspect_err(|_| {
        forget_orphan(ctx, pre, &summary.snapshot_id);
        for a in &apps {
            forget_orphan(ctx, pre, &a.snapshot_id);
        }
    })?;
    if manifest.backup_type == BackupType::Full {
        hole_closed(ctx, pre, archive).await;
    }
    // The backup exists from here on; retention problems are warnings, not failures.
    if let Err(f) = step(ctx, "retention", retention(ctx, pre)).await {
        ctx.warn(format!("retention was not applied: {}", f.error));
    }
    Ok(())
}

/// What the backup added to the bucket, as the provider bills it: restic's own figure
/// after compression where it has one (`data_added_packed`, restic 0.17 and later), else the
/// bucket's growth across the upload (a listing before and after; the lock keeps other
/// writers out). restic's uncompressed `data_added` only when the bucket cannot be listed.
async fn added_to_bucket(target: &Target, before: Option<Usage>, summary: &rb::Summary) -> u64 {
    if let Some(packed) = summary.data_added_packed {
        return packed;
    }
    match (before, usage::measure(target).await.ok()) {
        (Some(before), Some(after)) => after.stored_bytes.saturating_sub(before.stored_bytes),
        _ => summary.data_added,
    }
}

async fn preflight(ctx: &JobCtx) -> Result<(Preflight, Option<String>), StepError> {
    let instance = ctx.runtime().instances().own().ok_or_else(|| {
        failed(
            "instance_not_ready",
            "the instance is still starting (or failed to start; see the server log)",
            Some("wait a moment and try again"),
        )
    })?;
    if let Some(op) = instance.restoring() {
        return Err(failed(
            "instance_incomplete",
            format!(
                "restore {op} into this instance did not finish: its Postgres is stopped and its data incomplete"
            ),
            Some("run the restore again before backing up"),
        ));
    }
    if !instance.is_running().await {
        return Err(failed(
            "postgres_down",
            "the system Postgres is not running",
            Some(
                "see the Postgres server log; Lifeboat starts a Postgres that stopped again by itself, so try again in a moment",
            ),
        ));
    }
    tools_present(ctx)?;
    let target = current_target(ctx).await?;
    let mut fresh = false;
    let key = match open_repo(ctx, &target).await? {
        Ok(key) => key,
        Err(RepoError::NoRepository) => {
            let init = crate::restic::keys::init(&target.restic);
            let out = run_tool(ctx, init, &mut |_, _| {}).await?;
            if out.exit_code != Some(0) {
                return Err(failed(
                    "bucket_unreachable",
                    format!(
                        "restic cannot create its repository in the bucket: {}",
                        crate::restic::output_tail(&out)
                    ),
                    Some("check the bucket, its credentials and permissions"),
                ));
            }
            fresh = true;
            open_repo(ctx, &target)
                .await?
                .map_err(|e| open_error(&target, e))?
        }
        Err(other) => return Err(open_error(&target, other)),
    };
    let staging = instance.backup_staging();
    let want = staging_needed(instance.as_ref()).await;
    if let Some(avail) = staging.free_bytes().await
        && avail < want
    {
        return Err(failed(
            "disk_space",
            format!(
                "not enough disk space for staging in {}: {} free, {} needed",
                staging.describe(),
                human(avail),
                human(want)
            ),
            Some("free space on the volume holding Lifeboat's data dir"),
        ));
    }
    let detail = if fresh {
        "created the restic repository in the bucket".to_owned()
    } else {
        "bucket reachable, passphrase matches".to_owned()
    };
    Ok((
        Preflight {
            instance,
            target,
            key_fingerprint: key,
        },
        Some(detail),
    ))
}

/// Room for the WAL a backup archives into its staging while it runs (four segments).
const WAL_ROOM: u64 = 64 * 1024 * 1024;

/// About what a backup of `instance` needs free in its staging: its data and a tenth more,
/// and room for the WAL written meanwhile.
async fn staging_needed(instance: &dyn Instance) -> u64 {
    let need = instance.size_bytes().await;
    need + need / 10 + WAL_ROOM
}

/// Whether a failed tool's `words`, or what is left free in the staging, say the staging
/// filled up. WAL is archived into the staging too: when it has no room, pgBackRest does
/// not say `No space left on device` but waits for a segment that never comes (`[082]`).
async fn staging_filled(instance: &dyn Instance, words: &str) -> bool {
    crate::disk::says_full(words)
        || instance
            .backup_staging()
            .free_bytes()
            .await
            .is_some_and(|free| free < WAL_ROOM)
}

/// The staging volume filled up `during` a step: where, what is free, what is needed, and
/// the tool's last error line.
async fn staging_full(instance: &dyn Instance, during: &str, words: &str) -> StepError {
    let staging = instance.backup_staging();
    let free = crate::disk::free_words(staging.free_bytes().await);
    let said = words
        .lines()
        .rev()
        .find(|l| l.contains("ERROR"))
        .map(|l| format!(" ({})", l.trim()))
        .unwrap_or_default();
    failed(
        "disk_full",
        format!(
            "the staging volume {} filled up during {during} ({free}, about {} needed); nothing reached the bucket{said}",
            staging.describe(),
            human(staging_needed(instance).await)
        ),
        Some("free space on that volume (or give Lifeboat a larger one) and run the backup again"),
    )
}

/// This instance's backups in the bucket, for choosing the next one's type and naming
/// what it depends on.
struct Chains {
    /// (catalog id, pgBackRest label, type, started at), newest first.
    backups: Vec<(String, String, BackupType, String)>,
}

impl Chains {
    /// This instance's backups in the catalog (none when it cannot be read: the policy
    /// then takes a full, which depends on nothing).
    async fn read(ctx: &JobCtx, pre: &Preflight) -> Self {
        let manifests = match catalog::list(&pre.target).await {
            Ok(m) => m,
            Err(e) => {
                ctx.log(format!(
                    "the catalog could not be read to choose the backup's type ({e}): a full backup"
                ));
                Vec::new()
            }
        };
        let mut backups: Vec<_> = manifests
            .into_iter()
            .filter(|m| m.source.instance_id == pre.instance.id())
            .filter_map(|m| {
                let label = m.component("postgres")?.pgbackrest_label.clone()?;
                Some((m.id, label, m.backup_type, m.started_at))
            })
            .collect();
        backups.sort_by(|a, b| b.3.cmp(&a.3));
        Self { backups }
    }

    /// The type the policy gives the next backup: a full when this instance has none in
    /// the bucket or its last is older than the policy's days, else the policy's type.
    fn policy_type(&self, policy: lifeboat_shared::config::BackupPolicy) -> BackupType {
        let last_full = self.backups.iter().find(|b| b.2 == BackupType::Full);
        let days = i64::from(policy.full_every_days.max(1));
        let fresh = last_full.is_some_and(|b| {
            time::OffsetDateTime::parse(&b.3, &time::format_description::well_known::Rfc3339)
                .is_ok_and(|t| time::OffsetDateTime::now_utc() - t < time::Duration::days(days))
        });
        if fresh {
            policy.between
        } else {
            BackupType::Full
        }
    }

    /// The catalog id of the backup whose pgBackRest label is `label`.
    fn with_label(&self, label: &str) -> Option<String> {
        self.backups
            .iter()
            .find(|b| b.1 == label)
            .map(|b| b.0.clone())
    }
}

/// What the Postgres step produced.
struct PgResult {
    kind: BackupType,
    prior: Option<String>,
    duration_ms: u64,
    label: String,
    size_bytes: u64,
    postgres_major: Option<u32>,
    counts: std::collections::BTreeMap<String, u64>,
    consistent_at: Option<String>,
    wal_until: Option<String>,
}

/// The type of the next backup: as asked, else a full when WAL was dropped since the last
/// full (a hole in the window; the archive's record is returned), else the policy's.
async fn backup_kind(
    ctx: &JobCtx,
    pre: &Preflight,
    chains: &Chains,
    asked: Option<BackupType>,
) -> (BackupType, Option<crate::wal::ArchiveState>) {
    let archive = crate::wal::read(&pre.target, pre.instance.id())
        .await
        .ok()
        .flatten()
        .filter(|a| a.full_needed);
    let kind = match asked {
        Some(kind) => kind,
        None if archive.is_some() => {
            ctx.log("the recovery window has a hole since the last full backup: a full".into());
            BackupType::Full
        }
        None => chains.policy_type(ctx.config().backup_policy().await),
    };
    (kind, archive)
}

/// A full backup after WAL was dropped: the archive's record no longer asks for one.
async fn hole_closed(ctx: &JobCtx, pre: &Preflight, archive: Option<crate::wal::ArchiveState>) {
    if let Some(mut a) = archive {
        a.full_needed = false;
        if let Err(e) = crate::wal::write(&pre.target, &a).await {
            ctx.warn(format!("the WAL archive's record was not updated: {e}"));
        }
    }
}

/// `pgbackrest expire` in the staging; a failure is a warning (the next backup tries again).
async fn expire(ctx: &JobCtx, instance: &dyn Instance) {
    let cmd = crate::pgbackrest::expire(&instance.pgbackrest_config());
    match run_tool(ctx, cmd, &mut |_, _| {}).await {
        Ok(out) if out.exit_code == Some(0) => {}
        Ok(out) => ctx.warn(format!(
            "pgBackRest could not expire the staging's older backups: {}",
            crate::pgbackrest::output_tail(&out)
        )),
        Err(e) => ctx.warn(format!(
            "pgBackRest could not expire the staging's older backups: {}",
            e
        )),
    }
}

async fn postgres(
    ctx: &JobCtx,
    instance: &dyn Instance,
    kind: BackupType,
) -> Result<(PgResult, Option<String>), StepError> {
    let config = instance.pgbackrest_config();
    let mut tracker = PgbackrestProgress::new(None);
    let mut on_line = |_: Stream, line: &str| {
        if let Some(p) = tracker.line(line) {
            ctx.progress(p);
        }
    };
    let run = instance.postgres_run().await;
    let started = Instant::now();
    let out = run_tool(ctx, crate::pgbackrest::backup(&config, kind), &mut on_line).await?;
    let duration_ms = started.elapsed().as_millis() as u64;
    if out.exit_code != Some(0) {
        let words = out.tail(|_| false);
        if staging_filled(instance, &words).await {
            return Err(staging_full(instance, "the pgBackRest backup", &words).await);
        }
        let now = instance.postgres_run().await;
        if now.is_none() || now != run {
            return Err(failed(
                "postgres_stopped",
                format!(
                    "the system Postgres stopped while pgBackRest was backing it up (pgBackRest: {})",
                    crate::pgbackrest::output_tail(&out)
                ),
                Some(
                    "see the Postgres server log for why it stopped; once it runs again, run the backup again",
                ),
            ));
        }
        return Err(failed(
            "pgbackrest_failed",
            format!(
                "pgBackRest backup failed (exit {}): {}",
                exit_text(out.exit_code),
                crate::pgbackrest::output_tail(&out)
            ),
            Some("check that the system Postgres is running and archiving WAL"),
        ));
    }
    let info = run_tool(ctx, crate::pgbackrest::info(&config), &mut |_, _| {}).await?;
    let backups = crate::pgbackrest::parse_info(&info.stdout_tail.join("\n"))
        .map_err(|e| failed("pgbackrest_failed", e.to_string(), None))?;
    // The newest is this one (pgBackRest lists oldest first): of the type asked, or a full
    // when the repository had nothing to build on.
    let last = backups.into_iter().next_back().ok_or_else(|| {
        failed(
            "pgbackrest_failed",
            "pgBackRest reports no backup after backing up",
            None,
        )
    })?;
    let taken = match last.kind.as_str() {
        "diff" => BackupType::Diff,
        "incr" => BackupType::Incr,
        _ => BackupType::Full,
    };
    if taken != kind {
        ctx.log(format!(
            "pgBackRest took a {} backup where a {} was asked: the staging repository had no backup to build on",
            taken.as_str(),
            kind.as_str()
        ));
    }
    let detail = format!(
        "{} ({}, {})",
        last.label,
        taken.as_str(),
        human(last.size_bytes)
    );
    // Right after the backup, the closest we get to its consistent point; a restore checks
    // the restored database against these.
    let counts = match instance.sql().await.counts().await {
        Ok(c) => c,
        Err(e) => {
            ctx.warn(format!("row counts were not recorded: {e}"));
            Default::default()
        }
    };
    // The WAL's end marked and archived: the snapshot reaches this far for a restore to a
    // moment (without it, only the backup's own point).
    let wal_until = match super::ship::mark(instance).await {
        Ok(at) => Some(at),
        Err(e) => {
            ctx.warn(format!(
                "the WAL after this backup was not marked ({e}): a restore to a moment after it replays from a later shipment"
            ));
            None
        }
    };
    let consistent_at = time::OffsetDateTime::from_unix_timestamp(last.stopped)
        .ok()
        .map(crate::wal::format_time);
    Ok((
        PgResult {
            consistent_at,
            wal_until,
            kind: taken,
            prior: last.prior,
            duration_ms,
            label: last.label,
            size_bytes: last.size_bytes,
            postgres_major: last.postgres_major,
            counts,
        },
        Some(detail),
    ))
}

async fn export_config(instance: &dyn Instance) -> Result<(u64, Option<String>), StepError> {
    let (files, bytes) = match instance.export_config().await {
        Ok(done) => done,
        Err(crate::runtime::InstanceError::Io { source, .. }) if crate::disk::is_full(&source) => {
            return Err(staging_full(instance, "the configuration's export", "").await);
        }
        Err(e) => return Err(failed("config_export_failed", e.to_string(), None)),
    };
    Ok((bytes, Some(format!("{files} files ({})", human(bytes)))))
}

async fn upload(
    ctx: &JobCtx,
    pre: &Preflight,
    backup_id: &str,
) -> Result<(rb::Summary, Option<String>), StepError> {
    let summary = super::snapshot::snapshot(
        ctx,
        &pre.target,
        pre.instance.as_ref(),
        backup_id,
        pre.instance.backup_staging().place(),
        &["pgbackrest", "config"],
    )
    .await?;
    let detail = format!(
        "snapshot {} ({} processed, {} added)",
        summary.snapshot_id,
        human(summary.total_bytes_processed),
        human(summary.data_added)
    );
    Ok((summary, Some(detail)))
}

/// Runs one `restic forget` of the retention step; one that fails is `retention_failed`.
async fn forget(
    ctx: &JobCtx,
    cmd: crate::command::ToolCommand,
) -> Result<crate::command::ToolOutput, StepError> {
    let out = run_tool(ctx, cmd, &mut |_, _| {}).await?;
    if out.exit_code != Some(0) {
        return Err(failed(
            "retention_failed",
            format!("restic forget failed: {}", crate::restic::output_tail(&out)),
            None,
        ));
    }
    Ok(out)
}

async fn retention(ctx: &JobCtx, pre: &Preflight) -> Result<((), Option<String>), StepError> {
    let policy = ctx.config().retention().await;
    let host = super::snapshot::host_name(pre.instance.namespace());
    let Some(plan) = rb::forget_command(&pre.target.restic, &policy, &host, "lifeboat") else {
        return Ok(((), Some("no retention policy: every backup is kept".into())));
    };
    let retention_failed =
        |e: &dyn std::fmt::Display| failed("retention_failed", e.to_string(), None);
    let out = forget(ctx, plan).await?;
    let planned =
        rb::parse_forget_plan(&out.stdout_tail.join("\n")).map_err(|e| retention_failed(&e))?;
    let manifests = catalog::list(&pre.target)
        .await
        .map_err(|e| retention_failed(&e))?;
    let listed: Vec<Listed<'_>> = manifests
        .iter()
        .map(|m| {
            (
                m.id.as_str(),
                m.components.as_slice(),
                m.depends_on.as_deref(),
            )
        })
        .collect();
    let (leaving, going) = whole_backups(&listed, &planned);
    let leaving: Vec<String> = leaving.into_iter().map(str::to_owned).collect();
    // The catalog entries go first, then their snapshots: a listing in between never finds
    // an entry whose data is gone (a crash in between leaves a snapshot without an entry,
    // which the next retention removes).
    let mut removed = 0;
    for id in &leaving {
        catalog::delete(&pre.target, id)
            .await
            .map_err(|e| retention_failed(&e))?;
        removed += 1;
    }
    if !going.is_empty() {
        forget(ctx, rb::forget_ids_command(&pre.target.restic, &going)).await?;
    }
    // Entries whose snapshots went some other way (by hand, or an earlier crash).
    let snaps_out = run_tool(
        ctx,
        rb::snapshots_command(&pre.target.restic, Some("lifeboat")),
        &mut |_, _| {},
    )
    .await?;
    let snapshots =
        rb::parse_snapshots(&snaps_out.stdout_tail.join("\n")).map_err(|e| retention_failed(&e))?;
    for m in manifests {
        let gone = m
            .components
            .iter()
            .all(|c| !snapshots.iter().any(|s| s.matches(&c.snapshot_id)));
        let already = leaving.contains(&m.id);
        if gone && !already {
            catalog::delete(&pre.target, &m.id)
                .await
                .map_err(|e| retention_failed(&e))?;
            removed += 1;
        }
    }
    Ok(((), Some(format!("{removed} old backups removed"))))
}

/// A catalog entry as retention sees it: its id, its components, the backup it depends on.
type Listed<'m> = (&'m str, &'m [Component], Option<&'m str>);

/// What a retention plan (the snapshots `restic forget --dry-run` would remove) means for
/// whole backups: a backup goes when its system snapshot does (every backup has one, and
/// restic groups the apps' snapshots apart: a backup without apps' data, or an app added
/// later, would otherwise split a backup, leaving an entry whose system snapshot is gone),
/// and then every snapshot of it goes; an apps' snapshot in the plan whose backup stays,
/// stays. A backup that a kept one depends on (a differential's full, an incremental's
/// previous backup), however far down the chain, stays. Snapshots no entry names (a
/// crash's leftovers) go as planned. Returns the backups that go (by id) and every
/// snapshot to forget.
fn whole_backups<'m>(backups: &[Listed<'m>], planned: &[String]) -> (Vec<&'m str>, Vec<String>) {
    let matches = |id: &str, snapshot: &str| !snapshot.is_empty() && id.starts_with(snapshot);
    let in_plan = |snapshot: &str| planned.iter().any(|id| matches(id, snapshot));
    let planned_to_go = |components: &[Component]| match components
        .iter()
        .find(|c| crate::runtime::AppPart::parse(&c.name).is_none())
    {
        Some(c) => in_plan(&c.snapshot_id),
        None => !components.is_empty() && components.iter().all(|c| in_plan(&c.snapshot_id)),
    };
    let mut goes: std::collections::BTreeSet<&str> = backups
        .iter()
        .filter(|(_, components, _)| planned_to_go(components))
        .map(|(id, _, _)| *id)
        .collect();
    // What the kept backups need stays, down every chain.
    let mut needed: Vec<&str> = backups
        .iter()
        .filter(|(id, _, _)| !goes.contains(id))
        .filter_map(|(_, _, on)| *on)
        .collect();
    while let Some(id) = needed.pop() {
        if goes.remove(id) {
            needed.extend(backups.iter().filter(|b| b.0 == id).filter_map(|b| b.2));
        }
    }
    let mut leaving = Vec::new();
    let mut going: Vec<String> = Vec::new();
    for &(id, components, _) in backups {
        if goes.contains(id) {
            leaving.push(id);
            for c in components {
                let full = planned
                    .iter()
                    .find(|p| matches(p, &c.snapshot_id))
                    .cloned()
                    .unwrap_or_else(|| c.snapshot_id.clone());
                if !full.is_empty() && !going.contains(&full) {
                    going.push(full);
                }
            }
        }
    }
    for id in planned {
        let named = backups
            .iter()
            .any(|(_, components, _)| components.iter().any(|c| matches(id, &c.snapshot_id)));
        if !named && !going.contains(id) {
            going.push(id.clone());
        }
    }
    (leaving, going)
}

/// A snapshot with no catalog entry (cancelled or failed between upload and catalog) would
/// count against retention's `keep-*` rules: forget it, best effort, in the background.
fn forget_orphan(ctx: &JobCtx, pre: &Preflight, snapshot: &str) {
    let cmd = crate::restic::command(&pre.target.restic, ["forget", snapshot]);
    let runtime = ctx.runtime().clone();
    let snapshot = snapshot.to_owned();
    tokio::spawn(async move {
        match runtime
            .run(cmd, CancellationToken::new(), &mut |_, _| {})
            .await
        {
            Ok(out) if out.exit_code == Some(0) => {
                tracing::info!(%snapshot, "forgot a snapshot that has no catalog entry");
            }
            _ => tracing::warn!(%snapshot, "cannot forget a snapshot that has no catalog entry"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(parts: &[(&str, &str)]) -> Vec<Component> {
        parts
            .iter()
            .map(|(name, snap)| Component {
                name: (*name).into(),
                snapshot_id: (*snap).into(),
                pgbackrest_label: None,
                size_bytes: 0,
                path: None,
                method: None,
                duration_ms: None,
            })
            .collect()
    }

    #[test]
    fn backups_go_whole_by_their_system_snapshot() {
        let old = parts(&[("postgres", "aaaa"), ("app/app-001/files", "bbbb")]);
        let new = parts(&[("postgres", "cccc")]);
        let kept = parts(&[("postgres", "dddd"), ("app/app-001/files", "eeee")]);
        let all = [
            ("b1", old.as_slice(), None),
            ("b2", new.as_slice(), None),
            ("b3", kept.as_slice(), None),
        ];
        // The system group drops b1's; the apps' group, alone, would drop b3's apps'.
        let planned = vec![
            "aaaa1111".to_owned(),
            "eeee2222".to_owned(),
            "ffff3333".to_owned(),
        ];
        let (leaving, going) = whole_backups(&all, &planned);
        assert_eq!(leaving, ["b1"]);
        // b1's both snapshots; b3's apps' one stays with b3; the orphan goes.
        assert_eq!(going, ["aaaa1111", "bbbb", "ffff3333"]);
    }

    #[test]
    fn a_backup_a_kept_one_depends_on_stays() {
        let full = parts(&[("postgres", "aaaa")]);
        let incr1 = parts(&[("postgres", "bbbb")]);
        let incr2 = parts(&[("postgres", "cccc")]);
        let lone = parts(&[("postgres", "dddd")]);
        let all = [
            ("full", full.as_slice(), None),
            ("incr1", incr1.as_slice(), Some("full")),
            ("incr2", incr2.as_slice(), Some("incr1")),
            ("lone", lone.as_slice(), None),
        ];
        // The policy would drop all but the newest: incr2 needs incr1, which needs full.
        let planned = vec!["aaaa1".to_owned(), "bbbb1".to_owned(), "dddd1".to_owned()];
        let (leaving, going) = whole_backups(&all, &planned);
        assert_eq!(leaving, ["lone"]);
        assert_eq!(going, ["dddd1"]);
    }
}
