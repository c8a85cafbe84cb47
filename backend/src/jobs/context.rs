//! What a running job may do to its operation: move its steps along, report progress
//! (throttled to about once a second) and add warnings. Status changes are the
//! supervisor's alone.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use lifeboat_shared::operation::{Progress, StepStatus};
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::operations::clock;

/// How often progress is written and published at most.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// At most this many warnings are kept.
pub const MAX_WARNINGS: usize = 20;

/// One running job's handle on its operation.
#[derive(Debug)]
pub struct JobCtx {
    /// The application.
    pub state: AppState,
    /// The operation.
    pub id: String,
    /// Fires when the job must stop (cancel, shutdown, lock lost).
    pub cancel: CancellationToken,
    throttle: Mutex<Throttle>,
    aftermath: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    pending: Option<Progress>,
}

impl JobCtx {
    /// A context for operation `id`.
    pub fn new(state: AppState, id: String, cancel: CancellationToken) -> Self {
        Self {
            state,
            id,
            cancel,
            throttle: Mutex::new(Throttle::default()),
            aftermath: Mutex::new(None),
        }
    }

    fn update(&self, change: impl FnOnce(&mut lifeboat_shared::operation::Operation)) {
        if let Err(e) = self.state.operations().update(&self.id, change) {
            tracing::error!(operation = %self.id, error = %e, "cannot record the operation");
        }
    }

    /// Says what state the job leaves things in if it ends without succeeding from here on
    /// (e.g. "the system Postgres is stopped and partly restored"); `None` once it is safe
    /// again. The supervisor puts it in the error.
    pub fn set_aftermath(&self, what: Option<String>) {
        *self
            .aftermath
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = what;
    }

    /// What [`JobCtx::set_aftermath`] last said.
    pub fn aftermath(&self) -> Option<String> {
        self.aftermath
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Marks `step` running (and clears the previous step's progress).
    pub fn step_started(&self, step: &str) {
        self.flush_progress();
        let now = clock::now();
        self.update(|op| {
            op.progress = None;
            if let Some(s) = op.steps.iter_mut().find(|s| s.id == step) {
                s.status = StepStatus::Running;
                s.started_at = Some(now);
            }
        });
    }

    /// Marks `step` finished with `status` and an optional line of detail.
    pub fn step_finished(&self, step: &str, status: StepStatus, detail: Option<String>) {
        self.flush_progress();
        let now = clock::now();
        self.update(|op| {
            if let Some(s) = op.steps.iter_mut().find(|s| s.id == step) {
                s.status = status;
                if s.started_at.is_none() {
                    s.started_at = Some(now.clone());
                }
                s.finished_at = Some(now);
                if detail.is_some() {
                    s.detail = detail;
                }
            }
        });
    }

    /// Reports progress; written at most once per [`PROGRESS_INTERVAL`].
    pub fn progress(&self, progress: Progress) {
        let publish = {
            let mut t = self.throttle.lock().unwrap_or_else(PoisonError::into_inner);
            if t.last.is_some_and(|l| l.elapsed() < PROGRESS_INTERVAL) {
                t.pending = Some(progress);
                None
            } else {
                t.last = Some(Instant::now());
                t.pending = None;
                Some(progress)
            }
        };
        if let Some(p) = publish {
            self.update(|op| op.progress = Some(p));
        }
    }

    /// Writes progress held back by the throttle.
    pub fn flush_progress(&self) {
        let pending = self
            .throttle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .take();
        if let Some(p) = pending {
            self.update(|op| op.progress = Some(p));
        }
    }

    /// Adds a warning (de-duplicated, capped).
    pub fn warn(&self, warning: String) {
        self.update(|op| {
            if op.warnings.len() < MAX_WARNINGS && !op.warnings.contains(&warning) {
                op.warnings.push(warning);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Trigger};

    use super::*;
    use crate::app::Settings;
    use crate::tools::Toolbox;

    #[test]
    fn progress_is_written_at_most_once_a_second_and_flushed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(
            Settings {
                data_dir: dir.path().to_path_buf(),
                static_dir: dir.path().join("dist"),
                allowed_origins: vec![],
            },
            Toolbox::discover_in(&[]),
        );
        state
            .operations()
            .insert(Operation {
                id: "op-1".into(),
                revision: 0,
                kind: OperationKind::Backup {
                    description: String::new(),
                    trigger: Trigger::Scheduled,
                },
                status: OperationStatus::Running,
                steps: crate::jobs::backup_steps(),
                progress: None,
                warnings: vec![],
                error: None,
                created_at: clock::now(),
                finished_at: None,
                outcome: None,
            })
            .unwrap();
        let ctx = JobCtx::new(state.clone(), "op-1".into(), CancellationToken::new());
        for done in 1..=50 {
            ctx.progress(Progress {
                bytes_done: done,
                ..Progress::default()
            });
        }
        let op = state.operations().get("op-1").unwrap();
        assert_eq!(op.revision, 2, "only the first of 50 updates was written");
        assert_eq!(op.progress.unwrap().bytes_done, 1);
        ctx.flush_progress();
        let op = state.operations().get("op-1").unwrap();
        assert_eq!((op.revision, op.progress.unwrap().bytes_done), (3, 50));
        for i in 0..30 {
            ctx.warn("same".into());
            ctx.warn(format!("w{i}"));
        }
        let op = state.operations().get("op-1").unwrap();
        assert_eq!(op.warnings.len(), MAX_WARNINGS, "capped");
        assert_eq!(
            op.warnings.iter().filter(|w| *w == "same").count(),
            1,
            "de-duplicated"
        );
    }
}
