//! The supervisor: the only code that changes an operation's status.

use std::sync::Arc;

use lifeboat_shared::ApiError;
use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Outcome, StepStatus};
use tokio_util::sync::CancellationToken;

use futures::future::BoxFuture;

use super::context::JobCtx;
use super::deps::JobDeps;
use super::step::{StepError, StepFailure};
use crate::operations::clock;
use crate::storage::lock;

/// A job: the steps of one operation, run against its context.
pub type Job =
    Box<dyn for<'a> FnOnce(&'a JobCtx) -> BoxFuture<'a, Result<Outcome, StepFailure>> + Send>;

/// A new operation's record: pending, with its steps, nothing done yet.
pub fn pending(
    id: String,
    kind: OperationKind,
    steps: Vec<lifeboat_shared::operation::Step>,
) -> Operation {
    Operation {
        id,
        revision: 0,
        kind,
        status: OperationStatus::Pending,
        steps,
        progress: None,
        warnings: Vec::new(),
        error: None,
        created_at: clock::now(),
        finished_at: None,
        outcome: None,
    }
}

/// Runs operation `id` to its end and records how it ended.
pub async fn run(
    jobs: &Arc<JobDeps>,
    id: &str,
    cancel: CancellationToken,
    job: Job,
    guard: crate::gate::GateGuard,
) {
    // A WAL shipment in flight ends first (a few seconds at most).
    let quiet = jobs.quiet().lock().await;
    record(jobs, id, |op| op.status = OperationStatus::Running);
    let ctx = JobCtx::new(jobs.clone(), id.to_owned(), cancel);
    let result = tokio::select! {
        result = job(&ctx) => result,
        never = tick(&ctx) => match never {},
    };
    ctx.flush_progress();
    let shutting_down = jobs.shutdown_token().is_cancelled();
    let aftermath = ctx.aftermath();
    // The job's work is done: the gate opens before its end is published, so whoever sees
    // the end may start the next operation at once (the other order answered `409` to a
    // request sent right after it). It stays among the running jobs until its end is
    // recorded: a shutdown waits for that.
    drop(guard);
    drop(quiet);
    record(jobs, id, |op| {
        op.finished_at = Some(clock::now());
        match result {
            Ok(outcome) => {
                op.status = if op.warnings.is_empty() {
                    OperationStatus::Succeeded
                } else {
                    OperationStatus::SucceededWithWarnings
                };
                op.outcome = Some(outcome);
            }
            Err(StepFailure { step, error }) => {
                let title = op
                    .steps
                    .iter()
                    .find(|s| s.id == step)
                    .map_or_else(|| step.to_owned(), |s| s.title.clone());
                let is_restore = matches!(op.kind, OperationKind::Restore { .. });
                let (status, mut err) = match error {
                    StepError::Cancelled if shutting_down => (
                        OperationStatus::Interrupted,
                        interrupted_error(
                            &op.kind,
                            "Lifeboat was stopped while this operation ran",
                        ),
                    ),
                    StepError::Cancelled => (
                        OperationStatus::Cancelled,
                        ApiError::new(
                            "cancelled",
                            if is_restore {
                                format!("Cancelled during \"{title}\"")
                            } else {
                                format!(
                                    "Cancelled during \"{title}\"; nothing was added to the catalog"
                                )
                            },
                        ),
                    ),
                    StepError::Failed {
                        code,
                        message,
                        hint,
                    } => {
                        let mut e = ApiError::new(code, format!("{title} failed: {message}"));
                        e.hint = hint;
                        (OperationStatus::Failed, e)
                    }
                };
                if let Some(what) = &aftermath {
                    err.message = format!("{}. {what}", err.message.trim_end_matches('.'));
                    err.hint = Some("run the restore again; it starts over from the backup".into());
                }
                op.status = status;
                op.error = Some(err);
                close_steps(op, status);
            }
        }
        audit_end(jobs, op);
    });
}

/// Keeps the running job's estimate moving while its step reports nothing ([`JobCtx::tick`]).
async fn tick(ctx: &JobCtx) -> std::convert::Infallible {
    let mut every = tokio::time::interval(super::context::PROGRESS_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        ctx.tick();
    }
}

