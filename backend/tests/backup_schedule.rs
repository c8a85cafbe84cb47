//! A configured schedule fires: the scheduler starts a backup at the next minute, in the same
//! pipeline as Backup Now (trigger `scheduled` in the operation and the catalog), and
//! retention runs after it. Waits for a real minute boundary (up to about a minute).
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::Duration;

use axum::http::StatusCode;
use backup_support::{env, stop};
use lifeboat_shared::operation::{OperationKind, OperationStatus, StepStatus, Trigger};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_every_minute_schedule_starts_a_backup_and_applies_retention() {
    let env = env().await;
    // One backup by hand first, so retention (keep the last 1) has something to remove.
    let first = env.backup("by hand").await;
    assert_eq!(first.status, OperationStatus::Succeeded, "{first:#?}");
    let (status, body) = env
        .put(
            "/api/v1/config",
            json!({"config": {
                "provider": {"provider": "local", "path": ""},
                "schedule": {"cron": "* * * * *", "timezone": "Europe/Berlin"},
                "retention": {"keep_last": 1},
                // Every backup a full: none depends on the one retention removes.
                "backup_policy": {"between": "full"},
            }}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    lifeboat::jobs::schedule::spawn(env.state.jobs());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    let op = loop {
        let scheduled = env.state.operations().list().into_iter().find(|o| {
            matches!(
                o.kind,
                OperationKind::Backup {
                    trigger: Trigger::Scheduled,
                    ..
                }
            )
        });
        if let Some(op) = scheduled.filter(|o| o.status.is_terminal()) {
            break op;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no scheduled backup ended within 150 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let retention = op.steps.iter().find(|s| s.id == "retention").unwrap();
    assert_eq!(retention.status, StepStatus::Succeeded, "{op:#?}");
    assert!(
        retention
            .detail
            .as_deref()
            .unwrap()
            .contains("1 old backups removed"),
        "{retention:?}"
    );
    let (_, list) = env.get("/api/v1/backups").await;
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "retention kept the last one: {list:#}");
    assert_eq!(backups[0]["trigger"]["type"], "scheduled");
    stop(&env).await;
}
