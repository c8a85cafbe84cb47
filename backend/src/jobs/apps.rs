//! Apps' own data in backups and restores: each app's managed Postgres (`pg_dump -Fc`), its
//! managed Redis (a point-in-time RDB), its persistent files and each workspace's, read by
//! restic where they live. The instance stages and restores each part
//! ([`Instance::stage_app_part`], [`Instance::restore_app_part`]); this module decides what
//! goes, measures it, and names every part that could not be taken, as a warning, so a
//! backup is never silently smaller.

use std::time::Instant;

use lifeboat_shared::backup::{BackupManifest, Component};

use super::context::JobCtx;
use super::measure::human;
use super::step::{StepError, failed};
use crate::command::Place;
use crate::runtime::apps::parts;
use crate::runtime::{AppPart, AppSource, Beside, Instance, InstanceError};
use crate::storage::Target;

/// What the apps' data step of a backup added: one restic snapshot and its components.
#[derive(Debug, Clone)]
pub struct AppsBackedUp {
    /// The snapshot holding them.
    pub snapshot_id: String,
    /// One per part taken.
    pub components: Vec<Component>,
    /// Bytes the snapshot added to the bucket (restic's figure).
    pub added: u64,
    /// Bytes restic read.
    pub processed: u64,
}

/// The backup step: every part staged, then one snapshot of the instance's app-data place;
/// files that live on claims of their own are each snapshotted beside their claim.
pub async fn back_up(
    ctx: &JobCtx,
    target: &Target,
    instance: &dyn Instance,
    backup_id: &str,
    include: bool,
) -> Result<(Vec<AppsBackedUp>, Option<String>), StepError> {
    if !include {
        return Ok((
            Vec::new(),
            Some("left out, as asked (include_apps: false)".into()),
        ));
    }
    let (apps, workspaces) = match instance.app_data().await {
        Ok(listed) => listed,
        Err(e) => {
            ctx.warn(format!(
                "the apps' data was not backed up: App Manager's record of it could not be read ({e})"
            ));
            return Ok((Vec::new(), Some("not backed up (see the warnings)".into())));
        }
    };
    let all = parts(&apps, &workspaces);
    if all.is_empty() {
        return Ok((Vec::new(), Some("no app has data of its own".into())));
    }
    let (here, beside) = sort_out(ctx, instance, all).await;
    let mut done = Vec::new();
    let mut details = Vec::new();
    if !here.is_empty() {
        let staged = stage_all(ctx, instance, &here).await;
        let result = upload(ctx, target, instance, backup_id, staged).await;
        if let Err(e) = instance.clear_app_staging().await {
            ctx.warn(format!("the apps' staged dumps were not removed: {e}"));
        }
        if let Some((up, detail)) = result? {
            done.push(up);
            details.push(detail);
        }
    }
    if !beside.is_empty() {
        let n = beside.len();
        let taken = snapshot_beside(ctx, target, instance, backup_id, beside).await?;
        details.push(format!(
            "{} of {n} claims each in a snapshot of its own, read beside the claim",
            taken.len()
        ));
        done.extend(taken);
    }
    Ok((done, Some(details.join("; "))))
}

/// The parts read here (staged, or read below the app-data place) and those read beside
/// their claims; a claim never used is said in the log, not backed up.
async fn sort_out(
    ctx: &JobCtx,
    instance: &dyn Instance,
    all: Vec<AppPart>,
) -> (Vec<AppPart>, Vec<(AppPart, String)>) {
    let mut here = Vec::new();
    let mut beside = Vec::new();
    for part in all {
        if part.kind != crate::runtime::PartKind::Files {
            here.push(part);
            continue;
        }
        match instance.read_beside(&part).await {
            Ok(Beside::No) => here.push(part),
            Ok(Beside::Claim(claim)) => beside.push((part, claim)),
            Ok(Beside::NeverUsed(claim)) => ctx.log(format!(
                "{}: claim {claim} was never used (no pod ever mounted it): nothing to back up",
                part.component()
            )),
            Err(e) => ctx.warn(format!(
                "{} was not backed up ({}): {e}",
                part.component(),
                part.describe()
            )),
        }
    }
    (here, beside)
}

