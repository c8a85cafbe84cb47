//! Kill at every step (issue 15): for each step of a backup and of a restore in place,
//! `lifeboat` is killed with SIGKILL right at that step's start (held there by
//! `LIFEBOAT_PAUSE_AT_STEP`, since most steps take milliseconds) and started again. Each
//! time: every process its tools started is gone within a second of the kill; after the
//! restart the operation is `interrupted` and no operation runs, the bucket lock is gone,
//! every catalog entry names a snapshot that exists; a restore killed before it stops
//! Postgres leaves the instance untouched, one killed after says so and is refused a
//! backup, and the next restore runs. At the end a restore and a backup succeed and
//! `restic check` is clean. (`backup_killed.rs` and `restore_killed.rs` kill in the middle
//! of the long steps.) Drives the real binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::path::Path;
use std::time::{Duration, Instant};

use backup_support::http::{ended, get, post, step_running, wait_instance, wait_until};
use backup_support::{assert_restic_check, open_up, processes_mentioning, psql_demo, snapshot_ids};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

const BACKUP_STEPS: [&str; 8] = [
    "preflight",
    "lock",
    "postgres",
    "configuration",
    "upload",
    "apps",
    "catalog",
    "retention",
];
/// A restore of one app's data alone: it never touches the system.
const APP_RESTORE_STEPS: [&str; 5] = ["preflight", "lock", "fetch", "apps", "checklist"];
/// A restore in place, in order (`lifeboat_e2e::restore::STEPS`); once `stop` has run,
/// the instance is no longer what it was.
const RESTORE_STEPS: [&str; 10] = lifeboat_e2e::restore::STEPS;
const POINT_OF_NO_RETURN: &str = "stop";

/// Starts Lifeboat paused at `step` (or not paused), and waits for its instance when it
/// can come up.
async fn start(data: &Path, step: Option<&str>) -> Lifeboat {
    let env: Vec<(&str, &str)> = step
        .map(|s| ("LIFEBOAT_PAUSE_AT_STEP", s))
        .into_iter()
        .collect();
    Lifeboat::start_with_env(data, &[], &env).await.unwrap()
}

