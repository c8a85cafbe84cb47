//! Backup Now end to end with real PostgreSQL, pgBackRest and restic into a local-folder
//! bucket; the 409 for a second one; validation; cancellation; the event stream.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::Duration;

use axum::http::StatusCode;
use backup_support::{assert_restic_check, env, snapshot_ids, stop};
use lifeboat_shared::operation::{OperationStatus, Outcome, StepStatus};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_now_writes_snapshot_then_catalog_and_a_second_one_gets_409() {
    let env = env().await;
    let (status, first) = env
        .post(
            "/api/v1/backups",
            json!({ "description": "before the upgrade" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["status"], "pending");
    let id = first["id"].as_str().unwrap().to_owned();

    // Exactly one runs: the second gets 409 with the running operation.
    let (status, busy) = env.post("/api/v1/backups", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    assert_eq!(busy["code"], "operation_running");
    assert_eq!(busy["operation"]["id"], id.as_str());

    let op = env.wait_done(&id, Duration::from_secs(120)).await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    assert!(
        op.steps.iter().all(|s| s.status == StepStatus::Succeeded),
        "{op:#?}"
    );
    let Some(Outcome::Backup { backup_id }) = op.outcome else {
        panic!("{op:#?}")
    };
    assert_eq!(
        env.state.operations().list().len(),
        1,
        "the 409 recorded nothing"
    );

    let (status, list) = env.get("/api/v1/backups").await;
    assert_eq!(status, StatusCode::OK);
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1);
    let m = &backups[0];
    assert_eq!(m["id"], backup_id.as_str());
    assert_eq!(m["description"], "before the upgrade");
    assert_eq!(m["source"]["namespace"], "demo");
    assert_eq!(m["postgres_major"], 15);
    assert_eq!(m["encrypted"], false);
    let snapshot = m["components"][0]["snapshot_id"].as_str().unwrap();
    assert!(
        m["components"][0]["pgbackrest_label"]
            .as_str()
            .unwrap()
            .ends_with('F')
    );
    // Two snapshots: the system's, and the apps' data's.
    let named = backup_support::named_snapshots(m);
    assert_eq!(named.len(), 2, "{m:#}");
    assert!(named.contains(&snapshot.to_owned()));
    let mut stored = snapshot_ids(&env.bucket());
    stored.sort();
    assert_eq!(stored, named);
    assert_restic_check(&env.bucket());

    let (status, one) = env.get(&format!("/api/v1/backups/{backup_id}")).await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &json!(backup_id)));
    let (status, _) = env.get("/api/v1/backups/bk-nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !env.bucket().join("locks/bucket.json").exists(),
        "lock released"
    );

    // The second backup adds little: unchanged relation files deduplicate.
    let second = env.backup("").await;
    assert_eq!(second.status, OperationStatus::Succeeded, "{second:#?}");
    let (_, list) = env.get("/api/v1/backups").await;
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 2);
    let added = backups[0]["bytes_added"].as_u64().unwrap();
    let size = backups[0]["size_bytes"].as_u64().unwrap();
    assert!(
        added * 10 < size,
        "second backup added {added} of {size} bytes"
    );
    stop(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_descriptions_are_400_and_cancel_leaves_no_catalog_entry() {
    let env = env().await;
    for bad in [
        json!({ "description": "x".repeat(501) }),
        json!({ "description": "a\nb" }),
    ] {
        let (status, body) = env.post("/api/v1/backups", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "invalid_description");
    }
    let (status, _) = env.post("/api/v1/backups", json!({ "what": 1 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, op) = env.post("/api/v1/backups", json!({})).await;
    let id = op["id"].as_str().unwrap().to_owned();
    // Cancel once pgBackRest is running.
    for _ in 0..300 {
        let cur = env.state.operations().get(&id).unwrap();
        if cur.current_step().is_some_and(|s| s.id == "postgres") || cur.status.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = env
        .post(&format!("/api/v1/operations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let op = env.wait_done(&id, Duration::from_secs(30)).await;
    assert_eq!(op.status, OperationStatus::Cancelled, "{op:#?}");
    assert_eq!(op.error.as_ref().unwrap().code, "cancelled");
    let (_, list) = env.get("/api/v1/backups").await;
    assert_eq!(list["backups"], json!([]));
    assert!(
        !env.bucket().join("locks/bucket.json").exists(),
        "lock released"
    );
    let (status, _) = env
        .post(&format!("/api/v1/operations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // And the next one succeeds.
    assert_eq!(
        env.backup("after cancel").await.status,
        OperationStatus::Succeeded
    );
    let (status, ops) = env.get("/api/v1/operations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ops["operations"].as_array().unwrap().len(), 2);
    assert_eq!(ops["operations"][0]["status"], "succeeded", "newest first");
    let (status, inst) = env.get("/api/v1/instance").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inst["namespace"], "demo");
    assert!(inst["postgres_port"].as_u64().unwrap() > 0);
    stop(&env).await;
}
