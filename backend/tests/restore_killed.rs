//! `lifeboat` killed (SIGKILL) in the middle of a restore, past the point of no return, and
//! started again: the operation is interrupted and says what state the instance is in, the
//! bucket lock is released, the half-restored Postgres is not started, a backup is refused,
//! and running the restore again brings the data back. Drives the real binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::Duration;

use backup_support::http::{ended, get, post, step_running, wait_instance, wait_until};
use backup_support::open_up;
use lifeboat_e2e::server::Lifeboat;
use serde_json::json;

fn users(data: &std::path::Path, port: u64) -> String {
    backup_support::psql_demo(data, port, "SELECT count(*) FROM user_entity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_restore_then_restored_again() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let bucket = data.join("bucket");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let http = server.api();
    let base = server.url.clone();
    wait_instance(&http, &base).await;
    let (status, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(120), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    let (_, list) = get(&http, &format!("{base}/api/v1/backups")).await;
    let backup = list["backups"][0]["id"].as_str().unwrap().to_owned();
    let (_, instance) = get(&http, &format!("{base}/api/v1/instance")).await;
    let port = instance["postgres_port"].as_u64().unwrap();
    assert_eq!(users(&data, port), "3001");

    let restore_url = format!("{base}/api/v1/backups/{backup}/restore");
    let body = json!({"confirmation": "restore backup", "target_namespace": "demo"});
    let (status, op) = post(&http, &restore_url, &body).await;
    assert_eq!(status, 202, "{op}");
    let id = op["id"].as_str().unwrap().to_owned();
    let op_url = format!("{base}/api/v1/operations/{id}");
    // Kill it once Postgres is stopped and pgBackRest is replacing its files.
    wait_until(&http, &op_url, Duration::from_secs(120), |op| {
        step_running(op, "postgres") || step_running(op, "start")
    })
    .await;
    assert!(bucket.join("locks/bucket.json").exists());
    drop(server); // SIGKILL
    tokio::time::sleep(Duration::from_millis(300)).await;

    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let base = server.url.clone();
    wait_instance(&http, &base).await;
    let (_, op) = get(&http, &format!("{base}/api/v1/operations/{id}")).await;
    assert_eq!(op["status"], "interrupted", "{op:#}");
    let message = op["error"]["message"].as_str().unwrap();
    assert!(message.contains("restore did not finish"), "{message}");
    assert!(
        message.contains("stopped and its data is incomplete"),
        "{message}"
    );
    assert!(
        op["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("run the restore again")
    );
    assert!(
        !bucket.join("locks/bucket.json").exists(),
        "the lock was released at start"
    );
    let (_, instance) = get(&http, &format!("{base}/api/v1/instance")).await;
    assert_eq!(instance["restore_incomplete"], id.as_str(), "{instance:#}");
    assert!(
        !data.join("instances/demo/pg/postmaster.pid").exists(),
        "the half-restored Postgres was not started"
    );
    // A backup of the half-restored instance is refused.
    let (status, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    assert_eq!(status, 202);
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(60), ended).await;
    assert_eq!(op["error"]["code"], "instance_incomplete", "{op:#}");

    // Again, to the end.
    let (status, op) = post(
        &http,
        &format!("{base}/api/v1/backups/{backup}/restore"),
        &body,
    )
    .await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(180), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    let (_, instance) = get(&http, &format!("{base}/api/v1/instance")).await;
    assert!(instance.get("restore_incomplete").is_none(), "{instance:#}");
    assert_eq!(users(&data, port), "3001");
    server.stop().await.unwrap();
}
