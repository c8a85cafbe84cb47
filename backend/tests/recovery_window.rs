//! Continuous protection on the local runtime: WAL shipped between backups, the recovery
//! window, and restores to a moment (in place and into a new namespace) that bring back
//! exactly the rows committed up to it.
#![allow(clippy::unwrap_used)] // Tests may panic.

mod backup_support;

use std::time::Duration;

use backup_support::{Env, env, query, stop};
use lifeboat_shared::backup::InstanceInfo;
use lifeboat_shared::operation::OperationStatus;
use lifeboat_shared::recovery::RecoveryWindow;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// Rows `from..to` inserted one commit at a time, 150 ms apart; each one's commit has
/// returned when the next starts. Returns, per row, the moment just after its commit.
async fn write_rows(info: &InstanceInfo, from: u32, to: u32) -> Vec<(u32, OffsetDateTime)> {
    let mut done = Vec::new();
    for i in from..to {
        query(
            info,
            "postgres",
            &format!("INSERT INTO pitr_rows VALUES ({i})"),
        );
        done.push((i, OffsetDateTime::now_utc()));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    done
}

/// A moment after row `i`'s commit and before the next one's.
fn between(rows: &[(u32, OffsetDateTime)], i: u32) -> OffsetDateTime {
    let at = rows.iter().find(|(r, _)| *r == i).unwrap().1;
    at + Duration::from_millis(60)
}

fn rows_in(info: &InstanceInfo) -> Vec<u32> {
    query(info, "postgres", "SELECT id FROM pitr_rows ORDER BY id")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

async fn backup_id(env: &Env) -> String {
    let op = env.backup("pitr").await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let (_, list) = env.get("/api/v1/backups").await;
    list["backups"][0]["id"].as_str().unwrap().to_owned()
}

async fn window(env: &Env) -> RecoveryWindow {
    let (status, body) = env.get("/api/v1/recovery-window").await;
    assert_eq!(status.as_u16(), 200, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn restore(env: &Env, uri: &str, body: Value) {
    let (status, op) = env.post(uri, body).await;
    assert_eq!(status.as_u16(), 202, "{op}");
    let op = env
        .wait_done(op["id"].as_str().unwrap(), Duration::from_secs(300))
        .await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_to_a_moment_brings_back_exactly_the_rows_committed_up_to_it() {
    let env = env().await;
    let info: InstanceInfo = serde_json::from_value(env.get("/api/v1/instance").await.1).unwrap();
    query(
        &info,
        "postgres",
        "CREATE TABLE pitr_rows (id int PRIMARY KEY)",
    );
    let (_, empty) = env.get("/api/v1/recovery-window").await;
    assert_eq!(empty["earliest"], Value::Null, "{empty}");

    let first = backup_id(&env).await;
    let a = write_rows(&info, 1, 9).await;
    let second = backup_id(&env).await;
    let b = write_rows(&info, 9, 17).await;
    // WAL shipped as the shipper does between operations.
    let shipped = lifeboat::jobs::ship::ship(
        env.state.jobs().deps(),
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap()
    .expect("an instance and a bucket to ship from");
    assert!(shipped.last_error.is_none(), "{shipped:?}");
    write_rows(&info, 17, 20).await;

    let w = window(&env).await;
    let (earliest, latest) = (
        OffsetDateTime::parse(w.earliest.as_deref().unwrap(), &Rfc3339).unwrap(),
        OffsetDateTime::parse(w.latest.as_deref().unwrap(), &Rfc3339).unwrap(),
    );
    assert!(earliest < a[0].1, "{w:#?}");
    assert!(
        latest >= b.last().unwrap().1,
        "the shipment reaches the last row: {w:#?}"
    );
    assert!(w.holes.is_empty(), "{w:#?}");
    assert_eq!(
        w.backups.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        [first.as_str(), second.as_str()]
    );
    assert!(w.lag_seconds.unwrap() < 60, "{w:#?}");

    // Outside the window: refused with the window, nothing started.
    for outside in [
        earliest - Duration::from_secs(3600),
        OffsetDateTime::now_utc() + Duration::from_secs(3600),
    ] {
        let (status, body) = env
            .post(
                "/api/v1/restore",
                json!({"confirmation": "restore backup", "target_namespace": info.namespace, "target_time": rfc3339(outside)}),
            )
            .await;
        assert_eq!(status.as_u16(), 422, "{body}");
        assert_eq!(body["code"], "target_time_out_of_range", "{body}");
        assert_eq!(
            body["window"]["earliest"],
            w.earliest.clone().unwrap(),
            "{body}"
        );
    }
    let (status, body) = env
        .post(
            &format!("/api/v1/backups/{first}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": info.namespace, "target_time": "yesterday"}),
        )
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    assert_eq!(body["code"], "invalid_target_time", "{body}");

    // After the second backup, from its backup and the shipped WAL, into a new namespace.
    let t2 = between(&b, 12);
    restore(
        &env,
        &format!("/api/v1/backups/{second}/restore"),
        json!({"confirmation": "restore backup", "target_namespace": "pitr-copy", "target_time": rfc3339(t2)}),
    )
    .await;
    let copy = env.state.runtime().instances().get("pitr-copy").unwrap();
    assert_eq!(rows_in(&copy.info()), (1..=12).collect::<Vec<_>>());
    copy.stop().await.unwrap();

    // Between the two backups, Lifeboat choosing the first, in place.
    let t1 = between(&a, 4);
    restore(
        &env,
        "/api/v1/restore",
        json!({"confirmation": "restore backup", "target_namespace": info.namespace, "target_time": rfc3339(t1)}),
    )
    .await;
    let info: InstanceInfo = serde_json::from_value(env.get("/api/v1/instance").await.1).unwrap();
    assert_eq!(rows_in(&info), (1..=4).collect::<Vec<_>>());
    // It takes writes again, on a new timeline.
    query(&info, "postgres", "INSERT INTO pitr_rows VALUES (100)");
    stop(&env).await;
}
