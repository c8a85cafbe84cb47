//! The bucket lock in a real backup: a lock left by a killed holder expires and is taken
//! over; a live lock held by another instance blocks the backup with a clear reason.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use backup_support::{env, stop};
use lifeboat::operations::clock;
use lifeboat::storage::lock::{Holder, LockRecord};
use lifeboat_shared::operation::OperationStatus;

fn lock_of(instance: &str, op: &str, expires_in: i64) -> LockRecord {
    let expires_unix = clock::unix_now() + expires_in;
    LockRecord {
        holder: Holder {
            instance_id: instance.into(),
            namespace: "other".into(),
            host: "elsewhere".into(),
            pid: 4242,
            operation_id: op.into(),
        },
        token: "deadbeef".into(),
        acquired_at: clock::now(),
        expires_at: expires_unix.to_string(),
        expires_unix,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_lock_expires_and_a_live_one_blocks() {
    let env = env().await;
    let lock_path = env.bucket().join("locks/bucket.json");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();

    // A live lock of another instance: the backup fails at the lock step, saying who holds it.
    std::fs::write(
        &lock_path,
        serde_json::to_vec(&lock_of("other-1", "op-live", 600)).unwrap(),
    )
    .unwrap();
    let op = env.backup("blocked").await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:#?}");
    let err = op.error.unwrap();
    assert_eq!(err.code, "bucket_locked");
    assert!(
        err.message.contains("op-live") && err.message.contains("other-1"),
        "{}",
        err.message
    );
    let failed_step = op.steps.iter().find(|s| s.id == "lock").unwrap();
    assert_eq!(
        failed_step.status,
        lifeboat_shared::operation::StepStatus::Failed
    );
    assert!(lock_path.exists(), "someone else's lock is left alone");

    // The holder was killed: its lease ran out, so the next backup takes the lock over.
    std::fs::write(
        &lock_path,
        serde_json::to_vec(&lock_of("other-1", "op-dead", -5)).unwrap(),
    )
    .unwrap();
    let op = env.backup("after the holder died").await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    assert!(!lock_path.exists(), "released after the backup");
    stop(&env).await;
}
