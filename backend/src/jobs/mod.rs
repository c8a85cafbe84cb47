//! Jobs: the supervisor that runs operations (the only code that changes an operation's
//! status) and the backup steps.
//!
//! A job is started by the API or the scheduler, enters the process-wide operation gate
//! (one backup or restore at a time), runs its steps through the runtime, and ends in
//! exactly one terminal status. Cancelling a job kills its running tool; stopping Lifeboat
//! cancels every job and records it as interrupted. At start, [`supervisor::recover`] marks
//! whatever was left running by a killed Lifeboat as interrupted and releases its lock.

pub mod apps;
pub mod backup;
pub mod bucket;
pub mod context;
pub mod deps;
pub mod measure;
pub mod restore;
pub mod schedule;
pub mod ship;
pub mod snapshot;
pub mod step;
pub mod supervisor;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lifeboat_shared::operation::{Operation, OperationKind, Step, Trigger};
use tokio_util::sync::CancellationToken;

use crate::operations::{OperationsError, clock};

pub use backup::backup_steps;
pub use bucket::LOCK_TTL;
pub use deps::JobDeps;

/// Why a job could not be started or cancelled.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// Another operation runs (in this Lifeboat).
    #[error("operation {} is running", .0.id)]
    Busy(Box<Operation>),
    /// The operation could not be recorded.
    #[error(transparent)]
    Record(#[from] OperationsError),
    /// No such operation.
    #[error("no operation {0}")]
    NotFound(String),
    /// It is not running.
    #[error("operation {0} is not running")]
    NotRunning(String),
}

/// The jobs of one Lifeboat: what they need ([`JobDeps`], which they deref to) and the jobs
/// running now, by operation id.
#[derive(Debug)]
pub struct Jobs {
    deps: Arc<JobDeps>,
    running: Mutex<HashMap<String, Running>>,
}

impl std::ops::Deref for Jobs {
    type Target = JobDeps;

    fn deref(&self) -> &JobDeps {
        &self.deps
    }
}

#[derive(Debug, Clone)]
struct Running {
    cancel: CancellationToken,
}

impl Jobs {
    /// The jobs of one Lifeboat, sharing `deps`.
    pub fn new(deps: JobDeps) -> Self {
        Self {
            deps: Arc::new(deps),
            running: Mutex::default(),
        }
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the jobs need, shared with each running job.
    pub fn deps(&self) -> &Arc<JobDeps> {
        &self.deps
    }

    /// Starts a backup: records it and runs it in the background. `Busy` when another
    /// operation runs.
    pub fn start_backup(
        self: &Arc<Self>,
        description: String,
        trigger: Trigger,
        include_apps: bool,
        backup_type: Option<lifeboat_shared::backup::BackupType>,
    ) -> Result<Operation, JobsError> {
        self.start(
            OperationKind::Backup {
                description,
                trigger,
                include_apps,
                backup_type,
            },
            backup::backup_steps(),
            Box::new(|ctx| Box::pin(backup::run(ctx))),
        )
    }

    /// Starts a restore (the request already checked by [`restore::resolve`]). `Busy` when
    /// another operation runs.
    pub fn start_restore(
        self: &Arc<Self>,
        req: restore::RestoreRequest,
        requested_by: String,
    ) -> Result<Operation, JobsError> {
        self.start(
            OperationKind::Restore {
                backup_id: req.backup_id.clone(),
                target_namespace: req.target.namespace.clone(),
                requested_by,
                apps: req.apps.clone(),
            },
            restore::steps_of(&req),
            Box::new(move |ctx| Box::pin(restore::run(ctx, req))),
        )
    }

    /// Starts any job: enters the gate (or answers `Busy` with the running operation),
    /// records the operation as pending with its steps, and runs `job` under the supervisor.
    pub fn start(
        self: &Arc<Self>,
        kind: OperationKind,
        steps: Vec<Step>,
        job: supervisor::Job,
    ) -> Result<Operation, JobsError> {
        let id = clock::new_id("op");
        let guard = self
            .gate()
            .try_enter(id.clone())
            .map_err(|running| self.busy(&running))?;
        let op = self
            .operations()
            .insert(supervisor::pending(id.clone(), kind, steps))?;
        let running = Running {
            cancel: self.shutdown_token().child_token(),
        };
        self.running().insert(id.clone(), running.clone());
        let jobs = self.clone();
        tokio::spawn(async move {
            supervisor::run(jobs.deps(), &id, running.cancel.clone(), job, guard).await;
            jobs.running().remove(&id);
        });
        Ok(op)
    }

    fn busy(&self, running: &str) -> JobsError {
        match self.operations().get(running) {
            Some(op) => JobsError::Busy(Box::new(op)),
            None => JobsError::NotRunning(running.to_owned()),
        }
    }

    /// Asks a running operation to stop; the supervisor records it as cancelled.
    pub fn cancel(&self, id: &str) -> Result<Operation, JobsError> {
        let op = self
            .operations()
            .get(id)
            .ok_or_else(|| JobsError::NotFound(id.to_owned()))?;
        let running = self.running().get(id).cloned();
        match running {
            Some(r) if !op.status.is_terminal() => {
                r.cancel.cancel();
                Ok(op)
            }
            _ => Err(JobsError::NotRunning(id.to_owned())),
        }
    }

    /// Stops every job (they end as interrupted) and waits up to `timeout` for them to
    /// finish.
    pub async fn shutdown(&self, timeout: Duration) {
        self.shutdown_token().cancel();
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.running().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::AuditLog;
    use crate::config::Config;
    use crate::gate::OperationGate;
    use crate::operations::Operations;
    use crate::runtime::Runtime;

    /// The jobs of a Lifeboat whose data dir is `dir`, on the local runtime with no tools.
    pub(crate) fn jobs_in(dir: &std::path::Path) -> Arc<Jobs> {
        let runtime: Arc<dyn Runtime> = Arc::new(crate::runtime::local::LocalRuntime::new(
            dir,
            crate::runtime::host::toolbox::Toolbox::discover_in(&[]),
        ));
        let gate = OperationGate::new();
        Arc::new(Jobs::new(JobDeps::new(
            Operations::open(dir.join("operations")),
            runtime.clone(),
            Config::new(dir, runtime, gate.clone()),
            gate,
            AuditLog::new(dir.join("audit.jsonl")),
        )))
    }
}
