//! Retention after a successful backup: restic forgets (and prunes) beyond the policy, and
//! the catalog drops the entries whose snapshots are gone.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use backup_support::{assert_restic_check, env, snapshot_ids, stop};
use lifeboat_shared::config::{Provider, Retention, StorageConfig};
use lifeboat_shared::operation::OperationStatus;

/// A Lifeboat on the demo instance whose retention keeps the last backup.
async fn keeping_the_last_one() -> backup_support::Env {
    let env = env().await;
    env.state
        .config()
        .store()
        .save(&StorageConfig {
            backup_policy: None,
            provider: Provider::Local {
                path: String::new(),
            },
            secret_name: String::new(),
            schedule: None,
            retention: Retention {
                keep_last: 1,
                ..Retention::default()
            },
        })
        .await
        .unwrap();
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_last_one_leaves_one_backup_everywhere() {
    let env = keeping_the_last_one().await;
    let first = env.backup("first").await;
    assert_eq!(first.status, OperationStatus::Succeeded, "{first:#?}");
    // A full: the first backup is needed by nothing kept.
    let second = env.backup("second").await;
    assert_eq!(second.status, OperationStatus::Succeeded, "{second:#?}");
    let retention = second.steps.iter().find(|s| s.id == "retention").unwrap();
    assert_eq!(retention.detail.as_deref(), Some("1 old backups removed"));

    let (_, list) = env.get("/api/v1/backups").await;
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0]["description"], "second");
    // The second backup's two snapshots (the system's, the apps' data's) and no other.
    let named = backup_support::named_snapshots(&backups[0]);
    let mut stored = snapshot_ids(&env.bucket());
    stored.sort();
    assert_eq!((stored, named.len()), (named, 2));

    // An incremental on it (the policy's choice): the one kept needs the second, which
    // stays however few the policy keeps.
    let third = run(&env, serde_json::json!({"description": "third"})).await;
    assert_eq!(third.status, OperationStatus::Succeeded, "{third:#?}");
    let (_, list) = env.get("/api/v1/backups").await;
    let kept: Vec<(&str, &str)> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["description"].as_str().unwrap(),
                b["backup_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kept, [("third", "incr"), ("second", "full")], "{list:#}");
    assert_restic_check(&env.bucket());
    stop(&env).await;
}

/// Backup Now with `body`, to its end.
async fn run(
    env: &backup_support::Env,
    body: serde_json::Value,
) -> lifeboat_shared::operation::Operation {
    let (status, op) = env.post("/api/v1/backups", body).await;
    assert_eq!(status, axum::http::StatusCode::ACCEPTED, "{op}");
    env.wait_done(
        op["id"].as_str().unwrap(),
        std::time::Duration::from_secs(120),
    )
    .await
}

/// Backups go whole: a backup without apps' data after one with them (restic keeps the
/// apps' snapshots in a group of their own) still takes the older backup's every snapshot
/// with it, never leaving an entry whose system snapshot is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_goes_whole_when_a_later_one_has_no_apps_data() {
    let env = keeping_the_last_one().await;
    let first = env.backup("with apps").await;
    assert_eq!(first.status, OperationStatus::Succeeded, "{first:#?}");
    let second = run(
        &env,
        serde_json::json!({"description": "system only", "include_apps": false, "backup_type": "full"}),
    )
    .await;
    assert_eq!(second.status, OperationStatus::Succeeded, "{second:#?}");
    let (_, list) = env.get("/api/v1/backups").await;
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "{list:#}");
    assert_eq!(backups[0]["description"], "system only");
    let named = backup_support::named_snapshots(&backups[0]);
    let mut stored = snapshot_ids(&env.bucket());
    stored.sort();
    assert_eq!(
        (stored, named.len()),
        (named, 1),
        "the first backup's apps' snapshot went too"
    );
    assert_restic_check(&env.bucket());
    stop(&env).await;
}
