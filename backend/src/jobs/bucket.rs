//! What every job does with the bucket: open the restic repository (which also proves the
//! passphrase), and hold the bucket lock for the length of the work, renewing it, and
//! turning a lost lease into a failure that says so.

use lifeboat_shared::operation::Outcome;
use tokio_util::sync::CancellationToken;

use super::context::JobCtx;
use super::step::{StepError, StepFailure, failed};
use crate::command::{Stream, ToolCommand, ToolOutput};
use crate::storage::repository::{self, RepoError};
use crate::storage::{Target, lock};

/// How long a bucket lock lease lasts without a heartbeat.
pub const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs a tool for `ctx`'s operation (killed when the operation is cancelled).
pub async fn run_tool(
    ctx: &JobCtx,
    cmd: ToolCommand,
    on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
) -> Result<ToolOutput, StepError> {
    // The run's log: the command (its tool and text arguments) and what it prints, secrets
    // removed; restic's once-a-second JSON status lines are left out.
    let redact = super::context::log::Redactor::for_command(&cmd);
    let mut shown = vec![super::context::log::tool_name(cmd.tool).to_owned()];
    shown.extend(cmd.args.iter().filter_map(|a| match a {
        crate::command::Arg::Text(t) => Some(t.clone()),
        _ => None,
    }));
    ctx.log(redact.line(&format!("$ {}", shown.join(" "))));
    let mut tee = |s: Stream, line: &str| {
        if !super::context::log::is_noise(line) {
            // Already redacted by the runner (one door): only cut.
            ctx.log(crate::command::redact::cut(line.to_owned()));
        }
        on_line(s, line);
    };
    let out = ctx.runtime().run(cmd, ctx.cancel.clone(), &mut tee).await?;
    ctx.log(format!("exit {}", super::measure::exit_text(out.exit_code)));
    Ok(out)
}

/// What every job checks first: the runtime has its tools, and the configured bucket opens.
pub fn tools_present(ctx: &JobCtx) -> Result<(), StepError> {
    match ctx.runtime().install_hint() {
        Some(hint) => Err(failed("tool_missing", hint, None)),
        None => Ok(()),
    }
}

/// The bucket in effect now, or the step error saying it is not configured.
pub async fn current_target(ctx: &JobCtx) -> Result<Target, StepError> {
    ctx.config().current_target().await.map_err(|e| {
        failed(
            "storage_not_configured",
            e.to_string(),
            Some("check the storage settings"),
        )
    })
}

/// Opens the repository, which also proves the passphrase; `Ok` carries the fingerprint
/// of the key in use. A repository that will not open is the inner `Err`, for the caller to
/// decide (a backup creates a missing one).
pub async fn open_repo(
    ctx: &JobCtx,
    target: &Target,
) -> Result<Result<Option<String>, RepoError>, StepError> {
    match repository::open(ctx.runtime().as_ref(), &target.restic, &ctx.cancel).await {
        Err(RepoError::Runtime(e)) => Err(e.into()),
        other => Ok(other),
    }
}

/// The step error for `target`'s repository that would not open.
pub fn open_error(target: &Target, e: RepoError) -> StepError {
    match e {
        RepoError::WrongPassword => failed(
            "wrong_passphrase",
            "the passphrase does not open the restic repository in the bucket",
            Some(&format!(
                "set the passphrase this bucket's backups were made with {}",
                target.passphrase_place.set_hint()
            )),
        ),
        RepoError::Locked => failed(
            "repository_locked",
            "the restic repository is locked by another restic",
            Some("wait for it to finish and try again"),
        ),
        RepoError::NoRepository => failed(
            "no_repository",
            "there is no restic repository in the bucket",
            Some(
                "check that the storage settings name the bucket (and prefix) the backups were made into",
            ),
        ),
        RepoError::Runtime(e) => e.into(),
        e @ RepoError::TimedOut { .. } => failed(
            "bucket_unreachable",
            format!("the bucket stopped answering: {e}"),
            Some("check the bucket's endpoint and the network between Lifeboat and it"),
        ),
        RepoError::Failed { tail, .. } => failed(
            "bucket_unreachable",
            format!("restic cannot open the repository: {tail}"),
            Some("check the bucket, its credentials and the network"),
        ),
        other @ RepoError::KeyList(_) => failed(
            "bucket_unreachable",
            format!("restic cannot open the repository: {other}"),
            Some("check the bucket, its credentials and the network"),
        ),
    }
}