/// Records how an operation ended in the audit trail. Called inside the operation's final
/// update, so the entry is written before the end is published.
fn audit_end(jobs: &JobDeps, op: &Operation) {
    let id = &op.id;
    let what = match &op.kind {
        OperationKind::Backup { .. } => format!("backup {id}"),
        OperationKind::Restore {
            backup_id,
            target_namespace,
            ..
        } => format!("restore {id} of {backup_id} into namespace {target_namespace}"),
        OperationKind::Unknown => id.to_owned(),
    };
    let status = serde_json::to_value(op.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let outcome = match &op.error {
        Some(e) => format!("{status}: {}", e.code),
        None => status,
    };
    jobs.audit()
        .record("lifeboat", "-", "operation.end", &what, &outcome);
}

fn interrupted_error(kind: &OperationKind, why: &str) -> ApiError {
    match kind {
        OperationKind::Restore { .. } => {
            ApiError::new("interrupted", format!("{why}; the restore did not finish"))
        }
        _ => ApiError::new(
            "interrupted",
            format!("{why}; it did not finish and nothing was added to the catalog"),
        ),
    }
    .with_hint("run it again")
}

/// For a restore a previous Lifeboat left unfinished: what state its target is in.
fn restore_aftermath(jobs: &JobDeps, op: &Operation) -> Option<String> {
    let OperationKind::Restore {
        target_namespace, ..
    } = &op.kind
    else {
        return None;
    };
    let marker = jobs.runtime().instances().restoring_in(target_namespace)?;
    (marker == op.id).then(|| super::restore::incomplete_text(target_namespace))
}

/// Steps still running when an operation ends, or stopped by it, are cancelled when the
/// operation was, else failed; later ones stay pending.
fn close_steps(op: &mut Operation, ended: OperationStatus) {
    let now = clock::now();
    let status = if ended == OperationStatus::Cancelled {
        StepStatus::Cancelled
    } else {
        StepStatus::Failed
    };
    for s in &mut op.steps {
        if s.status == StepStatus::Cancelled {
            s.status = status;
        }
        if s.status == StepStatus::Running {
            s.status = status;
            s.finished_at = Some(now.clone());
        }
    }
}

fn record(jobs: &JobDeps, id: &str, change: impl FnOnce(&mut Operation)) {
    if let Err(e) = jobs.operations().update(id, change) {
        tracing::error!(operation = id, error = %e, "cannot record the operation");
    }
}

/// At start: every operation a previous Lifeboat left pending or running is marked
/// interrupted, and the bucket lock it held (if still there) is released. Returns the ids.
pub async fn recover(jobs: &JobDeps) -> Vec<String> {
    let stale_ops: Vec<Operation> = jobs
        .operations()
        .list()
        .into_iter()
        .filter(|op| !op.status.is_terminal())
        .collect();
    for op in &stale_ops {
        tracing::warn!(operation = %op.id, "marking an operation interrupted: Lifeboat stopped while it ran");
        let aftermath = restore_aftermath(jobs, op);
        record(jobs, &op.id, |op| {
            op.status = OperationStatus::Interrupted;
            op.finished_at = Some(clock::now());
            let mut err = interrupted_error(&op.kind, "Lifeboat stopped while this operation ran");
            if let Some(what) = aftermath {
                err.message = format!("{}. {what}", err.message.trim_end_matches('.'));
                err.hint = Some("run the restore again; it starts over from the backup".into());
            }
            op.error = Some(err);
            close_steps(op, OperationStatus::Interrupted);
            audit_end(jobs, op);
        });
    }
    let stale: Vec<String> = stale_ops.into_iter().map(|op| op.id).collect();
    if stale.is_empty() {
        return stale;
    }
    match jobs.config().current_target().await {
        Ok(target) => {
            match lock::release_if(&target, |r| stale.contains(&r.holder.operation_id)).await {
                Ok(true) => tracing::info!("released the bucket lock of an interrupted operation"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot release the bucket lock; it expires by itself")
                }
            }
            // Locks left by a killed restic are stale; `unlock` removes only those.
            let cmd = crate::restic::command(&target.restic, ["unlock"]);
            let _ = jobs
                .runtime()
                .run(cmd, CancellationToken::new(), &mut |_, _| {})
                .await;
        }
        Err(e) => tracing::warn!(error = %e, "cannot open the bucket to release a stale lock"),
    }
    stale
}

/// Records a scheduled backup that did not run because `running` was running.
pub fn record_skip(jobs: &JobDeps, running: &str) {
    let now = clock::now();
    let mut steps = super::backup::backup_steps();
    for s in &mut steps {
        s.status = StepStatus::Skipped;
    }
    let op = Operation {
        id: clock::new_id("op"),
        revision: 0,
        kind: lifeboat_shared::operation::OperationKind::Backup {
            description: String::new(),
            trigger: lifeboat_shared::operation::Trigger::Scheduled,
            include_apps: true,
            backup_type: None,
        },
        status: OperationStatus::Cancelled,
        steps,
        progress: None,
        warnings: Vec::new(),
        error: Some(
            ApiError::new(
                "skipped",
                format!("The scheduled backup was skipped because operation {running} was running"),
            )
            .with_hint("the next scheduled run will try again"),
        ),
        created_at: now.clone(),
        finished_at: Some(now),
        outcome: None,
    };
    if let Err(e) = jobs.operations().insert(op) {
        tracing::error!(error = %e, "cannot record a skipped scheduled backup");
    }
}
