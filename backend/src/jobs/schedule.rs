//! Scheduled backups: the configured cron schedule starts backups in the same pipeline as
//! Backup Now. When another operation runs at the scheduled time, the run is skipped and the
//! skip is recorded (a warning in the log and an operation marked cancelled with the reason).

use lifeboat_shared::operation::Trigger;

use crate::app::AppState;
use crate::config::schedule::ParsedSchedule;

/// How often the scheduler re-reads the configuration (a saved change applies within this).
const TICK: std::time::Duration = std::time::Duration::from_secs(20);

/// Starts the scheduler task; it ends when Lifeboat stops.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let stop = state.jobs().shutdown_token().clone();
        let mut next: Option<(String, chrono::DateTime<chrono::Utc>)> = None;
        loop {
            let now = chrono::Utc::now();
            let schedule = crate::config::effective(&state)
                .ok()
                .and_then(|e| e.config.schedule);
            match schedule.as_ref().map(ParsedSchedule::parse) {
                Some(Ok(parsed)) => {
                    let key = format!("{schedule:?}");
                    let due = match &next {
                        Some((k, at)) if *k == key => *at,
                        _ => match parsed.next_runs(now, 1).first() {
                            Some(at) => at.with_timezone(&chrono::Utc),
                            None => now + chrono::Duration::days(365),
                        },
                    };
                    if due <= now {
                        run_once(&state);
                        next = None;
                        continue;
                    }
                    next = Some((key, due));
                }
                _ => next = None,
            }
            let wait = next
                .as_ref()
                .and_then(|(_, at)| (*at - now).to_std().ok())
                .map_or(TICK, |d| d.min(TICK));
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
}

fn run_once(state: &AppState) {
    match super::start_backup(state, String::new(), Trigger::Scheduled) {
        Ok(op) => tracing::info!(operation = %op.id, "scheduled backup started"),
        Err(super::JobsError::Busy(running)) => {
            tracing::warn!(running = %running.id, "scheduled backup skipped: another operation is running");
            super::supervisor::record_skip(state, &running.id);
        }
        Err(e) => tracing::error!(error = %e, "scheduled backup could not start"),
    }
}
