//! `lifeboat` killed (SIGKILL) or stopped (SIGTERM) in the middle of a backup and started
//! again: the operation is interrupted (never left running), its bucket lock released, and
//! the next backup succeeds with `restic check` passing. Drives the real binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::Duration;

use backup_support::http::{get, wait_instance, wait_until};
use backup_support::{assert_restic_check, open_up, snapshot_ids};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_backup_then_restarted() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let bucket = data.join("bucket");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let http = server.api();
    let base = server.url.clone();
    wait_instance(&http, &base).await;
    let r = http
        .post(format!("{base}/api/v1/backups"))
        .json(&json!({ "description": "will be killed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let op: Value = r.json().await.unwrap();
    let id = op["id"].as_str().unwrap().to_owned();
    let op_url = format!("{base}/api/v1/operations/{id}");
    // Kill it while pgBackRest runs, the bucket lock held.
    wait_until(&http, &op_url, Duration::from_secs(60), |op| {
        op["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "postgres" && s["status"] == "running")
    })
    .await;
    assert!(bucket.join("locks/bucket.json").exists());
    drop(server); // SIGKILL
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stored: Value =
        serde_json::from_slice(&std::fs::read(data.join(format!("operations/{id}.json"))).unwrap())
            .unwrap();
    assert_eq!(
        stored["status"], "running",
        "the killed process could not record anything"
    );

    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let base = server.url.clone();
    let (status, op) = get(&http, &format!("{base}/api/v1/operations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(op["status"], "interrupted", "{op:#}");
    assert_eq!(op["error"]["code"], "interrupted");
    assert!(op["finished_at"].is_string());
    assert!(
        !op["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["status"] == "running"),
        "{op:#}"
    );
    assert!(
        !bucket.join("locks/bucket.json").exists(),
        "the lock was released at start"
    );

    wait_instance(&http, &base).await;
    let r = http
        .post(format!("{base}/api/v1/backups"))
        .json(&json!({ "description": "after the restart" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let next: Value = r.json().await.unwrap();
    let next_url = format!("{base}/api/v1/operations/{}", next["id"].as_str().unwrap());
    let done = wait_until(&http, &next_url, Duration::from_secs(120), |op| {
        !matches!(op["status"].as_str(), Some("pending" | "running"))
    })
    .await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let (_, list) = get(&http, &format!("{base}/api/v1/backups")).await;
    assert_eq!(list["backups"].as_array().unwrap().len(), 1);
    assert_eq!(list["backups"][0]["description"], "after the restart");
    assert_eq!(snapshot_ids(&bucket).len(), 1);
    assert_restic_check(&bucket);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_mid_backup_records_interrupted_itself() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let http = server.api();
    let base = server.url.clone();
    wait_instance(&http, &base).await;
    let r = http
        .post(format!("{base}/api/v1/backups"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let op: Value = r.json().await.unwrap();
    let id = op["id"].as_str().unwrap().to_owned();
    wait_until(
        &http,
        &format!("{base}/api/v1/operations/{id}"),
        Duration::from_secs(60),
        |op| {
            op["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == "postgres" && s["status"] == "running")
        },
    )
    .await;
    let status = server.stop().await.unwrap();
    assert!(status.success(), "{status:?}");
    // Recorded by the stopping process itself, lock released, Postgres stopped.
    let stored: Value =
        serde_json::from_slice(&std::fs::read(data.join(format!("operations/{id}.json"))).unwrap())
            .unwrap();
    assert_eq!(stored["status"], "interrupted", "{stored:#}");
    assert!(
        stored["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stopped")
    );
    assert!(!data.join("bucket/locks/bucket.json").exists());
    assert!(
        !data.join("instances/demo/pg/postmaster.pid").exists(),
        "Postgres was stopped"
    );
}
