//! One restic snapshot of a backup: `restic backup` of some paths below a place, tagged
//! with the backup and the instance, its progress reported. The system's snapshot and the
//! apps' are both taken here.

use std::time::Instant;

use lifeboat_shared::operation::Progress;

use super::bucket::run_tool;
use super::context::JobCtx;
use super::measure::{exit_text, rate, readable_item};
use super::step::{StepError, failed};
use crate::command::Stream;
use crate::restic::backup::{self as rb, BackupMessage};
use crate::runtime::Instance;
use crate::storage::Target;

/// One `restic backup` of `paths` below `cwd`, tagged with the backup and the instance,
/// its progress reported; restic's own errors are warnings, a failed run `restic_failed`.
pub async fn snapshot(
    ctx: &JobCtx,
    target: &Target,
    instance: &dyn Instance,
    backup_id: &str,
    cwd: crate::command::Place,
    paths: &[&str],
) -> Result<rb::Summary, StepError> {
    let namespace = instance.namespace();
    let tags = vec![
        "lifeboat".to_owned(),
        format!("backup={backup_id}"),
        format!("namespace={namespace}"),
        format!("instance={}", instance.id()),
    ];
    let mut cmd = rb::backup_command(&target.restic, &host_name(namespace), &tags, paths);
    cmd.cwd = Some(cwd);
    let started = Instant::now();
    let mut summary = None;
    let mut errors = Vec::new();
    let mut on_line = |_: Stream, line: &str| match rb::parse_backup_line(line) {
        BackupMessage::Status(s) => ctx.progress(Progress {
            bytes_done: s.bytes_done,
            bytes_total: (s.total_bytes > 0).then_some(s.total_bytes),
            files_done: s.files_done,
            files_total: (s.total_files > 0).then_some(s.total_files),
            rate_bytes_per_sec: rate(s.bytes_done, started),
            eta_seconds: s.seconds_remaining.map(|s| s as f64),
            current: s.current_files.first().map(|f| readable_item(f)),
            ..Progress::default()
        }),
        BackupMessage::Summary(s) => summary = Some(s),
        BackupMessage::Error(e) => errors.push(e),
        BackupMessage::Other => {}
    };
    let out = run_tool(ctx, cmd, &mut on_line).await?;
    for e in errors {
        ctx.warn(format!("restic: {e}"));
    }
    match crate::restic::Exit::of(&out) {
        crate::restic::Exit::Ok => {}
        crate::restic::Exit::Partial => ctx.warn("restic could not read some files".into()),
        _ => {
            return Err(failed(
                "restic_failed",
                format!(
                    "restic backup failed (exit {}): {}",
                    exit_text(out.exit_code),
                    crate::restic::output_tail(&out)
                ),
                Some("check the bucket and its free space, then run the backup again"),
            ));
        }
    }
    summary.ok_or_else(|| {
        failed(
            "restic_failed",
            "restic finished without reporting a snapshot",
            None,
        )
    })
}

/// restic's host name for an instance's snapshots (retention groups by it).
pub fn host_name(namespace: &str) -> String {
    format!("lifeboat-{namespace}")
}
