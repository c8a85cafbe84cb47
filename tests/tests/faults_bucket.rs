//! Faults between Lifeboat (and restic) and the bucket, on purpose: the fault proxy sits
//! between them and moto and adds latency, caps the bandwidth, resets connections mid-upload
//! and mid-download, and answers S3 `503 SlowDown` and `500` for a share of connections.
//! For each fault, once on a backup and once on a restore (into a new namespace), the
//! operation either succeeds (restic's and object_store's retries are enough) or fails with
//! a message that names the bucket; afterwards the bucket lock is gone, the catalog lists
//! exactly the backups that succeeded, and once the fault is gone the next backup succeeds
//! and `restic check` (straight against moto) is clean.
//!
//! CI runs each fault once each way; `make faults` (`LIFEBOAT_FAULTS=all`) runs the whole
//! matrix, a server that stops answering included.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use lifeboat_e2e::fault_proxy::{Direction, Fault, FaultProxy};
use lifeboat_e2e::page::{
    backup_via_api, get_json, open_up, put_config, wait_instance, wait_operation,
};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};

/// How long one operation may take under a fault before the test calls it stuck.
const LIMIT_SECS: u64 = 240;

/// The faults: each once (CI), or the whole matrix with `LIFEBOAT_FAULTS=all` (`make
/// faults`): harsher settings and a server that stops answering, whose operations take
/// minutes to give up. `LIFEBOAT_FAULTS=<part of a name>` runs only those.
fn faults() -> Vec<(&'static str, Fault)> {
    let reset = |direction, times| Fault::Reset {
        direction,
        after: 32 * 1024,
        times,
    };
    let mut faults = vec![
        ("latency 40 ms", Fault::Latency(Duration::from_millis(40))),
        ("bandwidth 1 MB/s", Fault::Bandwidth(1_000_000)),
        ("reset mid-upload", reset(Direction::Up, 2)),
        ("reset mid-download", reset(Direction::Down, 2)),
        (
            "503 SlowDown, 500",
            Fault::HttpError {
                statuses: &[503, 500],
                every: 3,
            },
        ),
    ];
    let chosen = std::env::var("LIFEBOAT_FAULTS").unwrap_or_default();
    if !chosen.is_empty() {
        faults.extend([
            ("latency 150 ms", Fault::Latency(Duration::from_millis(150))),
            ("bandwidth 200 kB/s", Fault::Bandwidth(200_000)),
            ("reset mid-upload x8", reset(Direction::Up, 8)),
            ("reset mid-download x8", reset(Direction::Down, 8)),
            (
                "503 SlowDown, every 2nd",
                Fault::HttpError {
                    statuses: &[503],
                    every: 2,
                },
            ),
            ("silent server", Fault::Silent),
        ]);
    }
    // Any other value than `all` keeps the faults whose name contains it.
    if !chosen.is_empty() && chosen != "all" {
        faults.retain(|(name, _)| name.contains(chosen.as_str()));
    }
    faults
}

/// An operation that ended under a fault: it succeeded, or it failed saying the bucket was
/// the cause. Returns whether it succeeded.
fn succeeded_or_blamed_the_bucket(what: &str, op: &Value) -> bool {
    match op["status"].as_str() {
        Some("succeeded") => true,
        Some("failed") => {
            let message = op["error"]["message"].as_str().unwrap_or_default();
            let lower = message.to_lowercase();
            assert!(
                lower.contains("bucket") || lower.contains("storage") || lower.contains("s3"),
                "{what}: failed without naming the bucket as the cause: {message}\n{op:#}"
            );
            false
        }
        other => panic!("{what}: ended {other:?}\n{op:#}"),
    }
}

async fn restore_into(server: &Lifeboat, backup: &str, namespace: &str) -> anyhow::Result<Value> {
    let r = server
        .api()
        .post(format!("{}/api/v1/backups/{backup}/restore", server.url))
        .json(&json!({"confirmation": "restore backup", "target_namespace": namespace}))
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "restore: {status} {text}");
    let op: Value = serde_json::from_str(&text)?;
    let id = op["id"].as_str().context("no id")?.to_owned();
    wait_operation(server, &id, LIMIT_SECS).await
}

