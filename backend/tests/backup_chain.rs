//! Full, differential and incremental backups (issue 29): the policy takes a full when the
//! instance has none in the bucket, then incrementals that name the backup they build on;
//! Backup Now can ask for a full; each backup restores its own rows, an incremental's too;
//! retention keeps what a kept backup depends on.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::Duration;

use backup_support::{Env, env, query, stop};
use lifeboat_shared::backup::InstanceInfo;
use lifeboat_shared::operation::{OperationStatus, Outcome};
use serde_json::{Value, json};

/// Backup Now with `body`; it must succeed. Returns the backup's manifest as listed.
async fn backup(env: &Env, body: Value) -> Value {
    let (status, op) = env.post("/api/v1/backups", body).await;
    assert_eq!(status.as_u16(), 202, "{op}");
    let op = env
        .wait_done(op["id"].as_str().unwrap(), Duration::from_secs(180))
        .await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let Some(Outcome::Backup { backup_id, .. }) = op.outcome else {
        panic!("no backup id: {op:#?}")
    };
    let (_, list) = env.get("/api/v1/backups").await;
    list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == backup_id.as_str())
        .unwrap()
        .clone()
}

async fn info(env: &Env) -> InstanceInfo {
    let (_, info) = env.get("/api/v1/instance").await;
    serde_json::from_value(info).unwrap()
}

fn marks(info: &InstanceInfo) -> String {
    query(info, "appmanager", "SELECT count(*) FROM chain_marks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_then_incrementals_each_restoring_its_own_rows() {
    let env = env().await;
    let system = |d: &str| json!({"description": d, "include_apps": false});
    let first = backup(&env, system("first")).await;
    assert_eq!(
        first["backup_type"], "full",
        "none in the bucket: {first:#}"
    );
    assert_eq!(first["depends_on"], Value::Null);

    let i = info(&env).await;
    query(
        &i,
        "appmanager",
        "CREATE TABLE chain_marks (n integer); INSERT INTO chain_marks SELECT generate_series(1, 100)",
    );
    let second = backup(&env, system("second")).await;
    assert_eq!(second["backup_type"], "incr", "{second:#}");
    assert_eq!(second["depends_on"], first["id"]);
    query(
        &i,
        "appmanager",
        "INSERT INTO chain_marks SELECT generate_series(101, 150)",
    );
    let third = backup(&env, system("third")).await;
    assert_eq!(third["backup_type"], "incr");
    assert_eq!(
        third["depends_on"], second["id"],
        "an incremental builds on the last"
    );

    // Backup Now may ask for a full: a new chain.
    let fourth = backup(
        &env,
        json!({"description": "a new chain", "include_apps": false, "backup_type": "full"}),
    )
    .await;
    assert_eq!(fourth["backup_type"], "full");
    assert_eq!(fourth["depends_on"], Value::Null);
    // A type that is not one is refused.
    let (status, refused) = env
        .post("/api/v1/backups", json!({"backup_type": "weekly"}))
        .await;
    assert!(status.is_client_error(), "{status} {refused}");

    // A policy of differentials, saved; a PUT without it (as the page sends) keeps it.
    let (_, view) = env.get("/api/v1/config").await;
    let mut config = view["config"].clone();
    config["backup_policy"] = json!({"full_every_days": 0});
    let (status, refused) = env.put("/api/v1/config", json!({"config": config})).await;
    assert!(status.is_client_error(), "{status} {refused}");
    assert!(refused.to_string().contains("full_every_days"), "{refused}");
    config["backup_policy"] = json!({"full_every_days": 30, "between": "diff"});
    let (status, saved) = env.put("/api/v1/config", json!({"config": config})).await;
    assert_eq!(status.as_u16(), 200, "{saved}");
    config.as_object_mut().unwrap().remove("backup_policy");
    let (status, saved) = env.put("/api/v1/config", json!({"config": config})).await;
    assert_eq!(status.as_u16(), 200, "{saved}");
    assert_eq!(
        saved["config"]["config"]["backup_policy"]["between"], "diff",
        "{saved:#}"
    );
    let fifth = backup(&env, system("a differential")).await;
    assert_eq!(fifth["backup_type"], "diff", "{fifth:#}");
    assert_eq!(
        fifth["depends_on"], fourth["id"],
        "a differential builds on the full"
    );

    // The incremental in the middle restores its own rows, no more.
    query(&i, "appmanager", "INSERT INTO chain_marks SELECT 999");
    env.restore(
        second["id"].as_str().unwrap(),
        json!({"confirmation": "restore backup", "target_namespace": "demo"}),
    )
    .await;
    assert_eq!(marks(&info(&env).await), "100");
    stop(&env).await;
}