/// A snapshot per claim, each taken by `restic backup` beside it, [`Runtime::app_jobs`] at
/// a time; one that fails is a warning naming it.
///
/// [`Runtime::app_jobs`]: crate::runtime::Runtime::app_jobs
async fn snapshot_beside(
    ctx: &JobCtx,
    target: &Target,
    instance: &dyn Instance,
    backup_id: &str,
    beside: Vec<(AppPart, String)>,
) -> Result<Vec<AppsBackedUp>, StepError> {
    use futures::StreamExt as _;
    let limit = ctx.runtime().app_jobs().max(1);
    type Ran = (
        super::snapshot::Watch,
        crate::command::ToolOutput,
        Option<String>,
        u64,
    );
    let results: Vec<(AppPart, String, Result<Ran, InstanceError>)> = futures::stream::iter(beside)
        .map(|(part, claim)| async move {
            ctx.step_detail(
                "apps",
                format!("taking {} beside claim {claim}", part.describe()),
            );
            let path = part.path();
            let cmd = super::snapshot::command(target, instance, backup_id, &[&path]);
            let started = Instant::now();
            let mut watch = super::snapshot::Watch::default();
            let r = instance
                .run_beside(
                    &part,
                    &claim,
                    cmd,
                    None,
                    ctx.cancel.clone(),
                    &mut |_, line| {
                        watch.line(line);
                    },
                )
                .await
                .map(|(out, node)| (watch, out, node, started.elapsed().as_millis() as u64));
            (part, claim, r)
        })
        .buffer_unordered(limit)
        .collect()
        .await;
    if ctx.cancel.is_cancelled() {
        return Err(StepError::Cancelled);
    }
    let mut taken = Vec::new();
    for (part, claim, r) in results {
        let summary = match r {
            Ok((watch, out, node, millis)) => {
                ctx.log(format!(
                    "{}: read beside claim {claim} by a Job on node {}",
                    part.component(),
                    node.as_deref().unwrap_or("(unknown)")
                ));
                watch.finish(ctx, &out).map(|s| (s, millis))
            }
            Err(e) => Err(failed("restic_failed", e.to_string(), None)),
        };
        match summary {
            Ok((summary, millis)) => taken.push(AppsBackedUp {
                snapshot_id: summary.snapshot_id.clone(),
                components: vec![Component {
                    name: part.component(),
                    snapshot_id: summary.snapshot_id.clone(),
                    pgbackrest_label: None,
                    size_bytes: summary.total_bytes_processed,
                    path: Some(part.path()),
                    method: Some(format!("{}, beside its claim", part.method())),
                    duration_ms: Some(millis),
                }],
                added: summary.data_added_packed.unwrap_or(summary.data_added),
                processed: summary.total_bytes_processed,
            }),
            Err(e) => ctx.warn(format!(
                "{} was not backed up ({}): {}",
                part.component(),
                part.describe(),
                e
            )),
        }
    }
    taken.sort_by(|a, b| a.components[0].name.cmp(&b.components[0].name));
    Ok(taken)
}

/// A part staged: its bytes and how long it took.
struct Staged {
    part: AppPart,
    bytes: u64,
    millis: u64,
}

/// A part's bytes and milliseconds, or why it could not be taken.
type TakeResult = Result<(u64, u64), InstanceError>;

/// Stages each part, [`Runtime::app_jobs`] at a time; one that fails is a warning naming
/// it.
///
/// [`Runtime::app_jobs`]: crate::runtime::Runtime::app_jobs
async fn stage_all(ctx: &JobCtx, instance: &dyn Instance, all: &[AppPart]) -> Vec<Staged> {
    use futures::StreamExt as _;
    if let Err(e) = instance.clear_app_staging().await {
        ctx.warn(format!("the apps' staging could not be emptied: {e}"));
    }
    let results: Vec<(AppPart, TakeResult)> = futures::stream::iter(all.iter().cloned())
        .map(|part| async move {
            ctx.step_detail("apps", format!("taking {}", part.describe()));
            let started = Instant::now();
            let r = instance
                .stage_app_part(&part, ctx.cancel.clone())
                .await
                .map(|bytes| (bytes, started.elapsed().as_millis() as u64));
            (part, r)
        })
        .buffered(ctx.runtime().app_jobs().max(1))
        .collect()
        .await;
    let mut staged = Vec::new();
    for (part, r) in results {
        match r {
            Ok((bytes, millis)) => staged.push(Staged {
                part,
                bytes,
                millis,
            }),
            Err(e) => ctx.warn(format!(
                "{} was not backed up ({}): {e}",
                part.component(),
                part.describe()
            )),
        }
    }
    staged
}

