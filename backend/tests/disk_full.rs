//! Disk full (issue 15), in each place Lifeboat writes, on the real binary: the backup's
//! staging, a restore's new data directory (PGDATA), and the data dir's operation
//! records (the fetched snapshot's disk is `restore.rs`'s). Each fills at the moment it is
//! written (tmpfs volumes shrunk while `LIFEBOAT_PAUSE_AT_STEP` holds the step, or filled
//! up): the operation fails naming the place and the space needed (or, for its own
//! record, goes on with a warning), nothing half-written is left (no catalog entry, no
//! lock, no torn record), and once there is room again the same operation succeeds.
//!
//! With `LIFEBOAT_FAULTS` set (`make faults`) the staging is also full before pgBackRest
//! starts, so that WAL cannot be archived either (a minute's wait for pgBackRest).
//!
//! Needs root (tmpfs and bind mounts), as CI runs; elsewhere it says it skipped.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use backup_support::http::{ended, get, post, step_running, wait_instance, wait_until};
use backup_support::{assert_restic_check, open_up, psql_demo};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

/// Mount points, unmounted (lazily, innermost first) when the test ends, however it ends.
struct Mounts(Vec<PathBuf>);

impl Mounts {
    fn mount(&mut self, args: &[&str], at: &Path) -> bool {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(args)
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            self.0.push(at.to_path_buf());
        }
        ok
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for at in self.0.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(at).status();
        }
    }
}

