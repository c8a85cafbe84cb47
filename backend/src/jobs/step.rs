//! One step of an operation: how it fails, and the wrapper that moves it through
//! pending → running → succeeded/failed. Shared by every kind of job.

use lifeboat_shared::operation::StepStatus;

use super::context::JobCtx;
use crate::runtime::RuntimeError;

/// Pending steps from `(id, title)` pairs, in order.
pub fn pending_steps(list: &[(&str, &str)]) -> Vec<lifeboat_shared::operation::Step> {
    list.iter()
        .map(|(id, title)| lifeboat_shared::operation::Step {
            id: (*id).into(),
            title: (*title).into(),
            status: StepStatus::Pending,
            started_at: None,
            finished_at: None,
            detail: None,
        })
        .collect()
}

/// Why a step did not finish.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// It failed: a stable code, what happened (with the tool's last words), what to do.
    #[error("{message}")]
    Failed {
        /// e.g. `wrong_passphrase`, `pgbackrest_failed`.
        code: &'static str,
        /// For people.
        message: String,
        /// What to do next.
        hint: Option<String>,
    },
    /// It was stopped (cancel, shutdown or a lost lock).
    #[error("stopped")]
    Cancelled,
}

/// A failed step error.
pub fn failed(code: &'static str, message: impl Into<String>, hint: Option<&str>) -> StepError {
    StepError::Failed {
        code,
        message: message.into(),
        hint: hint.map(str::to_owned),
    }
}

impl From<RuntimeError> for StepError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Cancelled(_) => Self::Cancelled,
            RuntimeError::Missing(tool) => failed(
                "tool_missing",
                format!("{tool} is not installed"),
                Some("install it (scripts/install.sh) and restart Lifeboat"),
            ),
            other => failed("tool_error", other.to_string(), None),
        }
    }
}

/// A failed operation: which step, and why.
#[derive(Debug)]
pub struct StepFailure {
    /// The step's id.
    pub step: &'static str,
    /// Why.
    pub error: StepError,
}

/// A fault-injection hook for the fault tests: `LIFEBOAT_PAUSE_AT_STEP=<step id>` makes
/// every step of that id wait `LIFEBOAT_PAUSE_SECONDS` (default 30) once it is recorded as
/// running, before it does anything, so a test can kill Lifeboat or fill a disk at exactly
/// that step's start (most steps take milliseconds). Unset, nothing waits; read once.
fn pause_at(id: &str) -> Option<std::time::Duration> {
    static PAUSE: std::sync::OnceLock<Option<(String, u64)>> = std::sync::OnceLock::new();
    PAUSE
        .get_or_init(|| {
            let step = std::env::var("LIFEBOAT_PAUSE_AT_STEP").ok()?;
            let secs = std::env::var("LIFEBOAT_PAUSE_SECONDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(30);
            Some((step, secs))
        })
        .as_ref()
        .filter(|(step, _)| step == id)
        .map(|(_, secs)| std::time::Duration::from_secs(*secs))
}

/// Runs one step of `ctx`'s operation: marks it running, then succeeded (with its detail) or failed.
pub async fn step<T>(
    ctx: &JobCtx,
    id: &'static str,
    fut: impl Future<Output = Result<(T, Option<String>), StepError>>,
) -> Result<T, StepFailure> {
    if ctx.cancel.is_cancelled() {
        return Err(StepFailure {
            step: id,
            error: StepError::Cancelled,
        });
    }
    ctx.step_started(id);
    if let Some(pause) = pause_at(id) {
        tracing::warn!(
            step = id,
            seconds = pause.as_secs(),
            "LIFEBOAT_PAUSE_AT_STEP: pausing"
        );
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = ctx.cancel.cancelled() => {}
        }
    }
    match fut.await {
        Ok((value, detail)) => {
            ctx.step_finished(id, StepStatus::Succeeded, detail);
            Ok(value)
        }
        Err(error) => {
            // Stopped: cancelled, as the supervisor keeps it only when the operation was
            // (a shutdown or a lost lock makes it failed there).
            let (status, detail) = match &error {
                StepError::Cancelled => (StepStatus::Cancelled, "stopped".to_owned()),
                StepError::Failed { message, .. } => (StepStatus::Failed, message.clone()),
            };
            ctx.step_finished(id, status, Some(detail));
            Err(StepFailure { step: id, error })
        }
    }
}