/// One snapshot of what was staged (and of the files read where they are); `None` when
/// nothing was.
async fn upload(
    ctx: &JobCtx,
    target: &Target,
    instance: &dyn Instance,
    backup_id: &str,
    staged: Vec<Staged>,
) -> Result<Option<(AppsBackedUp, String)>, StepError> {
    use crate::runtime::PartKind;
    let mut paths = Vec::new();
    if staged.iter().any(|s| s.part.kind == PartKind::Files) {
        paths.push("files");
    }
    if staged.iter().any(|s| s.part.kind != PartKind::Files) {
        paths.push("dumps");
    }
    if paths.is_empty() {
        return Ok(None);
    }
    let started = Instant::now();
    let summary = super::snapshot::snapshot(
        ctx,
        target,
        instance,
        backup_id,
        instance.app_data_place(),
        &paths,
    )
    .await?;
    let upload_ms = started.elapsed().as_millis() as u64;
    let taken = staged.len();
    let components = staged
        .into_iter()
        .map(|s| Component {
            name: s.part.component(),
            snapshot_id: summary.snapshot_id.clone(),
            pgbackrest_label: None,
            size_bytes: s.bytes,
            path: Some(s.part.path()),
            method: Some(s.part.method().to_owned()),
            // Files are read by the upload itself.
            duration_ms: Some(if s.part.kind == PartKind::Files {
                upload_ms
            } else {
                s.millis
            }),
        })
        .collect();
    let detail = format!(
        "{taken} parts in snapshot {} ({} processed, {} added)",
        summary.snapshot_id,
        human(summary.total_bytes_processed),
        human(summary.data_added)
    );
    Ok(Some((
        AppsBackedUp {
            snapshot_id: summary.snapshot_id,
            components,
            added: summary.data_added_packed.unwrap_or(summary.data_added),
            processed: summary.total_bytes_processed,
        },
        detail,
    )))
}

/// The parts of `manifest` a restore brings back: every app's and workspace's, or only
/// the named apps' (a name the backup holds nothing of is the caller's to refuse first).
pub fn selected(manifest: &BackupManifest, apps: Option<&[String]>) -> Vec<(AppPart, Component)> {
    manifest
        .components
        .iter()
        .filter_map(|c| Some((AppPart::parse(&c.name)?, c.clone())))
        .filter(|(p, _)| match apps {
            None => true,
            Some(names) => p.app_name().is_some_and(|a| names.iter().any(|n| n == a)),
        })
        .collect()
}

/// The names in `asked` that `manifest` holds no data of.
pub fn unknown<'a>(manifest: &BackupManifest, asked: &'a [String]) -> Vec<&'a str> {
    let known = manifest.apps();
    asked
        .iter()
        .map(String::as_str)
        .filter(|a| !known.contains(a))
        .collect()
}

/// The restore step: each part from `from` (or, where the runtime restores it beside where
/// it lives, from the bucket), one after the other; returns what came back.
pub async fn restore(
    ctx: &JobCtx,
    target: &Target,
    instance: &dyn Instance,
    chosen: &[(AppPart, Component)],
    from: &Place,
) -> Result<(Vec<AppPart>, Option<String>), StepError> {
    if chosen.is_empty() {
        return Ok((Vec::new(), Some("the backup holds no apps' data".into())));
    }
    let mut done = Vec::new();
    for (i, (part, component)) in chosen.iter().enumerate() {
        ctx.step_detail(
            "apps",
            format!(
                "{} ({} of {}): restoring {}",
                part.describe(),
                i + 1,
                chosen.len(),
                human(component.size_bytes)
            ),
        );
        let snapshot = component.snapshot_id.clone();
        let include = format!("--include=/{}", part.path());
        let restic_restore = |into: &str| {
            crate::restic::command(
                &target.restic,
                [
                    "restore",
                    snapshot.as_str(),
                    "--target",
                    into,
                    include.as_str(),
                ],
            )
        };
        let source = AppSource {
            fetched: from,
            restic_restore: &restic_restore,
        };
        let words = match instance
            .restore_app_part(part, &source, ctx.cancel.clone())
            .await
        {
            Ok(words) => words,
            // A runtime that cannot restore a part (or finds no app for it) restores the
            // rest and says so.
            Err(e @ (InstanceError::NotHere(_) | InstanceError::NoSuchApp(_))) => {
                ctx.warn(format!("{} was not restored: {e}", part.component()));
                continue;
            }
            Err(InstanceError::Runtime(crate::runtime::RuntimeError::Cancelled(_))) => {
                return Err(StepError::Cancelled);
            }
            Err(e) => {
                return Err(failed(
                    "app_restore_failed",
                    format!("{} could not be restored: {e}", part.describe()),
                    Some("see the run log; run the restore again once the cause is fixed"),
                ));
            }
        };
        ctx.log(format!("{}: {words}", part.component()));
        done.push(part.clone());
    }
    let apps = done
        .iter()
        .filter_map(AppPart::app_name)
        .collect::<std::collections::BTreeSet<_>>();
    let workspaces = done.iter().filter(|p| p.app_name().is_none()).count();
    Ok((
        done.clone(),
        Some(format!(
            "{} parts: {} apps, {workspaces} workspaces' files",
            done.len(),
            apps.len()
        )),
    ))
}
