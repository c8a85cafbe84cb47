//! Scheduled backups: the configured cron schedule starts backups in the same pipeline as
//! Backup Now. When another operation runs at the scheduled time, the run is skipped and the
//! skip is recorded (a warning in the log and an operation marked cancelled with the reason).

use lifeboat_shared::operation::Trigger;

use std::sync::Arc;

use super::Jobs;
use crate::config::schedule::ParsedSchedule;

/// How often the scheduler re-reads the configuration (a saved change applies within this).
const TICK: std::time::Duration = std::time::Duration::from_secs(20);

/// Starts the scheduler task; it ends when Lifeboat stops.
pub fn spawn(jobs: &Arc<Jobs>) {
    let jobs = jobs.clone();
    tokio::spawn(async move {
        let stop = jobs.shutdown_token().clone();
        let mut next: Option<(String, chrono::DateTime<chrono::Utc>)> = None;
        loop {
            let now = chrono::Utc::now();
            let schedule = jobs
                .config()
                .effective()
                .await
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
                        run_once(&jobs, schedule.as_ref().is_none_or(|s| s.include_apps));
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

fn run_once(jobs: &Arc<Jobs>, include_apps: bool) {
    match jobs.start_backup(String::new(), Trigger::Scheduled, include_apps, None) {
        Ok(op) => {
            tracing::info!(operation = %op.id, "scheduled backup started");
            jobs.audit().record(
                "scheduler",
                "-",
                "backup.start",
                &format!("scheduled backup as {}", op.id),
                "accepted",
            );
        }
        Err(super::JobsError::Busy(running)) => {
            tracing::warn!(running = %running.id, "scheduled backup skipped: another operation is running");
            super::supervisor::record_skip(jobs, &running.id);
            jobs.audit().record(
                "scheduler",
                "-",
                "backup.start",
                "scheduled backup",
                &format!("skipped: {} was running", running.id),
            );
        }
        Err(e) => tracing::error!(error = %e, "scheduled backup could not start"),
    }
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus};

    use super::*;
    use crate::operations::clock;

    #[test]
    fn a_scheduled_run_while_another_operation_runs_is_recorded_as_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = crate::jobs::tests::jobs_in(dir.path());
        jobs.operations()
            .insert(Operation {
                id: "op-running".into(),
                revision: 0,
                kind: OperationKind::Backup {
                    backup_type: None,
                    description: String::new(),
                    trigger: Trigger::Manual { by: "admin".into() },
                    include_apps: true,
                },
                status: OperationStatus::Running,
                steps: vec![],
                progress: None,
                warnings: vec![],
                error: None,
                created_at: clock::now(),
                finished_at: None,
                outcome: None,
            })
            .unwrap();
        let _held = jobs.gate().try_enter("op-running").unwrap();
        run_once(&jobs, true);
        let skipped: Vec<Operation> = jobs
            .operations()
            .list()
            .into_iter()
            .filter(|o| o.id != "op-running")
            .collect();
        assert_eq!(skipped.len(), 1);
        let op = &skipped[0];
        assert_eq!(op.status, OperationStatus::Cancelled);
        assert!(matches!(
            &op.kind,
            OperationKind::Backup {
                trigger: Trigger::Scheduled,
                ..
            }
        ));
        let err = op.error.as_ref().unwrap();
        assert_eq!(err.code, "skipped");
        assert!(err.message.contains("op-running"));
    }
}
