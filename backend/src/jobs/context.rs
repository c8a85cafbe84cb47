//! What a running job may do to its operation: move its steps along, report progress
//! (throttled to about once a second) and add warnings. Status changes are the
//! supervisor's alone.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use lifeboat_shared::operation::{Progress, StepStatus};
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use super::deps::JobDeps;
use crate::operations::clock;

pub mod estimate;
pub mod log;

use estimate::{Position, StepPlan};

/// How often progress is written and published at most.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// At most this many warnings are kept.
pub const MAX_WARNINGS: usize = 20;

/// One running job's handle on its operation.
///
/// A step reaches the runtime and the configuration through it, and reports progress,
/// warnings and its log; it cannot reach the operations store, so only the supervisor
/// changes an operation's status. This compiles:
///
/// ```no_run
/// use lifeboat::jobs::context::JobCtx;
///
/// async fn a_step(ctx: &JobCtx) {
///     let _tools = ctx.runtime().install_hint();
///     let _bucket = ctx.config().current_target().await;
///     ctx.log("a line of the run's log".to_owned());
/// }
/// ```
///
/// and a step that would set its operation's status does not:
///
/// ```compile_fail,E0616
/// use lifeboat::jobs::context::JobCtx;
/// use lifeboat_shared::operation::OperationStatus;
///
/// fn a_step(ctx: &JobCtx) {
///     let _ = ctx.jobs.operations().update(&ctx.id, |op| {
///         op.status = OperationStatus::Succeeded;
///     });
/// }
/// ```
#[derive(Debug)]
pub struct JobCtx {
    /// What the job may use, through the accessors below: never the operations store
    /// itself, so a step cannot change its operation's status (the supervisor's alone).
    jobs: Arc<JobDeps>,
    /// The operation.
    pub id: String,
    /// Fires when the job must stop (cancel, shutdown, lock lost).
    pub cancel: CancellationToken,
    throttle: Mutex<Throttle>,
    aftermath: Mutex<Option<String>>,
    overall: Mutex<Overall>,
}

/// How the steps add up to the whole operation.
#[derive(Debug, Default)]
struct Overall {
    /// The steps in order, with their weights and usual durations ([`estimate`]).
    plan: Vec<StepPlan>,
    /// The step running now, and since when.
    current: Option<(String, Instant)>,
    /// When the weights were set (the job's start).
    since: Option<Instant>,
    /// The largest share reported so far: the whole operation's share never goes back,
    /// even when a step's estimated total grows.
    best: f64,
}

#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    pending: Option<Progress>,
    /// The running step's last own figures (before the whole operation's were added), so
    /// that [`JobCtx::tick`] can bring the whole operation's share and time left up to date.
    step: Progress,
}

impl JobCtx {
    /// A context for operation `id`.
    pub fn new(jobs: Arc<JobDeps>, id: String, cancel: CancellationToken) -> Self {
        Self {
            jobs,
            id,
            cancel,
            throttle: Mutex::new(Throttle::default()),
            aftermath: Mutex::new(None),
            overall: Mutex::new(Overall::default()),
        }
    }

    /// The runtime: its tools and instances.
    pub fn runtime(&self) -> &Arc<dyn crate::runtime::Runtime> {
        self.jobs.runtime()
    }

    /// The storage configuration.
    pub fn config(&self) -> &crate::config::Config {
        self.jobs.config()
    }

    /// What this operation is (a backup with its description and trigger, a restore).
    pub fn kind(&self) -> Option<lifeboat_shared::operation::OperationKind> {
        self.jobs.operations().get(&self.id).map(|o| o.kind)
    }

