//! The system Postgres killed (SIGKILL to its postmaster) while pgBackRest backs it up
//! (issue 15): the backup fails saying Postgres stopped under it, leaves no catalog entry
//! and no lock; Lifeboat starts Postgres again by itself (crash recovery), the next backup
//! succeeds, and a restore of it brings back every row. Drives the real binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::path::Path;
use std::time::{Duration, Instant};

use backup_support::http::{ended, get, post, wait_instance, wait_until};
use backup_support::{assert_restic_check, open_up, psql_demo};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

/// The demo Postgres' postmaster, from its pid file.
fn postmaster(data: &Path) -> Option<u32> {
    std::fs::read_to_string(data.join("instances/demo/pg/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Whether the postgres step has copied something yet.
fn copying(op: &Value) -> bool {
    op["steps"].as_array().is_some_and(|s| {
        s.iter()
            .any(|s| s["id"] == "postgres" && s["status"] == "running")
    }) && op["progress"]["bytes_done"].as_u64().is_some_and(|b| b > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_backup_is_reported_and_started_again() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let (http, base) = (server.api(), server.url.clone());
    wait_instance(&http, &base).await;
    let (_, instance) = get(&http, &format!("{base}/api/v1/instance")).await;
    let port = instance["postgres_port"].as_u64().unwrap();
    // Enough data that pgBackRest copies for a few seconds.
    psql_demo(
        &data,
        port,
        "CREATE TABLE ballast AS SELECT g, repeat(md5(g::text), 16) AS pad FROM generate_series(1, 400000) g",
    );
    let rows = psql_demo(&data, port, "SELECT count(*) FROM ballast");
    assert_eq!(rows, "400000");

    let (status, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(120), |op| {
        copying(op) || ended(op)
    })
    .await;
    assert!(copying(&op), "pgBackRest never started copying: {op:#}");
    let killed = postmaster(&data).unwrap();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &killed.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let op = wait_until(&http, &url, Duration::from_secs(120), ended).await;
    assert_eq!(op["status"], "failed", "{op:#}");
    let err = &op["error"];
    assert_eq!(err["code"], "postgres_stopped", "{op:#}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("stopped while pgBackRest was backing it up"),
        "{err}"
    );
    assert!(
        !data.join("bucket/locks/bucket.json").exists(),
        "the lock is held"
    );
    let (_, list) = get(&http, &format!("{base}/api/v1/backups")).await;
    assert_eq!(
        list["backups"],
        json!([]),
        "nothing half-written in the catalog"
    );

    // Lifeboat starts it again, as a kubelet restarts a container.
    let started = Instant::now();
    loop {
        if postmaster(&data).is_some_and(|pid| pid != killed)
            && psql_demo(&data, port, "SELECT count(*) FROM ballast") == "400000"
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Postgres was not started again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("PostgreSQL stopped without Lifeboat stopping it")),
        "the log says what happened"
    );

    // The next backup succeeds, and restores every row.
    let (_, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(180), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    let backup = op["outcome"]["backup_id"].as_str().unwrap().to_owned();
    psql_demo(&data, port, "DROP TABLE ballast");
    let (status, op) = post(
        &http,
        &format!("{base}/api/v1/backups/{backup}/restore"),
        &json!({"confirmation": "restore backup", "target_namespace": "demo"}),
    )
    .await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(180), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    assert_eq!(
        psql_demo(&data, port, "SELECT count(*) FROM ballast"),
        "400000"
    );

    server.stop().await.unwrap();
    assert_restic_check(&data.join("bucket"));
}
