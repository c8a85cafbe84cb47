//! Tool failures surface with their step, their reason and the tool's own words.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use backup_support::{env, env_with, stop};
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat_shared::operation::{OperationStatus, StepStatus};

fn step_status(op: &lifeboat_shared::operation::Operation, id: &str) -> StepStatus {
    op.steps.iter().find(|s| s.id == id).unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_failure_names_restic_and_its_reason() {
    // A restic that opens repositories normally but whose `backup` fails like a full disk.
    let fake = tempfile::tempdir().unwrap();
    let script = fake.path().join("restic");
    std::fs::write(
        &script,
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = backup ] && { echo 'Fatal: unable to save snapshot: no space left on device' >&2; exit 1; }; done\nexec /usr/bin/restic \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut dirs: Vec<PathBuf> = vec![fake.path().to_path_buf()];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap()));
    dirs.push("/usr/lib/postgresql/15/bin".into());
    let env = env_with(Toolbox::discover_in(&dirs)).await;

    let op = env.backup("doomed").await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:#?}");
    let err = op.error.as_ref().unwrap();
    assert_eq!(err.code, "restic_failed");
    assert!(
        err.message.contains("Upload to the bucket (restic) failed"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("no space left on device"),
        "{}",
        err.message
    );
    assert_eq!(step_status(&op, "upload"), StepStatus::Failed);
    assert_eq!(step_status(&op, "catalog"), StepStatus::Pending);
    let (_, list) = env.get("/api/v1/backups").await;
    assert_eq!(
        list["backups"],
        serde_json::json!([]),
        "nothing half-written in the catalog"
    );
    assert!(!env.bucket().join("locks/bucket.json").exists());
    stop(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbackrest_failure_and_wrong_passphrase_are_explained() {
    let env = env().await;
    let instance = backup_support::layout(&env.data_dir(), "demo");

    // The staging repository becomes unwritable for the postgres user.
    let repo = instance.staging_repo();
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o000)).unwrap();
    let op = env.backup("doomed").await;
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o750)).unwrap();
    assert_eq!(op.status, OperationStatus::Failed, "{op:#?}");
    let err = op.error.as_ref().unwrap();
    assert_eq!(err.code, "pgbackrest_failed");
    assert!(
        err.message.contains("pgBackRest backup failed (exit"),
        "{}",
        err.message
    );
    assert!(
        err.message.to_lowercase().contains("permission denied"),
        "{}",
        err.message
    );
    assert_eq!(step_status(&op, "postgres"), StepStatus::Failed);
    assert!(!env.bucket().join("locks/bucket.json").exists());

    // A repository made with another passphrase: pre-flight stops before anything runs.
    std::fs::remove_dir_all(env.bucket().join("restic")).unwrap();
    let out = std::process::Command::new("restic")
        .args(["init"])
        .env("RESTIC_REPOSITORY", env.bucket().join("restic"))
        .env("RESTIC_PASSWORD", "someone-elses")
        .output()
        .unwrap();
    assert!(out.status.success());
    let op = env.backup("wrong key").await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:#?}");
    let err = op.error.as_ref().unwrap();
    assert_eq!(err.code, "wrong_passphrase");
    assert!(err.hint.as_deref().unwrap().contains("passphrase"));
    assert_eq!(step_status(&op, "preflight"), StepStatus::Failed);
    assert_eq!(step_status(&op, "lock"), StepStatus::Pending);
    stop(&env).await;
}
