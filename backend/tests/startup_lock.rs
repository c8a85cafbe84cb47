//! Start-up retries what it could not do: a pgBackRest lock still held when Lifeboat
//! starts (the workers of a pgBackRest killed with Lifeboat can hold it for seconds) delays
//! the demo instance instead of leaving it down until the next restart; meanwhile
//! `GET /api/v1/instance` answers `503 instance_starting`, and so does a Backup Now.
//! Drives the real binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backup_support::http::{get, post};
use backup_support::open_up;
use lifeboat_e2e::server::Lifeboat;

/// How long the test holds the lock.
const HELD: Duration = Duration::from_secs(6);

/// The stanza's backup lock file under `data` (pgBackRest's `lock-path` of the demo).
fn lock_file(data: &Path) -> PathBuf {
    fn find(dir: &Path) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "lock")
                    && p.parent()
                        .is_some_and(|d| d.file_name().is_some_and(|n| n == "pgbr"))
                {
                    return Some(p.join("system-backup.lock"));
                }
                if let Some(f) = find(&p) {
                    return Some(f);
                }
            }
        }
        None
    }
    find(&data.join("instances/demo")).expect("the demo's pgBackRest lock folder")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_pgbackrest_lock_delays_start_up_instead_of_failing_it() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let http = server.api();
    backup_support::http::wait_instance(&http, &server.url).await;
    server.stop().await.unwrap();

    // What a killed pgBackRest's orphaned workers do: hold the stanza's lock a while.
    let lock = lock_file(&data);
    let mut holder = Command::new("runuser")
        .args(["-u", "postgres", "--", "flock", "-x"])
        .arg(&lock)
        .args(["sleep", &HELD.as_secs().to_string()])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // The lock is taken before Lifeboat starts.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lock.exists() {
        assert!(
            Instant::now() < deadline,
            "flock made no {}",
            lock.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let base = server.url.clone();
    let mut seen_starting = false;
    loop {
        let (status, body) = get(&http, &format!("{base}/api/v1/instance")).await;
        if status == 200 {
            break;
        }
        assert_eq!(body["code"], "instance_starting", "{status} {body}");
        if !seen_starting {
            // A Backup Now meanwhile is refused at once, not accepted to fail later.
            let (status, body) = post(
                &http,
                &format!("{base}/api/v1/backups"),
                &serde_json::json!({}),
            )
            .await;
            assert_eq!(
                (status, body["code"].as_str()),
                (503, Some("instance_starting")),
                "{body}"
            );
        }
        seen_starting = true;
        assert!(
            started.elapsed() < HELD + Duration::from_secs(60),
            "the instance never came up after the lock was released: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(seen_starting, "start-up was never seen waiting");
    assert!(
        started.elapsed() >= HELD - Duration::from_secs(2),
        "the instance came up while the lock was held ({:?})",
        started.elapsed()
    );
    holder.wait().unwrap();
    server.stop().await.unwrap();
}