/// Takes the bucket lock for `ctx`'s operation on behalf of the instance in `namespace`.
pub async fn take_lock(
    ctx: &JobCtx,
    target: &Target,
    instance_id: &str,
    namespace: &str,
) -> Result<(lock::Lease, Option<String>), StepError> {
    let holder = lock::Holder {
        instance_id: instance_id.to_owned(),
        namespace: namespace.to_owned(),
        host: ctx.runtime().host(),
        pid: std::process::id(),
        operation_id: ctx.id.clone(),
    };
    match lock::acquire(target, holder, LOCK_TTL).await {
        // No clock time in the line (the page shows step lines as they come, and a UTC
        // stamp is no time an admin reads): how the lease is kept, in words.
        Ok(lease) => Ok((
            lease,
            Some(format!(
                "held for this job, its {} s lease renewed every {} s while it runs",
                LOCK_TTL.as_secs(),
                (LOCK_TTL / 3).as_secs()
            )),
        )),
        Err(e @ lock::LockError::Held(_)) => Err(failed(
            "bucket_locked",
            e.to_string(),
            Some("another backup or restore is using this bucket; try again when it is done"),
        )),
        Err(e @ lock::LockError::Corrupt(_)) => Err(failed(
            "bucket_lock_damaged",
            format!("{e}: it is not a lock Lifeboat wrote"),
            Some(&format!(
                "if no backup or restore runs on any instance using this bucket, delete {} and try again",
                target.key(lock::LOCK_KEY)
            )),
        )),
        Err(e) => Err(failed("bucket_unreachable", e.to_string(), None)),
    }
}

/// Runs `work` while `lease` is renewed; releases the lease afterwards whatever happened.
/// A lease that could not be renewed cancels the work and fails it with `lock_lost`.
pub async fn while_locked(
    ctx: &JobCtx,
    lease: lock::Lease,
    work: impl Future<Output = Result<Outcome, StepFailure>>,
) -> Result<Outcome, StepFailure> {
    let stop_heartbeat = CancellationToken::new();
    let lost = CancellationToken::new();
    let heartbeat = {
        let (lease, stop, lost, cancel) = (
            lease.clone(),
            stop_heartbeat.clone(),
            lost.clone(),
            ctx.cancel.clone(),
        );
        tokio::spawn(async move {
            lease.heartbeat(LOCK_TTL / 3, stop, lost.clone()).await;
            if lost.is_cancelled() {
                cancel.cancel();
            }
        })
    };
    let result = work.await;
    stop_heartbeat.cancel();
    let _ = heartbeat.await;
    // The lock step's line said "renewed while the job runs": once the job has ended, it
    // says what became of the lock.
    match lease.release().await {
        Ok(()) => ctx.step_detail("lock", "held while the job ran, then released"),
        Err(e) => {
            tracing::warn!(error = %e, "cannot release the bucket lock; it expires by itself");
            ctx.step_detail(
                "lock",
                format!(
                    "could not be released ({e}); it expires by itself within {} s",
                    LOCK_TTL.as_secs()
                ),
            );
        }
    }
    match result {
        Err(StepFailure {
            step,
            error: StepError::Cancelled,
        }) if lost.is_cancelled() => Err(StepFailure {
            step,
            error: failed(
                "lock_lost",
                "the bucket lock was lost while the job ran (its lease could not be renewed)",
                Some("check the connection to the bucket and run it again"),
            ),
        }),
        other => other,
    }
}
