//! Fetching a backup's snapshot from the bucket into the restore's staging folder.
//!
//! restic 0.14 prints no restore progress, so the step measures it: the bytes written
//! under the staging folder, twice a second, against the backup's size from its manifest.

use std::time::{Duration, Instant};

use lifeboat_shared::operation::Progress;
use tokio_util::sync::CancellationToken;

use super::preflight::Plan;
use crate::command::Place;
use crate::jobs::bucket::{open_error, run_tool};
use crate::jobs::context::JobCtx;
use crate::jobs::measure::{exit_text, human, rate_and_eta};
use crate::jobs::step::{StepError, failed};
use crate::restic::backup as rb;
use crate::restic::{OpenFailure, open_failure};
use crate::storage::repository::RepoError;

/// How often the staging folder is measured.
const POLL: Duration = Duration::from_millis(500);

pub(super) async fn fetch(ctx: &JobCtx, plan: &Plan) -> Result<((), Option<String>), StepError> {
    let staging = plan.staging.clone();
    staging
        .reset()
        .await
        .map_err(|e| failed("fetch_failed", e.to_string(), None))?;
    let total = plan.manifest.size_bytes;
    let started = Instant::now();
    let finished = CancellationToken::new();
    let poll = async {
        loop {
            tokio::select! {
                () = finished.cancelled() => break,
                () = tokio::time::sleep(POLL) => {
                    let done = staging.size().await;
                    ctx.progress(rate_and_eta(
                        Progress {
                            bytes_done: done.min(total),
                            bytes_total: Some(total),
                            ..Progress::default()
                        },
                        started,
                    ));
                }
            }
        }
    };
    let cmd = rb::restore_command(&plan.target.restic, &plan.snapshot, staging.place());
    let run = async {
        let out = run_tool(ctx, cmd, &mut |_, _| {}).await;
        finished.cancel();
        out
    };
    let (out, ()) = tokio::join!(run, poll);
    let out = out?;
    if out.exit_code != Some(0) {
        return Err(why_not_fetched(plan, &out).await);
    }
    // To a moment past what the backup's own WAL reaches: the archive of the snapshot that
    // reaches it is laid over the backup's (the same segments, and those after).
    if let Some(wal) = plan
        .to_moment
        .as_ref()
        .and_then(|m| m.wal_snapshot.as_deref())
        .filter(|w| *w != plan.snapshot)
    {
        let mut cmd = rb::restore_command(&plan.target.restic, wal, staging.place());
        cmd.args
            .push("--include=/pgbackrest/archive".to_owned().into());
        let out = run_tool(ctx, cmd, &mut |_, _| {}).await?;
        if out.exit_code != Some(0) {
            return Err(why_not_fetched(plan, &out).await);
        }
        ctx.log(format!("the WAL of snapshot {wal} laid over the backup's"));
    }
    let info = format!(
        "pgbackrest/backup/{}/backup.info",
        crate::pgbackrest::STANZA
    );
    let text = staging.read(&info).await.ok_or_else(|| {
        failed(
            "backup_incomplete",
            "the fetched backup holds no pgBackRest backup of the system Postgres",
            Some("choose another backup"),
        )
    })?;
    if let (Some(backup), Some(local)) = (
        crate::pgbackrest::info::db_version_major(&text),
        ctx.runtime().postgres_major(),
    ) && backup != local
    {
        return Err(super::preflight::version_mismatch(backup, local));
    }
    if !staging.has_dir("config").await {
        return Err(failed(
            "backup_incomplete",
            "the fetched backup holds no configuration",
            Some("choose another backup"),
        ));
    }
    let bytes = staging.size().await;
    ctx.progress(Progress {
        bytes_done: bytes.min(total).max(total),
        bytes_total: Some(total),
        ..Progress::default()
    });
    let secs = started.elapsed().as_secs_f64();
    Ok((
        (),
        Some(format!(
            "{} in {secs:.1} s ({}/s)",
            human(bytes),
            human((bytes as f64 / secs.max(0.001)) as u64)
        )),
    ))
}

/// Fetches the apps' parts the plan restores that Lifeboat puts back itself (a runtime
/// that restores a part beside where it lives takes it from the bucket then) into `into`,
/// one `restic restore` per snapshot holding them: all of each snapshot when `all`, else
/// only those parts' paths (`restic restore --include`).
pub(super) async fn fetch_apps(
    ctx: &JobCtx,
    plan: &Plan,
    all: bool,
    into: Place,
) -> Result<(), StepError> {
    let runtime = ctx.runtime();
    let mut by_snapshot: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let mut some_beside = false;
    for (part, component) in &plan.apps {
        if runtime.restores_beside(part.kind) {
            some_beside = true;
        } else {
            by_snapshot
                .entry(component.snapshot_id.as_str())
                .or_default()
                .push(part.path());
        }
    }
    for (snapshot, paths) in by_snapshot {
        let mut cmd = rb::restore_command(&plan.target.restic, snapshot, into.clone());
        if !all || some_beside {
            for path in paths {
                cmd.args.push(format!("--include=/{path}").into());
            }
        }
        let started = std::time::Instant::now();
        let out = run_tool(ctx, cmd, &mut |_, _| {}).await?;
        if out.exit_code != Some(0) {
            return Err(why_not_fetched(plan, &out).await);
        }
        ctx.log(format!(
            "snapshot {snapshot} fetched in {:.2} s",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// Why restic's restore failed, as the step's error: a wrong passphrase, no repository, a
/// lock, a missing snapshot, a full disk, damaged data, or restic's own words.
async fn why_not_fetched(plan: &Plan, out: &crate::command::ToolOutput) -> StepError {
    // The restore is the first restic call of the job (each one pays the repository key's
    // derivation): it is what proves the passphrase and the snapshot, before anything of
    // the target is touched.
    match open_failure(out) {
        Some(OpenFailure::WrongPassword) => {
            return super::preflight::passphrase_needed(&plan.manifest, &plan.target);
        }
        Some(OpenFailure::NoRepository) => {
            return open_error(&plan.target, RepoError::NoRepository);
        }
        Some(OpenFailure::Locked) => return open_error(&plan.target, RepoError::Locked),
        Some(OpenFailure::Other(_)) if rb::no_such_snapshot(out) => {
            return super::preflight::snapshot_missing(&plan.manifest, &plan.snapshot);
        }
        Some(OpenFailure::Other(_)) | None => {}
    }
    if rb::out_of_space(out) {
        let free = plan
            .staging
            .free_bytes()
            .await
            .map_or_else(|| "no space".to_owned(), human);
        return failed(
            "disk_full",
            format!(
                "the disk filled up while fetching the backup ({free} left, {} needed); the target was not touched",
                human(plan.manifest.size_bytes)
            ),
            Some("free space on the volume holding Lifeboat's data dir and run the restore again"),
        );
    }
    if rb::data_damaged(out) {
        return failed(
            "backup_damaged",
            format!(
                "the data of backup {} in the bucket is damaged, so it was not restored; the target was not touched (restic: {})",
                plan.manifest.id,
                crate::restic::output_tail(out)
            ),
            Some(
                "choose another backup; `restic check --read-data` on the repository tells which others are affected",
            ),
        );
    }
    failed(
        "fetch_failed",
        format!(
            "restic restore failed (exit {}): {}",
            exit_text(out.exit_code),
            crate::restic::output_tail(out)
        ),
        Some(
            "check the bucket and the network, then run the restore again; the target was not touched",
        ),
    )
}