/// Bytes used on the file system mounted at `at`.
fn used(at: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=used"])
        .arg(at)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Resizes the tmpfs at `at` (a smaller size than what it holds is refused).
fn resize(at: &Path, bytes: u64) {
    assert!(try_resize(at, bytes), "cannot resize {}", at.display());
}

fn try_resize(at: &Path, bytes: u64) -> bool {
    Command::new("mount")
        .args(["-o", &format!("remount,size={bytes}"), "tmpfs"])
        .arg(at)
        .status()
        .unwrap()
        .success()
}

/// Shrinks the tmpfs at `at` to what it holds and 2 MiB, while something writes to it.
fn shrink(at: &Path) {
    for _ in 0..50 {
        if try_resize(at, used(at) + 2 * 1024 * 1024) {
            return;
        }
    }
    panic!("cannot shrink {}", at.display());
}

/// Fills the file system at `at` with a file `filler`, until it refuses.
fn fill(at: &Path) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(at.join("filler")).unwrap();
    let block = vec![0_u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

/// The backup sets (pgBackRest's folders named for their labels) in a repository's
/// `backup/<stanza>` folder.
fn backup_sets(at: &Path) -> Vec<String> {
    std::fs::read_dir(at)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(|c: char| c.is_ascii_digit()))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until pgBackRest has begun a backup set that is not in `before` (it copies into a
/// folder named for the new label), or the operation at `url` has ended (then what the
/// test asserts next shows why). Watched on the disk every 10 ms rather than through the
/// API's progress, which may tell of the copy seconds late on a busy machine: a copy of a
/// few seconds could end before the test saw it begin.
async fn copy_begun(server: &Lifeboat, url: &str, sets: &Path, before: &[String]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for round in 0_u32.. {
        if backup_sets(sets).iter().any(|set| !before.contains(set)) {
            return;
        }
        if round % 50 == 49 && ended(&get(&server.api(), url).await.1) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pgBackRest began no backup set in {}",
            sets.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts an operation with POST `path`; returns its URL once its `postgres` step runs
/// (paused there by `LIFEBOAT_PAUSE_AT_STEP`).
async fn at_postgres_step(server: &Lifeboat, path: &str, body: &Value) -> String {
    let (http, base) = (server.api(), &server.url);
    let (status, op) = post(&http, &format!("{base}/api/v1{path}"), body).await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(120), |op| {
        step_running(op, "postgres") || ended(op)
    })
    .await;
    assert!(step_running(&op, "postgres"), "{op:#}");
    url
}

async fn end_of(server: &Lifeboat, url: &str) -> Value {
    wait_until(&server.api(), url, Duration::from_secs(180), ended).await
}

fn failed_step(op: &Value) -> &str {
    op["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "failed")
        .and_then(|s| s["id"].as_str())
        .unwrap_or("")
}

/// A backup that failed because its staging filled up, saying where and how much.
fn staging_full(op: &Value, instances: &Path) {
    assert_eq!(op["status"], "failed", "{op:#}");
    assert_eq!(failed_step(op), "postgres", "{op:#}");
    let err = &op["error"];
    assert_eq!(err["code"], "disk_full", "{op:#}");
    let message = err["message"].as_str().unwrap();
    let staging = instances.join("demo/staging").display().to_string();
    assert!(
        message.contains(&staging) && message.contains("needed") && message.contains("free"),
        "names the place and the space: {message}"
    );
}

/// The catalog's backup ids, and that no lock is held.
async fn catalog_and_no_lock(server: &Lifeboat, data: &Path) -> Vec<String> {
    assert!(
        !data.join("bucket/locks/bucket.json").exists(),
        "the bucket lock is held"
    );
    let (status, list) = get(&server.api(), &format!("{}/api/v1/backups", server.url)).await;
    assert_eq!(status, 200, "{list}");
    list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_named_and_leaves_nothing_torn() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let instances = data.join("instances");
    let records = data.join("operations");
    // The instances' folders on a tmpfs (staging, a new namespace's data directory), but
    // the running demo Postgres' data directory bound from the real disk: filling the
    // tmpfs must not take the demo's own WAL down with it.
    let real_pgdata = dir.path().join("demo-pg");
    std::fs::create_dir_all(&real_pgdata).unwrap();
    let mut mounts = Mounts(Vec::new());
    let mounted = mounts.mount(
        &["-t", "tmpfs", "-o", "size=1g,mode=0755", "tmpfs"],
        &instances,
    ) && mounts.mount(
        &["--bind", &real_pgdata.display().to_string()],
        &instances.join("demo/pg"),
    ) && mounts.mount(
        &["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs"],
        &records,
    );
    if !mounted {
        // CI runs as root, where the mounts work: a silent skip there would hide the test.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the full-disk tests, but a tmpfs could not be mounted"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs (needs root)");
        return;
    }
    let env = [
        ("LIFEBOAT_PAUSE_AT_STEP", "postgres"),
        ("LIFEBOAT_PAUSE_SECONDS", "3"),
        // pgBackRest tries a failed write again after 15 s, which a full disk does not
        // change: without that here, each failure is told at once.
        ("PGBACKREST_JOB_RETRY", "0"),
    ];
    let server = Lifeboat::start_with_env(&data, &[], &env).await.unwrap();
    let (http, base) = (server.api(), server.url.clone());
    wait_instance(&http, &base).await;
    let backup = json!({"description": "disk full"});
    let url = at_postgres_step(&server, "/backups", &backup).await;
    let first = end_of(&server, &url).await;
    assert_eq!(first["status"], "succeeded", "{first:#}");

    // Enough data that pgBackRest copies for a moment.
    let (_, instance) = get(&http, &format!("{base}/api/v1/instance")).await;
    let port = instance["postgres_port"].as_u64().unwrap();
    psql_demo(
        &data,
        port,
        "CREATE TABLE ballast AS SELECT g, repeat(md5(g::text), 16) AS pad FROM generate_series(1, 300000) g",
    );

    // 1. The staging fills while pgBackRest copies the backup into it.
    let roomy = 2 * 1024 * 1024 * 1024;
    let sets = instances.join("demo/staging/pgbackrest/backup/system");
    let before = backup_sets(&sets);
    let url = at_postgres_step(&server, "/backups", &backup).await;
    copy_begun(&server, &url, &sets, &before).await;
    shrink(&instances);
    let op = end_of(&server, &url).await;
    resize(&instances, roomy);
    staging_full(&op, &instances);
    if std::env::var_os("LIFEBOAT_FAULTS").is_some() {
        // Full before pgBackRest starts: WAL cannot be archived into the staging either,
        // and pgBackRest waits a minute for a segment that never comes (`[082]`).
        let url = at_postgres_step(&server, "/backups", &backup).await;
        shrink(&instances);
        let op = end_of(&server, &url).await;
        resize(&instances, roomy);
        staging_full(&op, &instances);
    }
    assert_eq!(
        catalog_and_no_lock(&server, &data).await,
        [first["outcome"]["backup_id"].as_str().unwrap()],
        "nothing half-written in the catalog"
    );
    let record: Value = serde_json::from_slice(
        &std::fs::read(records.join(format!("{}.json", op["id"].as_str().unwrap()))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["status"], "failed", "the record says so");
    // With room again, the same backup succeeds.
    let url = at_postgres_step(&server, "/backups", &backup).await;
    let second = end_of(&server, &url).await;
    assert_eq!(second["status"], "succeeded", "{second:#}");
    let backup_id = second["outcome"]["backup_id"].as_str().unwrap().to_owned();

    // 2. A new namespace's data directory fills while pgBackRest restores into it.
    let restore = json!({"confirmation": "restore backup", "target_namespace": "copy"});
    let restore_path = format!("/backups/{backup_id}/restore");
    let url = at_postgres_step(&server, &restore_path, &restore).await;
    // Room for the fetched repository to be put in place, not for the data restored from it.
    let id = url.rsplit('/').next().unwrap();
    let fetched = backup_support::du(&data.join("restores").join(id).join("pgbackrest"));
    resize(&instances, used(&instances) + fetched + 16 * 1024 * 1024);
    let op = end_of(&server, &url).await;
    resize(&instances, roomy);
    assert_eq!(op["status"], "failed", "{op:#}");
    assert_eq!(failed_step(&op), "postgres", "{op:#}");
    let err = &op["error"];
    assert_eq!(err["code"], "disk_full", "{op:#}");
    let message = err["message"].as_str().unwrap();
    let pgdata = instances.join("copy/pg").display().to_string();
    assert!(
        message.contains(&pgdata) && message.contains("needed"),
        "names the data directory and the space: {message}"
    );
    assert!(
        message.contains("namespace copy was being replaced"),
        "says what state the target is in: {message}"
    );
    catalog_and_no_lock(&server, &data).await;
    // With room again, the restore runs again over what the first one left.
    let again = json!({"confirmation": "restore backup", "target_namespace": "copy",
                       "replace_existing": true});
    let url = at_postgres_step(&server, &restore_path, &again).await;
    let op = end_of(&server, &url).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");

    psql_demo(&data, port, "DROP TABLE ballast");

    // 3. The operation records' disk is full: a new operation is refused, named.
    fill(&records);
    let (status, refused) = post(&http, &format!("{base}/api/v1/backups"), &backup).await;
    assert_eq!(status, 507, "{refused}");
    assert_eq!(refused["code"], "disk_full", "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains(&records.display().to_string()) && message.contains("needs about"),
        "{message}"
    );
    let (status, list) = get(&http, &format!("{base}/api/v1/operations")).await;
    assert_eq!(status, 200);
    let expected = if std::env::var_os("LIFEBOAT_FAULTS").is_some() {
        6
    } else {
        5
    };
    assert_eq!(
        list["operations"].as_array().unwrap().len(),
        expected,
        "{list:#}"
    );
    // It fills while one runs: the operation goes on, says so, and is written later.
    std::fs::remove_file(records.join("filler")).unwrap();
    let url = at_postgres_step(&server, "/backups", &backup).await;
    let id = url.rsplit('/').next().unwrap().to_owned();
    fill(&records);
    let op = end_of(&server, &url).await;
    assert_eq!(op["status"], "succeeded_with_warnings", "{op:#}");
    let warnings = op["warnings"].to_string();
    assert!(
        warnings.contains("record could not be written") && warnings.contains("disk is full"),
        "{warnings}"
    );
    let on_disk = || -> Value {
        serde_json::from_slice(&std::fs::read(records.join(format!("{id}.json"))).unwrap()).unwrap()
    };
    assert_eq!(
        on_disk()["status"],
        "running",
        "the last revision written, whole"
    );
    assert!(
        std::fs::read_dir(&records).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "no half-written record left"
    );
    std::fs::remove_file(records.join("filler")).unwrap();
    let url = at_postgres_step(&server, "/backups", &backup).await;
    assert_eq!(
        on_disk()["status"],
        "succeeded_with_warnings",
        "written with the next write that succeeded"
    );
    let last = end_of(&server, &url).await;
    assert_eq!(last["status"], "succeeded", "{last:#}");

    server.stop().await.unwrap();
    assert_restic_check(&data.join("bucket"));
    drop(mounts);
}
