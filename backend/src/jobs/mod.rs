//! Jobs: the supervisor that runs operations (the only code that changes an operation's
//! status) and the backup steps.
//!
//! A job is started by the API or the scheduler, enters the process-wide operation gate
//! (one backup or restore at a time), runs its steps through the runtime, and ends in
//! exactly one terminal status. Cancelling a job kills its running tool; stopping Lifeboat
//! cancels every job and records it as interrupted. At start, [`supervisor::recover`] marks
//! whatever was left running by a killed Lifeboat as interrupted and releases its lock.

pub mod backup;
pub mod bucket;
pub mod context;
pub mod measure;
pub mod restore;
pub mod schedule;
pub mod step;
pub mod supervisor;
pub mod target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Step, Trigger};
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::instance::{Instance, InstanceError};
use crate::operations::{OperationsError, clock};

/// How long a bucket lock lease lasts without a heartbeat.
pub const LOCK_TTL: Duration = Duration::from_secs(60);

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

/// The running jobs, by operation id.
#[derive(Debug, Default)]
pub struct Jobs {
    running: Mutex<HashMap<String, Running>>,
    shutdown: CancellationToken,
}

#[derive(Debug, Clone)]
struct Running {
    cancel: CancellationToken,
}

impl Jobs {
    fn running(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fires when Lifeboat stops.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }
}

/// The steps of a backup, in order.
pub fn backup_steps() -> Vec<Step> {
    step::pending_steps(&[
        ("preflight", "Pre-flight checks"),
        ("lock", "Take the bucket lock"),
        ("postgres", "Back up the system Postgres (pgBackRest)"),
        ("configuration", "Export the configuration"),
        ("upload", "Upload to the bucket (restic)"),
        ("catalog", "Write the catalog entry"),
        ("retention", "Apply retention"),
    ])
}

/// Starts a backup: records it and runs it in the background. `Busy` when another
/// operation runs.
pub fn start_backup(
    state: &AppState,
    description: String,
    trigger: Trigger,
) -> Result<Operation, JobsError> {
    start(
        state,
        OperationKind::Backup {
            description,
            trigger,
        },
        backup_steps(),
        Box::new(|ctx| Box::pin(backup::run(ctx))),
    )
}

/// Starts a restore (the request already checked by [`restore::resolve`]). `Busy` when
/// another operation runs.
pub fn start_restore(
    state: &AppState,
    req: restore::RestoreRequest,
    requested_by: String,
) -> Result<Operation, JobsError> {
    start(
        state,
        OperationKind::Restore {
            backup_id: req.backup_id.clone(),
            target_namespace: req.target.namespace.clone(),
            requested_by,
        },
        restore::restore_steps(),
        Box::new(move |ctx| Box::pin(restore::run(ctx, req))),
    )
}

/// Starts any job: enters the gate (or answers `Busy` with the running operation), records
/// the operation as pending with its steps, and runs `job` under the supervisor.
pub fn start(
    state: &AppState,
    kind: OperationKind,
    steps: Vec<Step>,
    job: supervisor::Job,
) -> Result<Operation, JobsError> {
    let id = clock::new_id("op");
    let guard = state
        .gate()
        .try_enter(id.clone())
        .map_err(|running| busy(state, &running))?;
    let op = state.operations().insert(Operation {
        id: id.clone(),
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
    })?;
    let running = Running {
        cancel: state.jobs().shutdown.child_token(),
    };
    state.jobs().running().insert(id.clone(), running.clone());
    let state = state.clone();
    tokio::spawn(async move {
        supervisor::run(&state, &id, running.cancel.clone(), job).await;
        state.jobs().running().remove(&id);
        drop(guard);
    });
    Ok(op)
}

fn busy(state: &AppState, running: &str) -> JobsError {
    match state.operations().get(running) {
        Some(op) => JobsError::Busy(Box::new(op)),
        None => JobsError::NotRunning(running.to_owned()),
    }
}

/// Asks a running operation to stop; the supervisor records it as cancelled.
pub fn cancel(state: &AppState, id: &str) -> Result<Operation, JobsError> {
    let op = state
        .operations()
        .get(id)
        .ok_or_else(|| JobsError::NotFound(id.to_owned()))?;
    let running = state.jobs().running().get(id).cloned();
    match running {
        Some(r) if !op.status.is_terminal() => {
            r.cancel.cancel();
            Ok(op)
        }
        _ => Err(JobsError::NotRunning(id.to_owned())),
    }
}

/// Stops every job (they end as interrupted) and waits up to `timeout` for them to finish.
pub async fn shutdown(state: &AppState, timeout: Duration) {
    state.jobs().shutdown.cancel();
    let deadline = tokio::time::Instant::now() + timeout;
    while !state.jobs().running().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Brings up the local demo instance and hands it to the state.
pub async fn start_instance(state: &AppState) -> Result<Arc<Instance>, InstanceError> {
    let ids = crate::runtime::LocalRuntime::new(state.toolbox().clone()).postgres_user();
    let instance = Arc::new(
        Instance::ensure(
            &state.settings().data_dir,
            crate::instance::DEMO_NAMESPACE,
            state.runtime().clone(),
            state.toolbox(),
            ids,
        )
        .await?,
    );
    state.set_instance(instance.clone());
    // Instances earlier restores created in other namespaces run again too.
    for namespace in crate::instance::namespaces_in(&state.settings().data_dir) {
        if namespace == instance.namespace() {
            continue;
        }
        match Instance::ensure(
            &state.settings().data_dir,
            &namespace,
            state.runtime().clone(),
            state.toolbox(),
            ids,
        )
        .await
        {
            Ok(other) => state.add_instance(Arc::new(other)),
            Err(e) => {
                tracing::error!(%namespace, error = %e, "the instance in this namespace did not start");
            }
        }
    }
    Ok(instance)
}
