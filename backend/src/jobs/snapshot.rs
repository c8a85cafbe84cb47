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
    let mut cmd = command(target, instance, backup_id, paths);
    cmd.cwd = Some(cwd);
    let started = Instant::now();
    let mut watch = Watch::default();
    let mut on_line = |_: Stream, line: &str| {
        if let Some(s) = watch.line(line) {
            ctx.progress(Progress {
                bytes_done: s.bytes_done,
                bytes_total: (s.total_bytes > 0).then_some(s.total_bytes),
                files_done: s.files_done,
                files_total: (s.total_files > 0).then_some(s.total_files),
                rate_bytes_per_sec: rate(s.bytes_done, started),
                eta_seconds: s.seconds_remaining.map(|s| s as f64),
                current: s.current_files.first().map(|f| readable_item(f)),
                ..Progress::default()
            });
        }
    };
    let out = run_tool(ctx, cmd, &mut on_line).await?;
    watch.finish(ctx, &out)
}

/// `restic backup` of `paths` (relative to where it runs), tagged with the backup and the
/// instance, under the instance's host name.
pub fn command(
    target: &Target,
    instance: &dyn Instance,
    backup_id: &str,
    paths: &[&str],
) -> crate::command::ToolCommand {
    let namespace = instance.namespace();
    let tags = vec![
        "lifeboat".to_owned(),
        format!("backup={backup_id}"),
        format!("namespace={namespace}"),
        format!("instance={}", instance.id()),
    ];
    rb::backup_command(&target.restic, &host_name(namespace), &tags, paths)
}

/// What a `restic backup` run said: its summary and its errors.
#[derive(Debug, Default)]
pub struct Watch {
    summary: Option<rb::Summary>,
    errors: Vec<String>,
}

impl Watch {
    /// Takes one line of restic's JSON output; returns its status, if it is one.
    pub fn line(&mut self, line: &str) -> Option<rb::Status> {
        match rb::parse_backup_line(line) {
            BackupMessage::Status(s) => return Some(s),
            BackupMessage::Summary(s) => self.summary = Some(s),
            BackupMessage::Error(e) => self.errors.push(e),
            BackupMessage::Other => {}
        }
        None
    }

    /// The snapshot, once restic has ended with `out`: its errors are warnings; a failed
    /// run (or one with no summary) is `restic_failed`.
    pub fn finish(
        self,
        ctx: &JobCtx,
        out: &crate::command::ToolOutput,
    ) -> Result<rb::Summary, StepError> {
        for e in self.errors {
            ctx.warn(format!("restic: {e}"));
        }
        match crate::restic::Exit::of(out) {
            crate::restic::Exit::Ok => {}
            crate::restic::Exit::Partial => ctx.warn("restic could not read some files".into()),
            _ => {
                return Err(failed(
                    "restic_failed",
                    format!(
                        "restic backup failed (exit {}): {}",
                        exit_text(out.exit_code),
                        crate::restic::output_tail(out)
                    ),
                    Some("check the bucket and its free space, then run the backup again"),
                ));
            }
        }
        self.summary.ok_or_else(|| {
            failed(
                "restic_failed",
                "restic finished without reporting a snapshot",
                None,
            )
        })
    }
}

/// restic's host name for an instance's snapshots (retention groups by it).
pub fn host_name(namespace: &str) -> String {
    format!("lifeboat-{namespace}")
}