/// The promises after an operation under a fault, checked with the fault gone.
async fn nothing_left_behind(
    what: &str,
    server: &Lifeboat,
    moto: &Moto,
    succeeded: &[String],
) -> anyhow::Result<()> {
    let locks = moto.list("backups", "faults/locks/").await?;
    anyhow::ensure!(
        locks.is_empty(),
        "{what}: the bucket lock is left: {locks:?}"
    );
    let list = get_json(server, "/backups").await?;
    let mut listed: Vec<String> = list["backups"]
        .as_array()
        .context("no backups")?
        .iter()
        .filter_map(|b| b["id"].as_str().map(str::to_owned))
        .collect();
    listed.sort();
    let mut expected = succeeded.to_vec();
    expected.sort();
    anyhow::ensure!(
        listed == expected,
        "{what}: the catalog lists {listed:?}, the backups that succeeded are {expected:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_faults_on_backup_and_restore() -> anyhow::Result<()> {
    let moto = Moto::start(&["backups"]).await?;
    let proxy = FaultProxy::start(&moto.endpoint).await?;
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    // A bucket that stops answering is given 15 s per repository command, not a minute.
    let server = Lifeboat::start_with_env(
        &dir.path().join("data"),
        &[],
        &[("LIFEBOAT_REPOSITORY_TIMEOUT_SECONDS", "15")],
    )
    .await?;
    let saved = put_config(
        &server,
        &json!({
            "config": {
                "provider": {"provider": "s3", "region": "us-east-1", "bucket": "backups",
                             "prefix": "faults", "endpoint": proxy.endpoint},
                "secret_name": "lifeboat-s3",
            },
            "credentials": {"provider": "s3", "access_key_id": moto.access_key_id,
                            "secret_access_key": moto.secret_access_key},
        }),
    )
    .await?;
    assert_eq!(saved["verify"]["ok"], true, "{saved}");
    wait_instance(&server).await?;
    let first = backup_via_api(&server, "before the faults", LIMIT_SECS).await?;
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let base = first["outcome"]["backup_id"]
        .as_str()
        .context("the backup's id")?
        .to_owned();
    let mut succeeded = vec![base.clone()];

    let mut report = Vec::new();
    for (i, (name, fault)) in faults().into_iter().enumerate() {
        proxy.set(fault.clone());
        let before = proxy.injected();
        let started = Instant::now();
        let op = backup_via_api(&server, &format!("under {name}"), LIMIT_SECS).await?;
        let backup_secs = started.elapsed().as_secs_f64();
        let backup_ok = succeeded_or_blamed_the_bucket(&format!("backup under {name}"), &op);
        if backup_ok {
            let id = op["outcome"]["backup_id"]
                .as_str()
                .context("the backup's id")?;
            succeeded.push(id.to_owned());
        }
        let started = Instant::now();
        let restored = restore_into(&server, &base, &format!("fault-{i}")).await?;
        let restore_secs = started.elapsed().as_secs_f64();
        let restore_ok =
            succeeded_or_blamed_the_bucket(&format!("restore under {name}"), &restored);
        let after = proxy.injected();
        proxy.set(Fault::None);
        nothing_left_behind(name, &server, &moto, &succeeded).await?;
        for (what, op, ok) in [
            ("backup", &op, backup_ok),
            ("restore", &restored, restore_ok),
        ] {
            if !ok {
                report.push(format!(
                    "{name}: the {what} failed at {}: {}",
                    op["steps"]
                        .as_array()
                        .and_then(|s| s.iter().find(|s| s["status"] == "failed"))
                        .map_or("?", |s| s["id"].as_str().unwrap_or("?")),
                    op["error"]["message"].as_str().unwrap_or_default()
                ));
            }
        }
        report.push(format!(
            "{name:<20} backup {:<9} {backup_secs:>5.1} s   restore {:<9} {restore_secs:>5.1} s   (resets {}, errors {})",
            if backup_ok { "succeeded" } else { "failed" },
            if restore_ok { "succeeded" } else { "failed" },
            after.resets - before.resets,
            after.errors - before.errors,
        ));
        // A fault that injected nothing tested nothing.
        match &fault {
            Fault::Reset { .. } => assert!(after.resets > before.resets, "{name}: no reset"),
            Fault::HttpError { .. } => assert!(after.errors > before.errors, "{name}: no error"),
            Fault::Silent => assert!(after.silenced > before.silenced, "{name}: none silenced"),
            _ => {}
        }
    }
    eprintln!("bucket faults:\n  {}", report.join("\n  "));

    // With the fault gone: the next backup succeeds, and the repository is sound.
    let last = backup_via_api(&server, "after the faults", LIMIT_SECS).await?;
    assert_eq!(last["status"], "succeeded", "{last:#}");
    let check = moto.restic("backups/faults", &["check"]);
    assert!(
        check.status.success(),
        "restic check:\n{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    server.stop().await?;
    Ok(())
}
