//! Start-up retries what it could not do: a pgBackRest lock still held when Lifeboat
//! starts (the workers of a pgBackRest killed with Lifeboat can hold it for seconds) delays
//! the demo instance instead of leaving it down until the next restart; meanwhile
//! `GET /api/v1/instance` answers `503 instance_starting`, and so does a Backup Now. A
//! start-up that fails is tried again with backoff and reported until it works.
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

/// A start-up that fails (here a setting PostgreSQL refuses, as a bad hand edit would be)
/// is tried again with backoff, reported by `/api/v1/health` without the error (it needs no
/// sign-in) and by `/api/v1/instance` with it, and the instance comes up once the cause is
/// gone, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_up_is_tried_again_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let http = server.api();
    backup_support::http::wait_instance(&http, &server.url).await;
    server.stop().await.unwrap();

    let auto = data.join("instances/demo/pg/postgresql.auto.conf");
    let good = std::fs::read_to_string(&auto).unwrap();
    std::fs::write(&auto, format!("{good}\nnot_a_real_setting_xyz = on\n")).unwrap();
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let base = server.url.clone();
    let started = Instant::now();
    let health = loop {
        let (status, health) = get(&http, &format!("{base}/api/v1/health")).await;
        assert_eq!(status, 200, "{health}");
        if health["instance_start"]["failed_attempts"].as_u64() >= Some(2) {
            break health;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "start-up was not tried again: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        !health.to_string().contains("not_a_real_setting"),
        "health needs no sign-in and must not carry the error: {health}"
    );
    let (status, body) = get(&http, &format!("{base}/api/v1/instance")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("instance_starting")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("attempt") && message.contains("postgres exited"),
        "{message}"
    );
    let (status, body) = post(
        &http,
        &format!("{base}/api/v1/backups"),
        &serde_json::json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("instance_starting"))
    );

    // The cause goes away: the next attempt brings the instance up.
    std::fs::write(&auto, &good).unwrap();
    let fixed = Instant::now();
    loop {
        let (_, health) = get(&http, &format!("{base}/api/v1/health")).await;
        if health.get("instance_start").is_none() {
            break;
        }
        assert!(
            fixed.elapsed() < Duration::from_secs(90),
            "the instance did not come up after the fix: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, info) = get(&http, &format!("{base}/api/v1/instance")).await;
    assert_eq!(status, 200, "{info}");
    server.stop().await.unwrap();
}
