//! Bringing the instances up when Lifeboat starts: tried again with backoff until it
//! works (a pgBackRest lock a killed run left, a Postgres that cannot start yet), and
//! followed by `GET /api/v1/health` and the page while it has not.
//!
//! Nothing touches an instance meanwhile: the registry publishes the instances only once
//! start-up is done with them, and Backup Now and every restore answer
//! `503 instance_starting` until then, with the last attempt's error.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::runtime::Runtime;

/// The first wait between attempts; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How start-up is going; shared by the task that runs it and the handlers that report it.
#[derive(Debug, Default)]
pub struct Startup {
    progress: Mutex<Progress>,
}

#[derive(Debug, Default, Clone)]
struct Progress {
    /// Attempts that failed so far.
    failed: u32,
    /// The last failure, as logged.
    last_error: Option<String>,
    /// When the next attempt starts, while waiting for it.
    retry_at: Option<Instant>,
    done: bool,
}

/// What `/api/v1/health` and a `503 instance_starting` say about start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupReport {
    /// Attempts that failed so far (0 while the first one runs).
    pub failed_attempts: u32,
    /// Whole seconds until the next attempt, while waiting for it.
    pub retry_in_seconds: Option<u64>,
    /// The last attempt's error (for authenticated callers only: it names paths).
    pub last_error: Option<String>,
}

impl Startup {
    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `None` once the instances are up; otherwise how far start-up got.
    pub fn report(&self) -> Option<StartupReport> {
        let p = self.progress().clone();
        (!p.done).then(|| StartupReport {
            failed_attempts: p.failed,
            retry_in_seconds: p
                .retry_at
                .map(|at| at.saturating_duration_since(Instant::now()).as_secs()),
            last_error: p.last_error,
        })
    }

    /// Runs the runtime's start-up until it succeeds or `stop` fires, waiting 1 s, 2 s,
    /// 4 s … (at most a minute) between attempts.
    pub async fn run(&self, runtime: Arc<dyn Runtime>, stop: CancellationToken) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let attempt = self.progress().failed + 1;
            let result = tokio::select! {
                () = stop.cancelled() => return,
                r = runtime.instances().start() => r,
            };
            match result {
                Ok(()) => {
                    let mut p = self.progress();
                    p.done = true;
                    p.retry_at = None;
                    if attempt > 1 {
                        tracing::info!(attempt, "the instance started");
                    }
                    return;
                }
                Err(e) => {
                    tracing::error!(
                        attempt,
                        retry_in_seconds = backoff.as_secs(),
                        error = %e,
                        "the instance did not start; trying again"
                    );
                    {
                        let mut p = self.progress();
                        p.failed = attempt;
                        p.last_error = Some(e.to_string());
                        p.retry_at = Some(Instant::now() + backoff);
                    }
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    self.progress().retry_at = None;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}
