//! Apps' own data on the kubernetes runtime: the app-data Postgres StatefulSet, a Redis
//! per app and claims per app and per workspace (`lifeboat_e2e::k8s_apps`), backed up with
//! the platform (databases and RDBs read from Lifeboat's pod, files by Jobs beside their
//! claims, on the claims' nodes), then one app restored alone in place while another keeps
//! what it wrote since, then everything restored into a new namespace; Lifeboat is refused
//! nothing by the API server, and the new verb it needs is used.
//!
//! Needs the cluster binaries (`scripts/install.sh cluster`), moto, PostgreSQL, Redis,
//! restic and `target/debug/lifeboat`: `make test` provides all of them.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_e2e::cluster::{Cluster, NODES};
use lifeboat_e2e::k8s_apps::{FileTree, LaidOut, RedisKeys, same_keys};
use lifeboat_e2e::remote::{Remote as Api, step_detail, succeeded};
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};

const NS: &str = "apps";
const COPY: &str = "apps-copy";

/// What a check reads of the apps' data of a namespace.
#[derive(Debug, Clone, PartialEq)]
struct State {
    orders: BTreeMap<String, String>,
    keys: BTreeMap<String, RedisKeys>,
    files: BTreeMap<String, FileTree>,
}

fn state(cluster: &Cluster, ns: &str, laid: &LaidOut) -> State {
    let mut s = State {
        orders: BTreeMap::new(),
        keys: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    for a in &laid.apps {
        if a.postgres {
            s.orders
                .insert(a.name.clone(), cluster.app_orders(ns, &a.name).unwrap());
        }
        if a.redis {
            s.keys
                .insert(a.name.clone(), cluster.app_redis_keys(ns, &a.name).unwrap());
        }
    }
    for claim in laid.bound_file_claims() {
        s.files
            .insert(claim.clone(), cluster.claim_files(ns, &claim).unwrap());
    }
    s
}

fn same(before: &State, after: &State, what: &str) {
    assert_eq!(before.orders, after.orders, "{what}: the apps' databases");
    assert_eq!(before.files, after.files, "{what}: the claims' files");
    for (app, keys) in &before.keys {
        if let Err(e) = same_keys(keys, &after.keys[app]) {
            panic!("{what}: the Redis of {app}: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_data_on_claims_backed_up_beside_them_and_restored_alone_or_whole() {
    let clock = std::time::Instant::now();
    let lap = |what: &str| eprintln!("k8s_apps: {what} by {:.0} s", clock.elapsed().as_secs_f64());
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::start)
            .await
            .unwrap()
            .unwrap(),
    );
    let moto = Moto::start(&["backups"]).await.unwrap();
    let c = cluster.clone();
    let (ns, laid) = tokio::task::spawn_blocking(move || {
        let ns = c.dash_namespace(NS)?;
        let laid = c.lay_out_app_data(NS)?;
        anyhow::Ok((ns, laid))
    })
    .await
    .unwrap()
    .unwrap();
    lap("namespace and apps");
    let ip = cluster.pod_ip(NS, "app=lifeboat").unwrap();
    let api = Api::new(format!("http://{ip}:8080"), ns.lifeboat_token.clone());
    cluster
        .storage_secret(NS, &moto, Some("apps-passphrase"))
        .unwrap();
    let s3 = json!({"provider": "s3", "region": "us-east-1", "bucket": "backups",
                    "prefix": "apps", "endpoint": moto.endpoint});
    let (status, saved) = api
        .call(
            reqwest::Method::PUT,
            "/config",
            Some(json!({"config": {"provider": s3, "secret_name": "lifeboat-storage"}})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{saved}");

    // GET /instance lists every app with data and how a script reaches it here.
    let info = instance_up(&api).await;
    let listed: Vec<&str> = info["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = laid.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(listed, expected, "{info:#}");
    let first = &info["apps"][0];
    let one = laid.apps[0].clone();
    assert!(one.postgres && one.redis && one.files, "{one:?}");
    assert_eq!(first["postgres"]["host"], format!("app-postgres.{NS}.svc"));
    assert_eq!(first["postgres"]["database"], one.name.as_str());
    assert_eq!(
        first["redis"]["host"],
        format!("{}-redis.{NS}.svc", one.name)
    );
    assert_eq!(first["files"]["claim"], format!("{}-files", one.name));
    assert_eq!(
        info["workspaces"].as_array().unwrap().len(),
        laid.workspaces.len(),
        "{info:#}"
    );
    let other = laid
        .apps
        .iter()
        .find(|a| a.postgres && a.name != one.name)
        .unwrap()
        .clone();

    // Backup Now takes every part: databases and RDBs from Lifeboat's pod, files beside
    // their claims, each Job on its claim's node.
    let before = state(&cluster, NS, &laid);
    let (op, took) = api
        .run("/backups", json!({"description": "apps on claims"}), 600)
        .await
        .unwrap();
    assert_eq!(
        op["status"],
        "succeeded",
        "{op:#}\n{}",
        cluster.diagnose(NS)
    );
    lap(&format!("backup ({:.0} s)", took.as_secs_f64()));
    let backup = op["outcome"]["backup_id"].as_str().unwrap().to_owned();
    let (_, list) = api
        .call(reqwest::Method::GET, "/backups", None)
        .await
        .unwrap();
    let manifest = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == backup.as_str())
        .unwrap()
        .clone();
    let components: BTreeMap<&str, &Value> = manifest["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c))
        .collect();
    let mut file_snapshots = std::collections::BTreeSet::new();
    for a in &laid.apps {
        for (has, kind) in [
            (a.postgres, "postgres"),
            (a.redis, "redis"),
            (a.files, "files"),
        ] {
            let name = format!("app/{}/{kind}", a.name);
            assert_eq!(
                components.contains_key(name.as_str()),
                has,
                "{name}: {manifest:#}"
            );
            if has {
                let c = components[name.as_str()];
                assert!(c["size_bytes"].as_u64().unwrap() > 0, "{c}");
                assert!(c["duration_ms"].is_u64(), "{c}");
                if kind == "files" {
                    assert!(
                        c["method"].as_str().unwrap().contains("beside its claim"),
                        "{c}"
                    );
                    file_snapshots.insert(c["snapshot_id"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    for (w, _, open) in &laid.workspaces {
        let name = format!("workspace/{w}/files");
        // A workspace never opened has a claim never bound: nothing to back up.
        assert_eq!(components.contains_key(name.as_str()), *open, "{name}");
        if *open {
            file_snapshots.insert(
                components[name.as_str()]["snapshot_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    assert_eq!(
        file_snapshots.len(),
        laid.bound_file_claims().len(),
        "a snapshot per claim"
    );
    let log = operation_log(&api, op["id"].as_str().unwrap()).await;
    let mut nodes = std::collections::BTreeSet::new();
    for claim in laid.bound_file_claims() {
        let node = claim_node(&cluster, NS, &claim);
        nodes.insert(node.clone());
        assert!(
            log.contains(&format!("beside claim {claim} by a Job on node {node}")),
            "the Job of {claim} did not run on {node}, its claim's node:\n{log}"
        );
    }
    assert_eq!(
        nodes.len(),
        NODES.len(),
        "the claims are spread over both nodes: {nodes:?}"
    );

    // One app's data goes (its table, its keys, its files); another app writes more.
    cluster
        .app_psql(NS, &one.name, "DROP TABLE orders")
        .unwrap();
    let redis_ip = cluster
        .pod_ip(NS, &format!("app={}-redis", one.name))
        .unwrap();
    lifeboat_e2e::k8s_apps::redis_cli(&redis_ip, 6379, &["FLUSHALL"]).unwrap();
    let files = cluster
        .claim_dir(NS, &format!("{}-files", one.name))
        .unwrap();
    for e in std::fs::read_dir(&files).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    cluster
        .app_psql(
            NS,
            &other.name,
            "INSERT INTO orders SELECT i, 'late', 1, now() FROM generate_series(100001, 100010) AS i",
        )
        .unwrap();
    let others_after = cluster.app_orders(NS, &other.name).unwrap();
    let system = system_rows(&cluster, NS);

    // An unknown app is refused before anything starts.
    let (status, refused) = api
        .call(
            reqwest::Method::POST,
            &format!("/backups/{backup}/restore"),
            Some(json!({"confirmation": "restore backup", "target_namespace": NS, "apps": ["no-such-app"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("no-such-app"), "{refused}");

    // Only that app comes back.
    let (op, took) = api
        .run(
            &format!("/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": NS, "apps": [one.name]}),
            600,
        )
        .await
        .unwrap();
    assert_eq!(
        op["status"],
        "succeeded",
        "{op:#}\n{}",
        cluster.diagnose(NS)
    );
    lap(&format!("one app restored ({:.0} s)", took.as_secs_f64()));
    let apps_step = step_detail(&op, "apps");
    assert!(apps_step.contains("3 parts"), "{apps_step}");
    let log = operation_log(&api, op["id"].as_str().unwrap()).await;
    assert!(
        log.contains("scaled to 0") && log.contains("started again"),
        "the Redis is stopped and started around its restore:\n{log}"
    );
    let after = state(&cluster, NS, &laid);
    assert_eq!(after.orders[&one.name], before.orders[&one.name]);
    same_keys(&before.keys[&one.name], &after.keys[&one.name]).unwrap();
    let claim = format!("{}-files", one.name);
    assert_eq!(
        after.files[&claim], before.files[&claim],
        "hashes and modes"
    );
    assert_eq!(
        after.orders[&other.name], others_after,
        "the other app kept its rows"
    );
    assert_ne!(others_after, before.orders[&other.name]);
    assert_eq!(system_rows(&cluster, NS), system, "the system is untouched");

    // Everything into a new namespace: every app's data as it was backed up.
    let (op, took) = api
        .run(
            &format!("/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": COPY}),
            900,
        )
        .await
        .unwrap();
    assert!(succeeded(&op), "{op:#}\n{}", cluster.diagnose(COPY));
    lap(&format!(
        "everything into {COPY} ({:.0} s)",
        took.as_secs_f64()
    ));
    let copy = state(&cluster, COPY, &laid);
    same(&before, &copy, COPY);

    // Least privilege: never refused; the managed namespace's `list dashapps` was used.
    let sa = format!("system:serviceaccount:{NS}:lifeboat");
    let entries = cluster.audit_entries();
    let by_lifeboat: Vec<&Value> = entries
        .iter()
        .filter(|e| e["user"]["username"] == sa.as_str() && e["stage"] == "ResponseComplete")
        .collect();
    let refused: Vec<String> = by_lifeboat
        .iter()
        .filter(|e| e["responseStatus"]["code"] == 403)
        .map(|e| format!("{} {}", e["verb"], e["requestURI"]))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:#?}");
    for resource in ["dashapps", "persistentvolumeclaims"] {
        assert!(
            by_lifeboat.iter().any(|e| e["verb"] == "list"
                && e["objectRef"]["resource"] == resource
                && e["objectRef"]["namespace"] == COPY),
            "the managed namespaces' `list {resource}` is used in {COPY}"
        );
    }
    drop(moto);
}

/// The node a claim's volume is on (its PersistentVolume's node affinity).
fn claim_node(cluster: &Cluster, ns: &str, claim: &str) -> String {
    let pv = cluster
        .kubectl_ok(&[
            "-n",
            ns,
            "get",
            "pvc",
            claim,
            "-o",
            "jsonpath={.spec.volumeName}",
        ])
        .unwrap();
    cluster
        .kubectl_ok(&[
            "get",
            "pv",
            pv.trim(),
            "-o",
            "jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}",
        ])
        .unwrap()
        .trim()
        .to_owned()
}

/// Row counts of the system's App Manager and Keycloak tables.
fn system_rows(cluster: &Cluster, ns: &str) -> String {
    cluster
        .psql(
            ns,
            "appmanager",
            "SELECT (SELECT count(*) FROM apps) || ' ' || (SELECT count(*) FROM workspaces) || ' ' || md5(string_agg(name, ',' ORDER BY name)) FROM apps",
        )
        .unwrap()
}

async fn operation_log(api: &Api, id: &str) -> String {
    api.http
        .get(format!("{}/api/v1/operations/{id}/log", api.url))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `GET /instance` once the instance is up.
async fn instance_up(api: &Api) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, info) = api
            .call(reqwest::Method::GET, "/instance", None)
            .await
            .unwrap();
        if status == 200 {
            return info;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status} {info}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