    fn update(&self, change: impl FnOnce(&mut lifeboat_shared::operation::Operation)) {
        match self.jobs.operations().update(&self.id, change) {
            Ok(_) => {}
            // The disk refused the record (full): the job goes on, the page sees every
            // change, and the operation says so, once.
            Err(crate::operations::OperationsError::NotWritten { source }) => {
                tracing::error!(operation = %self.id, error = %source, "cannot write the operation's record");
                let warning = format!(
                    "this operation's record could not be written: {source}. Lifeboat keeps it \
                     in memory and writes it once there is room; if Lifeboat restarts before \
                     then, the operation will be listed as interrupted (the bucket's backups \
                     are not affected)"
                );
                let _ = self.jobs.operations().update(&self.id, |op| {
                    if !op
                        .warnings
                        .iter()
                        .any(|w| w.starts_with("this operation's record"))
                    {
                        op.warnings.push(warning);
                    }
                });
            }
            Err(e) => {
                tracing::error!(operation = %self.id, error = %e, "cannot record the operation");
            }
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

    /// Weighs the steps (by the data they move) and learns how long each usually takes
    /// (from the last operations of this kind that succeeded), so progress carries the whole
    /// operation's share done and time left; steps not named weigh nothing.
    pub fn set_weights(&self, weights: &[(&str, f64)]) {
        let sum: f64 = weights.iter().map(|(_, w)| w).sum();
        let all = self.jobs.operations().list();
        let (order, typical) = match all.iter().find(|op| op.id == self.id) {
            Some(op) => (
                op.steps.iter().map(|s| s.id.clone()).collect(),
                estimate::typical_durations(&op.kind, &all),
            ),
            None => (Vec::new(), Default::default()),
        };
        let mut o = self.overall.lock().unwrap_or_else(PoisonError::into_inner);
        o.plan = order
            .into_iter()
            .map(|id: String| StepPlan {
                weight: weights
                    .iter()
                    .find(|(s, _)| *s == id)
                    .map_or(0.0, |(_, w)| w / sum.max(f64::EPSILON)),
                typical: typical.get(&id).copied(),
                id,
            })
            .collect();
        o.since = Some(Instant::now());
    }

    /// Adds the whole operation's share done and time left to a step's progress
    /// ([`estimate::estimate`]). The share never goes below what was reported before.
    fn with_overall(&self, mut p: Progress) -> Progress {
        let mut o = self.overall.lock().unwrap_or_else(PoisonError::into_inner);
        let (Some((current, step_since)), Some(since)) = (&o.current, o.since) else {
            return p;
        };
        let Some(step) = o.plan.iter().position(|s| &s.id == current) else {
            return p;
        };
        let at = Position {
            step,
            step_fraction: p.fraction(),
            step_elapsed: step_since.elapsed().as_secs_f64(),
            elapsed: since.elapsed().as_secs_f64(),
        };
        let Some(e) = estimate::estimate(&o.plan, at) else {
            return p;
        };
        let overall = e.fraction.max(o.best);
        o.best = overall;
        p.overall_fraction = Some(overall);
        p.overall_eta_seconds = e.eta;
        p
    }

    /// Marks `step` running (its progress replaces the previous step's, keeping the whole
    /// operation's share).
    pub fn step_started(&self, step: &str) {
        self.flush_progress();
        self.overall
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current = Some((step.to_owned(), Instant::now()));
        self.throttle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .step = Progress::default();
        let fresh = self.with_overall(Progress::default());
        let progress = fresh.overall_fraction.is_some().then_some(fresh);
        let now = clock::now();
        self.update(|op| {
            op.progress = progress;
            if let Some(s) = op.steps.iter_mut().find(|s| s.id == step) {
                s.status = StepStatus::Running;
                s.started_at = Some(now);
            }
        });
    }

    /// Says what the running `step` is doing now ("waiting for Keycloak to answer"), or
    /// replaces a finished step's line (the lock's, once released).
    pub fn step_detail(&self, step: &str, detail: impl Into<String>) {
        let detail = detail.into();
        self.update(|op| {
            if let Some(s) = op.steps.iter_mut().find(|s| s.id == step) {
                s.detail = Some(detail);
            }
        });
    }

    /// Brings the whole operation's share and time left up to date when nothing was
    /// published for [`PROGRESS_INTERVAL`]: a step that reports nothing (starting Postgres,
    /// waiting for Keycloak) still moves the estimate, second by second. The supervisor
    /// calls it every second while the job runs.
    pub fn tick(&self) {
        let step = {
            let t = self.throttle.lock().unwrap_or_else(PoisonError::into_inner);
            if t.last.is_some_and(|l| l.elapsed() < PROGRESS_INTERVAL) {
                return;
            }
            t.step.clone()
        };
        let has_plan = self
            .overall
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current
            .is_some();
        if has_plan {
            self.progress(step);
        }
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
        self.throttle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .step = progress.clone();
        let progress = self.with_overall(progress);
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

    /// Adds a line to the run's log (already redacted, see [`log::Redactor`]).
    pub fn log(&self, line: String) {
        log::append(&self.id, line);
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
    use crate::jobs::tests::jobs_in;

    #[test]
    fn progress_is_written_at_most_once_a_second_and_flushed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = jobs_in(dir.path());
        jobs.operations()
            .insert(Operation {
                id: "op-1".into(),
                revision: 0,
                kind: OperationKind::Backup {
                    backup_type: None,
                    description: String::new(),
                    trigger: Trigger::Scheduled,
                    include_apps: true,
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
        let ctx = JobCtx::new(jobs.deps().clone(), "op-1".into(), CancellationToken::new());
        for done in 1..=50 {
            ctx.progress(Progress {
                bytes_done: done,
                ..Progress::default()
            });
        }
        let op = jobs.operations().get("op-1").unwrap();
        assert_eq!(op.revision, 2, "only the first of 50 updates was written");
        assert_eq!(op.progress.unwrap().bytes_done, 1);
        ctx.flush_progress();
        let op = jobs.operations().get("op-1").unwrap();
        assert_eq!((op.revision, op.progress.unwrap().bytes_done), (3, 50));
        for i in 0..30 {
            ctx.warn("same".into());
            ctx.warn(format!("w{i}"));
        }
        let op = jobs.operations().get("op-1").unwrap();
        assert_eq!(op.warnings.len(), MAX_WARNINGS, "capped");
        assert_eq!(
            op.warnings.iter().filter(|w| *w == "same").count(),
            1,
            "de-duplicated"
        );
    }

    #[test]
    fn overall_progress_weighs_the_steps() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = jobs_in(dir.path());
        jobs.operations()
            .insert(Operation {
                id: "op-2".into(),
                revision: 0,
                kind: OperationKind::Unknown,
                status: OperationStatus::Running,
                steps: crate::jobs::restore::restore_steps(false),
                progress: None,
                warnings: vec![],
                error: None,
                created_at: clock::now(),
                finished_at: None,
                outcome: None,
            })
            .unwrap();
        let ctx = JobCtx::new(jobs.deps().clone(), "op-2".into(), CancellationToken::new());
        ctx.set_weights(&[("fetch", 1.0), ("postgres", 1.0)]);
        let half = |ctx: &JobCtx| {
            ctx.with_overall(Progress {
                bytes_done: 5,
                bytes_total: Some(10),
                ..Progress::default()
            })
        };
        ctx.step_started("fetch");
        assert_eq!(half(&ctx).overall_fraction, Some(0.25));
        ctx.step_started("postgres");
        let p = half(&ctx);
        assert_eq!(p.overall_fraction, Some(0.75));
        assert_eq!(p.overall_eta_seconds, None, "no estimate in the first 2 s");
        // A step with no weight, or no total, keeps what is done so far.
        ctx.step_started("verify");
        assert_eq!(half(&ctx).overall_fraction, Some(1.0));
        let unknown = ctx.with_overall(Progress::default());
        assert_eq!(unknown.overall_fraction, Some(1.0));
        // Never backwards, even when a step's total grows.
        let ctx = JobCtx::new(jobs.deps().clone(), "op-2".into(), CancellationToken::new());
        ctx.set_weights(&[("fetch", 1.0), ("postgres", 1.0)]);
        ctx.step_started("fetch");
        assert_eq!(half(&ctx).overall_fraction, Some(0.25));
        let grown = ctx.with_overall(Progress {
            bytes_done: 5,
            bytes_total: Some(100),
            ..Progress::default()
        });
        assert_eq!(grown.overall_fraction, Some(0.25));
        // A step starts with the share done so far, not with nothing.
        ctx.step_started("postgres");
        let op = jobs.operations().get("op-2").unwrap();
        assert_eq!(op.progress.unwrap().overall_fraction, Some(0.5));
    }
}
