//! Apps' own data on the local runtime: each app's managed Postgres, Redis and files and
//! each workspace's files go into Backup Now, and come back one app at a time (the system
//! and every other app untouched) or with everything into a new namespace.
#![allow(clippy::unwrap_used)] // Tests may panic.

mod backup_support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use backup_support::{env, query, stop};
use lifeboat_shared::backup::{AppInfo, InstanceInfo};
use lifeboat_shared::operation::OperationStatus;
use serde_json::{Value, json};

fn psql_app(app: &AppInfo, sql: &str) -> String {
    let pg = app.postgres.as_ref().unwrap();
    let mut psql = Command::new("psql");
    psql.args(["-h", "127.0.0.1", "-p", &pg.port.unwrap().to_string()])
        .args(["-U", "postgres", "-d", &pg.database, "-X", "-At"])
        .args(["-v", "ON_ERROR_STOP=1", "-c", sql]);
    backup_support::psql_output(psql, sql).trim().to_owned()
}

/// Every row of the app's `orders`, as one checksum with the count.
fn rows(app: &AppInfo) -> String {
    psql_app(
        app,
        "SELECT count(*) || ' ' || coalesce(md5(string_agg(o::text, ',' ORDER BY id)), '-') FROM orders o",
    )
}

fn redis(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Every key with its type, value and whether (and about how long) it lives.
fn keys(app: &AppInfo) -> BTreeMap<String, (String, String, i64)> {
    let port = app.redis.as_ref().unwrap().port.unwrap();
    let mut all = BTreeMap::new();
    for key in redis(port, &["--scan"]).lines().filter(|k| !k.is_empty()) {
        let kind = redis(port, &["TYPE", key]);
        let value = match kind.as_str() {
            "string" => redis(port, &["GET", key]),
            "hash" => redis(port, &["HGETALL", key]),
            "list" => redis(port, &["LRANGE", key, "0", "-1"]),
            other => panic!("unexpected type {other}"),
        };
        let ttl: i64 = redis(port, &["PTTL", key]).parse().unwrap();
        all.insert(key.to_owned(), (kind, value, ttl));
    }
    all
}

/// The same keys and values; a key that lives still lives, a little less long.
fn same_keys(
    before: &BTreeMap<String, (String, String, i64)>,
    after: &BTreeMap<String, (String, String, i64)>,
) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (k, (kind, value, ttl)) in before {
        let (kind2, value2, ttl2) = &after[k];
        assert_eq!((kind, value), (kind2, value2), "{k}");
        if *ttl < 0 {
            assert_eq!(ttl, ttl2, "{k}");
        } else {
            assert!(
                *ttl2 > 0 && ttl2 <= ttl && ttl - ttl2 < 300_000,
                "{k}: {ttl} then {ttl2}"
            );
        }
    }
}

