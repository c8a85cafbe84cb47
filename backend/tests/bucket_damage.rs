//! Bad data in the bucket (issue 15): a truncated catalog manifest, a manifest naming a
//! snapshot that is not in the repository, a pack file removed, a pack file's bytes
//! changed, and a lock file of garbage. Listing says which backups are damaged and why
//! (never a 5xx), restoring a damaged one fails saying so before anything is touched, and a
//! damaged backup is never restored silently. Drives the real binary, local bucket. The
//! removed pack (restic retries for about 40 s) runs with `LIFEBOAT_FAULTS=all` (`make
//! faults`) only.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use backup_support::http::{ended, get, post, wait_instance, wait_until};
use backup_support::open_up;
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

async fn backup(http: &reqwest::Client, base: &str) -> String {
    let (status, op) = post(http, &format!("{base}/api/v1/backups"), &json!({})).await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(http, &url, Duration::from_secs(120), ended).await;
    assert_eq!(op["status"], "succeeded", "{op:#}");
    op["outcome"]["backup_id"].as_str().unwrap().to_owned()
}

/// Restores `id` into a new namespace; returns the ended operation.
async fn restore(http: &reqwest::Client, base: &str, id: &str, namespace: &str) -> Value {
    let (status, op) = post(
        http,
        &format!("{base}/api/v1/backups/{id}/restore"),
        &json!({"confirmation": "restore backup", "target_namespace": namespace}),
    )
    .await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    wait_until(http, &url, Duration::from_secs(180), ended).await
}

fn manifest_path(bucket: &Path, id: &str) -> PathBuf {
    bucket.join(format!("catalog/{id}.json"))
}

/// The repository's data packs, oldest first, without those restic keeps in its local cache
/// (tree packs: a restore reads those from the cache, so damage to them would go unnoticed
/// until the cache is gone).
fn data_packs(bucket: &Path) -> Vec<PathBuf> {
    let out = backup_support::restic(bucket, &["cat", "config"]);
    assert!(out.status.success());
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    let home = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"));
    let cached = home
        .join("restic")
        .join(config["id"].as_str().unwrap())
        .join("data");
    let out = backup_support::restic(bucket, &["list", "packs"]);
    assert!(out.status.success());
    let mut packs: Vec<(std::time::SystemTime, PathBuf)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|p| !cached.join(&p[..2]).join(p).exists())
        .map(|p| bucket.join("restic/data").join(&p[..2]).join(p))
        .map(|p| (std::fs::metadata(&p).unwrap().modified().unwrap(), p))
        .collect();
    packs.sort();
    packs.into_iter().map(|(_, p)| p).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_backups_are_named_and_never_restored_silently() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let bucket = data.join("bucket");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let (http, base) = (server.api(), server.url.clone());
    wait_instance(&http, &base).await;
    let truncated = backup(&http, &base).await;
    let missing = backup(&http, &base).await;
    let good = backup(&http, &base).await;

    // A truncated manifest, and one naming a snapshot the repository does not have.
    let text = std::fs::read_to_string(manifest_path(&bucket, &truncated)).unwrap();
    std::fs::write(manifest_path(&bucket, &truncated), &text[..text.len() / 2]).unwrap();
    let mut m: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest_path(&bucket, &missing)).unwrap())
            .unwrap();
    for c in m["components"].as_array_mut().unwrap() {
        c["snapshot_id"] =
            json!("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    }
    std::fs::write(manifest_path(&bucket, &missing), m.to_string()).unwrap();

    let (status, list) = get(&http, &format!("{base}/api/v1/backups")).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![good.as_str()], "{list:#}");
    let damaged = list["damaged"].as_array().unwrap();
    let problem = |id: &str| {
        damaged
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| d["problem"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{id} is not listed as damaged: {list:#}"))
    };
    assert!(problem(&truncated).contains("cannot be read"), "{list:#}");
    assert!(
        problem(&missing).contains("is not in the bucket"),
        "{list:#}"
    );
    // A readable entry names when it was made (the page shows it with the problem); an
    // unreadable one cannot.
    let entry = |id: &str| damaged.iter().find(|d| d["id"] == id).unwrap();
    assert!(entry(&missing)["started_at"].is_string(), "{list:#}");
    assert!(entry(&truncated).get("started_at").is_none(), "{list:#}");
    let (status, one) = get(&http, &format!("{base}/api/v1/backups/{truncated}")).await;
    assert_eq!(
        (status, one["code"].as_str()),
        (422, Some("backup_damaged")),
        "{one}"
    );

    // Restoring either fails in its pre-flight, saying why; no namespace is created.
    let op = restore(&http, &base, &truncated, "from-truncated").await;
    assert_eq!(op["status"], "failed", "{op:#}");
    assert_eq!(op["error"]["code"], "backup_damaged", "{op:#}");
    let op = restore(&http, &base, &missing, "from-missing").await;
    assert_eq!(op["status"], "failed", "{op:#}");
    assert_eq!(op["error"]["code"], "snapshot_missing", "{op:#}");
    for ns in ["from-truncated", "from-missing"] {
        assert!(
            !data.join("instances").join(ns).exists(),
            "{ns} was created"
        );
    }

    // A data pack of the good backup changed, then removed: the restore fails, never
    // succeeds.
    let newest = data_packs(&bucket).last().unwrap().clone();
    let original = std::fs::read(&newest).unwrap();
    let mut changed = original.clone();
    // A byte of the first blob's ciphertext (after its 16-byte IV): restore reads packs by
    // the index, so a byte of the pack's own header at its end would go unnoticed.
    changed[17] ^= 0xff;
    std::fs::write(&newest, &changed).unwrap();
    let op = restore(&http, &base, &good, "from-changed").await;
    assert_eq!(
        op["status"], "failed",
        "a changed pack was restored: {op:#}"
    );
    assert_eq!(op["error"]["code"], "backup_damaged", "{op:#}");
    // A removed pack costs restic's own retries (about 40 s): the whole matrix only.
    let mut tried = vec!["from-changed"];
    if std::env::var("LIFEBOAT_FAULTS").is_ok_and(|v| v == "all") {
        std::fs::remove_file(&newest).unwrap();
        let op = restore(&http, &base, &good, "from-removed").await;
        assert_eq!(
            op["status"], "failed",
            "a removed pack was restored: {op:#}"
        );
        assert_eq!(op["error"]["code"], "backup_damaged", "{op:#}");
        tried.push("from-removed");
    }
    let (_, instances) = get(&http, &format!("{base}/api/v1/instances")).await;
    for ns in tried {
        assert!(
            !instances.to_string().contains(ns),
            "{ns} is served: {instances:#}"
        );
    }
    std::fs::write(&newest, &original).unwrap();

    // A lock file of garbage: a backup says what is wrong with the lock; no 5xx anywhere.
    std::fs::write(bucket.join("locks/bucket.json"), b"\x00garbage{").unwrap();
    let (status, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let op = wait_until(&http, &url, Duration::from_secs(120), ended).await;
    assert_eq!(op["error"]["code"], "bucket_lock_damaged", "{op:#}");
    assert!(
        op["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("locks/bucket.json"),
        "{op:#}"
    );
    std::fs::remove_file(bucket.join("locks/bucket.json")).unwrap();
    backup(&http, &base).await;
    let (status, _) = get(&http, &format!("{base}/api/v1/backups")).await;
    assert_eq!(status, 200);
    server.stop().await.unwrap();
}