/// Kills `server` once `op` runs `step`; checks every tool process is gone within 1 s.
async fn kill_at(server: Lifeboat, data: &Path, op_url: &str, step: &str) {
    let http = server.api();
    let op = wait_until(&http, op_url, Duration::from_secs(120), |op| {
        step_running(op, step) || ended(op)
    })
    .await;
    assert!(step_running(&op, step), "never reached {step}: {op:#}");
    drop(server); // SIGKILL
    let killed = Instant::now();
    loop {
        let left = processes_mentioning(data);
        if left.is_empty() {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "killed at {step}: still running a second later: {left:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The promises after a restart: the killed operation is interrupted, nothing runs, the
/// lock is gone, and every catalog entry's snapshot exists.
async fn promises_kept(server: &Lifeboat, data: &Path, id: &str, step: &str) -> Value {
    let (http, base) = (server.api(), &server.url);
    let (status, op) = get(&http, &format!("{base}/api/v1/operations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(op["status"], "interrupted", "killed at {step}: {op:#}");
    let (_, all) = get(&http, &format!("{base}/api/v1/operations")).await;
    let running: Vec<&Value> = all["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !ended(o))
        .collect();
    assert!(running.is_empty(), "killed at {step}: {running:#?}");
    let bucket = data.join("bucket");
    assert!(
        !bucket.join("locks/bucket.json").exists(),
        "killed at {step}: the lock is held"
    );
    let snapshots = snapshot_ids(&bucket);
    for entry in std::fs::read_dir(bucket.join("catalog"))
        .into_iter()
        .flatten()
    {
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        for component in manifest["components"].as_array().unwrap() {
            let snapshot = component["snapshot_id"].as_str().unwrap();
            assert!(
                snapshots.iter().any(|s| snapshot.starts_with(s.as_str())),
                "killed at {step}: the catalog names snapshot {snapshot}, not in {snapshots:?}"
            );
        }
    }
    op
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_the_start_of_every_step() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");

    // A backup to restore, then a change it does not have.
    let server = start(&data, None).await;
    let (http, base) = (server.api(), server.url.clone());
    wait_instance(&http, &base).await;
    let (_, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(120), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    let backup = op["outcome"]["backup_id"].as_str().unwrap().to_owned();
    let (_, instance) = get(&http, &format!("{base}/api/v1/instance")).await;
    let port = instance["postgres_port"].as_u64().unwrap();
    psql_demo(&data, port, "CREATE TABLE after_the_backup (x int)");
    server.stop().await.unwrap();

    // Each restart after a kill is already the next step's Lifeboat (paused at it): half
    // as many starts. A pause applies to steps of that id in any operation, which is safe
    // here: the backups a half-restored instance is refused stop in their pre-flight.
    let plan: Vec<(&str, &str)> = BACKUP_STEPS
        .iter()
        .map(|s| ("backup", *s))
        .chain(APP_RESTORE_STEPS.iter().map(|s| ("apps", *s)))
        .chain(RESTORE_STEPS.iter().map(|s| ("restore", *s)))
        .collect();
    let restore = json!({"confirmation": "restore backup", "target_namespace": "demo"});
    let app_restore =
        json!({"confirmation": "restore backup", "target_namespace": "demo", "apps": ["app-001"]});
    let mut past_the_point = false;
    let mut server = start(&data, Some(plan[0].1)).await;
    for (i, &(kind, step)) in plan.iter().enumerate() {
        let (http, base) = (server.api(), server.url.clone());
        // A half-restored instance answers /instance too (it says the restore is incomplete).
        wait_instance(&http, &base).await;
        let path = match kind {
            "backup" => format!("{base}/api/v1/backups"),
            _ => format!("{base}/api/v1/backups/{backup}/restore"),
        };
        let body = match kind {
            "backup" => json!({}),
            "apps" => app_restore.clone(),
            _ => restore.clone(),
        };
        let (status, op) = post(&http, &path, &body).await;
        assert_eq!(status, 202, "{kind} {step}: refused: {op}");
        let id = op["id"].as_str().unwrap().to_owned();
        kill_at(
            server,
            &data,
            &format!("{base}/api/v1/operations/{id}"),
            step,
        )
        .await;

        server = start(&data, plan.get(i + 1).map(|(_, s)| *s)).await;
        let (http, base) = (server.api(), server.url.clone());
        wait_instance(&http, &base).await;
        let op = promises_kept(&server, &data, &id, step).await;
        if kind == "backup" {
            continue;
        }
        let (_, instance) = get(&http, &format!("{base}/api/v1/instance")).await;
        if past_the_point {
            // Clearly marked, and a backup of it refused.
            assert_eq!(
                instance["restore_incomplete"],
                id.as_str(),
                "{step}: {instance:#}"
            );
            let message = op["error"]["message"].as_str().unwrap();
            assert!(
                message.contains("restore did not finish"),
                "{step}: {message}"
            );
            let (_, b) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
            let url = format!("{base}/api/v1/operations/{}", b["id"].as_str().unwrap());
            let b = wait_until(&http, &url, Duration::from_secs(60), ended).await;
            assert_eq!(b["error"]["code"], "instance_incomplete", "{step}: {b:#}");
        } else {
            // Untouched: running, and still with the change the backup does not have.
            assert!(
                instance.get("restore_incomplete").is_none(),
                "{step}: {instance:#}"
            );
            assert_eq!(
                psql_demo(&data, port, "SELECT count(*) FROM after_the_backup"),
                "0",
                "killed at {step}: the instance was touched"
            );
        }
        // Killed at the start of `stop`, nothing was stopped yet; from its end on, the
        // instance is the restore's.
        past_the_point |= step == POINT_OF_NO_RETURN;
    }

    // Restorable after all that, and backed up again.
    let (http, base) = (server.api(), server.url.clone());
    let (_, op) = post(
        &http,
        &format!("{base}/api/v1/backups/{backup}/restore"),
        &restore,
    )
    .await;
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(180), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    assert_eq!(
        psql_demo(
            &data,
            port,
            "SELECT to_regclass('after_the_backup') IS NULL"
        ),
        "t",
        "the restore brought back the backup's state"
    );
    let (_, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(120), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    assert_restic_check(&data.join("bucket"));
    server.stop().await.unwrap();
}