/// Every file below `dir`: its content's hash and its mode.
fn files(dir: &Path) -> BTreeMap<String, (u64, u32)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, u32)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if meta.is_dir() {
                out.insert(format!("{rel}/"), (0, meta.permissions().mode() & 0o7777));
                walk(root, &e.path(), out);
            } else {
                use std::hash::{Hash as _, Hasher as _};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(e.path()).unwrap().hash(&mut h);
                out.insert(rel, (h.finish(), meta.permissions().mode() & 0o7777));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The newest backup's component names.
fn component_names(list: &Value) -> Vec<&str> {
    list["backups"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

fn folder(app: &AppInfo) -> std::path::PathBuf {
    app.files.as_ref().unwrap().folder.clone().unwrap().into()
}

fn app<'a>(info: &'a InstanceInfo, name: &str) -> &'a AppInfo {
    info.apps.iter().find(|a| a.name == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_app_alone_then_everything_into_a_new_namespace() {
    let env = env().await;
    let (_, body) = env.get("/api/v1/instance").await;
    let info: InstanceInfo = serde_json::from_value(body).unwrap();
    // As App Manager records them: app-001 has all three, app-005 a database only.
    let (a1, a5) = (app(&info, "app-001"), app(&info, "app-005"));
    assert!(
        a1.postgres.is_some() && a1.redis.is_some() && a1.files.is_some(),
        "{a1:?}"
    );
    assert!(
        a5.postgres.is_some() && a5.redis.is_none() && a5.files.is_none(),
        "{a5:?}"
    );
    assert_eq!(info.apps.len(), 14, "{:?}", info.apps);
    let ws = info.workspaces.first().unwrap().clone();
    let (rows1, keys1, files1, rows5) = (rows(a1), keys(a1), files(&folder(a1)), rows(a5));
    let ws_files = files(Path::new(ws.files.folder.as_deref().unwrap()));
    assert!(
        rows1.starts_with("1000 ") && keys1.len() == 202 && files1.len() >= 6,
        "{rows1} {} {files1:?}",
        keys1.len()
    );
    assert!(keys1.values().any(|(_, _, ttl)| *ttl > 0));
    assert!(
        files1.values().any(|(_, mode)| *mode == 0o600)
            && files1.values().any(|(_, mode)| *mode == 0o755)
    );

    // Backup Now takes every part, each named with its method and size.
    let op = env.backup("with the apps").await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let (_, list) = env.get("/api/v1/backups").await;
    let backup = &list["backups"][0];
    let id = backup["id"].as_str().unwrap().to_owned();
    let component = |name: &str| {
        backup["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {backup:#}"))
    };
    assert_eq!(component("app/app-001/postgres")["method"], "pg_dump -Fc");
    assert_eq!(component("app/app-001/redis")["method"], "redis-cli --rdb");
    assert_eq!(component("app/app-001/files")["method"], "restic");
    assert!(
        component("app/app-001/postgres")["size_bytes"]
            .as_u64()
            .unwrap()
            > 1000
    );
    component(&format!("workspace/{}/files", ws.name));

    // The bad day for app-001; a good one for app-005 and the system.
    psql_app(a1, "DROP TABLE orders");
    redis(a1.redis.as_ref().unwrap().port.unwrap(), &["FLUSHALL"]);
    std::fs::remove_dir_all(folder(a1)).unwrap();
    std::fs::create_dir_all(folder(a1)).unwrap();
    psql_app(
        a5,
        "INSERT INTO orders SELECT i, 'new', 1, now() FROM generate_series(5001, 5005) i",
    );
    let rows5_new = rows(a5);
    query(
        &info,
        "appmanager",
        "INSERT INTO apps (name, owner, git_url, status, created_at) VALUES ('after-backup', 'u', 'g', 'running', now())",
    );

    // An app the backup holds nothing of, or some apps into another namespace: refused.
    let (status, err) = env
        .post(
            &format!("/api/v1/backups/{id}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "demo", "apps": ["app-001", "nope"]}),
        )
        .await;
    assert_eq!(status.as_u16(), 422, "{err}");
    assert_eq!(err["code"], "unknown_app");
    assert!(err["message"].as_str().unwrap().contains("nope"), "{err}");
    let (status, err) = env
        .post(
            &format!("/api/v1/backups/{id}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "elsewhere", "apps": ["app-001"]}),
        )
        .await;
    assert_eq!(status.as_u16(), 400, "{err}");
    assert!(
        env.state
            .operations()
            .list()
            .iter()
            .all(|o| o.status.is_terminal())
    );

    // app-001 alone.
    let op = env
        .restore(
        &id,
        json!({"confirmation": "restore backup", "target_namespace": "demo", "apps": ["app-001"]}),
    )
    .await;
    let steps: Vec<&str> = op.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(steps, ["preflight", "lock", "fetch", "apps", "checklist"]);
    assert_eq!(rows(a1), rows1);
    same_keys(&keys1, &keys(a1));
    assert_eq!(files(&folder(a1)), files1);
    assert_eq!(rows(a5), rows5_new, "another app's new rows stay");
    assert_eq!(
        query(
            &info,
            "appmanager",
            "SELECT count(*) FROM apps WHERE name = 'after-backup'"
        ),
        "1",
        "the system is untouched"
    );
    let checklist = format!("{:?}", op.outcome);
    assert!(checklist.contains("app-001"), "{checklist}");

    // Everything into a new namespace: every app's data as it was backed up.
    env.restore(
        &id,
        json!({"confirmation": "restore backup", "target_namespace": "copy"}),
    )
    .await;
    let copy = env.state.runtime().instances().get("copy").unwrap();
    let (apps, workspaces) = copy.app_data().await.unwrap();
    let copy_info = InstanceInfo {
        apps,
        workspaces,
        ..copy.info()
    };
    let (c1, c5) = (app(&copy_info, "app-001"), app(&copy_info, "app-005"));
    assert_ne!(
        c1.redis.as_ref().unwrap().port,
        a1.redis.as_ref().unwrap().port
    );
    assert_eq!(rows(c1), rows1);
    same_keys(&keys1, &keys(c1));
    assert_eq!(files(&folder(c1)), files1);
    assert_eq!(
        rows(c5),
        rows5,
        "as backed up, without the rows added since"
    );
    let cws = copy_info
        .workspaces
        .iter()
        .find(|w| w.name == ws.name)
        .unwrap();
    assert_eq!(
        files(Path::new(cws.files.folder.as_deref().unwrap())),
        ws_files
    );
    copy.stop().await.unwrap();
    stop(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_cannot_be_taken_is_a_warning_naming_it_and_apps_can_be_left_out() {
    let env = env().await;
    let (_, body) = env.get("/api/v1/instance").await;
    let info: InstanceInfo = serde_json::from_value(body).unwrap();
    let a1 = app(&info, "app-001");
    // app-001's Redis is down during the backup; everything else is backed up.
    let port = a1.redis.as_ref().unwrap().port.unwrap();
    let _ = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "SHUTDOWN", "NOSAVE"])
        .output()
        .unwrap();
    let op = env.backup("redis down").await;
    assert_eq!(op.status, OperationStatus::SucceededWithWarnings, "{op:#?}");
    assert!(
        op.warnings.iter().any(|w| w.contains("app/app-001/redis")),
        "{:?}",
        op.warnings
    );
    let (_, list) = env.get("/api/v1/backups").await;
    let names = component_names(&list);
    assert!(!names.contains(&"app/app-001/redis"), "{names:?}");
    assert!(names.contains(&"app/app-001/postgres") && names.contains(&"app/app-021/redis"));

    // `include_apps: false`: the system alone.
    let (status, op) = env
        .post(
            "/api/v1/backups",
            json!({"description": "system only", "include_apps": false}),
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{op}");
    let op = env
        .wait_done(op["id"].as_str().unwrap(), Duration::from_secs(120))
        .await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let (_, list) = env.get("/api/v1/backups").await;
    let names = component_names(&list);
    assert_eq!(names, ["postgres", "configuration"]);
    let apps_step = op.steps.iter().find(|s| s.id == "apps").unwrap();
    assert!(
        apps_step
            .detail
            .as_deref()
            .unwrap()
            .contains("include_apps")
    );
    stop(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_is_a_warning_not_a_hung_backup() {
    let env = env().await;
    let (_, body) = env.get("/api/v1/instance").await;
    let info: InstanceInfo = serde_json::from_value(body).unwrap();
    let port = app(&info, "app-021").redis.as_ref().unwrap().port.unwrap();
    // Frozen: it accepts connections (the kernel does) and never answers.
    let pid = redis(port, &["INFO", "server"])
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let op = env.backup("a frozen redis").await;
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(op.status, OperationStatus::SucceededWithWarnings, "{op:#?}");
    assert!(
        op.warnings
            .iter()
            .any(|w| w.contains("app/app-021/redis") && w.contains("stopped answering")),
        "{:?}",
        op.warnings
    );
    let (_, list) = env.get("/api/v1/backups").await;
    let names = component_names(&list);
    assert!(names.contains(&"app/app-001/redis") && !names.contains(&"app/app-021/redis"));
    stop(&env).await;
}
