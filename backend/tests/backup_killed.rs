//! `lifeboat` killed (SIGKILL) or stopped (SIGTERM) in the middle of a backup and started
//! again: the operation is interrupted (never left running), its bucket lock released, and
//! the next backup succeeds with `restic check` passing; every process its tools started
//! (pgBackRest's workers too) is gone within a second of a SIGKILL. Drives the real binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::{Duration, Instant};

use backup_support::http::{get, wait_instance, wait_until};
use backup_support::{assert_restic_check, open_up, processes_mentioning, snapshot_ids};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_backup_then_restarted() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let bucket = data.join("bucket");
    // pgBackRest's workers can outlive a pgBackRest killed with Lifeboat (a parent-death
    // signal reaches only the direct child). A wrapper makes that certain: during `backup`
    // it leaves a process in pgBackRest's group that no signal to pgBackRest ends.
    let wrapped = dir.path().join("bin");
    std::fs::create_dir_all(&wrapped).unwrap();
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v pgbackrest"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = wrapped.join("pgbackrest");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh
case \" $* \" in *\" backup \"*) sh -c 'sleep 120' straggler \"$@\" </dev/null >/dev/null 2>&1 & ;; esac
exec {} \"$@\"
",
            real.trim()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        wrapped.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let server = Lifeboat::start_with_env(&data, &[], &[("PATH", &path)])
        .await
        .unwrap();
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
    // pgBackRest runs, and so does the process it left in its group.
    let started = Instant::now();
    while !processes_mentioning(&data)
        .iter()
        .any(|p| p.contains("straggler"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the wrapped pgBackRest never ran: {:#?}",
            processes_mentioning(&data)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server); // SIGKILL
    // Every process its tools started dies with it, within a second.
    let killed = Instant::now();
    loop {
        let left = processes_mentioning(&data);
        if left.is_empty() {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "still running a second after Lifeboat was killed: {left:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    // Its two snapshots (the system's, the apps' data's), and nothing of the killed one.
    let named = backup_support::named_snapshots(&list["backups"][0]);
    assert_eq!(snapshot_ids(&bucket).len(), named.len());
    assert_eq!(named.len(), 2);
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
