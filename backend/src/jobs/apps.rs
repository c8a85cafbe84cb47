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
use crate::runtime::{AppPart, Instance, InstanceError};
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

/// The backup step: every part staged, then one snapshot of the instance's app-data place.
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
    let staged = stage_all(ctx, instance, &all).await;
    let result = upload(ctx, target, instance, backup_id, staged).await;
    if let Err(e) = instance.clear_app_staging().await {
        ctx.warn(format!("the apps' staged dumps were not removed: {e}"));
    }
    let (done, detail) = result?;
    Ok((vec![done], Some(detail)))
}

/// A part staged: its bytes and how long it took.
struct Staged {
    part: AppPart,
    bytes: u64,
    millis: u64,
}

/// A part's bytes and milliseconds, or why it could not be taken.
type TakeResult = Result<(u64, u64), InstanceError>;

/// Stages each part, two at a time; one that fails is a warning naming it.
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
        .buffered(2)
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

async fn upload(
    ctx: &JobCtx,
    target: &Target,
    instance: &dyn Instance,
    backup_id: &str,
    staged: Vec<Staged>,
) -> Result<(AppsBackedUp, String), StepError> {
    let started = Instant::now();
    let summary = super::snapshot::snapshot(
        ctx,
        target,
        instance,
        backup_id,
        instance.app_data_place(),
        &["files", "dumps"],
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
            duration_ms: Some(if s.part.kind == crate::runtime::PartKind::Files {
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
    Ok((
        AppsBackedUp {
            snapshot_id: summary.snapshot_id,
            components,
            added: summary.data_added_packed.unwrap_or(summary.data_added),
            processed: summary.total_bytes_processed,
        },
        detail,
    ))
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

/// The restore step: each part from `from`, one after the other; returns what came back.
pub async fn restore(
    ctx: &JobCtx,
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
        let words = match instance
            .restore_app_part(part, from, ctx.cancel.clone())
            .await
        {
            Ok(words) => words,
            // A runtime that cannot restore apps' data yet restores the rest and says so.
            Err(e @ InstanceError::NotHere(_)) => {
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
