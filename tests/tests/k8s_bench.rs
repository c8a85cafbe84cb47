//! The kubernetes runtime against the local one, on the same data: a benchmark that prints
//! figures (it asserts that the operations succeed, never how fast). Run:
//!
//! ```bash
//! make bench          # scale 20 (about 300 MB), 5 rounds, the release build
//! LIFEBOAT_K8S_BENCH_SCALE=2 cargo test -p lifeboat-e2e --test k8s_bench -- --ignored --nocapture
//! ```
//!
//! Both systems get the same data in their system Postgres: the namespace's Keycloak and
//! App Manager databases (the local instance's are replaced by copies of them) and
//! `pgbench -i -s $LIFEBOAT_K8S_BENCH_SCALE`, then a `CHECKPOINT`; neither runs Keycloak (the
//! namespace's is scaled to 0: the local benchmark instance runs none). Each is backed up
//! with Backup Now into moto (its own prefix; the backup's size is printed beside its
//! time) and restored in place. The kubernetes side runs Lifeboat in its pod, the
//! backup over pgBackRest's TLS protocol and the restore in a Job; the local side runs the
//! same binary on this host (`$LIFEBOAT_BIN`, else the debug build; `make bench` passes the
//! release build, as the product ships). It prints both wall times, each run's steps, and the ratio
//! kubernetes / local for the backup and for the restore (goal: at most 1.25), from the
//! medians of `LIFEBOAT_K8S_BENCH_ROUNDS` rounds (default 3) that alternate the runtimes.
//! Each time is the operation's own, from its record's creation to its end (the harness
//! polls it every 200 ms, which would blur either side by as much).
//! With `LIFEBOAT_K8S_BENCH_AUDIT=<file>` it keeps the API server's audit log there: every
//! request of every component with its time, the timeline of where the kubernetes side waits;
//! with `LIFEBOAT_K8S_BENCH_LOGS=<dir>`, every operation's log (pgBackRest's lines are timed).

#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints; a panic is a failure.

use std::sync::Arc;
use std::time::Duration;

use lifeboat_e2e::cluster::Cluster;
use lifeboat_e2e::instance::Instance;
use lifeboat_e2e::remote::{Remote, step_detail, succeeded};
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};

const PGBENCH: &str = "/usr/lib/postgresql/15/bin/pgbench";
const PG_RESTORE: &str = "/usr/lib/postgresql/15/bin/pg_restore";

fn parse_time(s: &Value) -> Option<time::OffsetDateTime> {
    s.as_str().and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    })
}

/// How long the operation took by its own record, from its creation to its end: the harness
/// looks at it every 200 ms, which would add up to 0.2 s to either side.
fn took(op: &Value) -> Duration {
    let d = parse_time(&op["finished_at"]).unwrap() - parse_time(&op["created_at"]).unwrap();
    Duration::from_secs_f64(d.as_seconds_f64())
}

/// `name  12.3 s  (preflight 0.1, lock 0.2, …)`
fn report(name: &str, op: &Value) {
    let steps: Vec<String> = op["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let d = parse_time(&s["finished_at"])? - parse_time(&s["started_at"])?;
            Some(format!("{} {:.1}", s["id"].as_str()?, d.as_seconds_f64()))
        })
        .collect();
    println!(
        "  {name:<22} {:>6.2} s  ({})",
        took(op).as_secs_f64(),
        steps.join(", ")
    );
}

/// With `LIFEBOAT_K8S_BENCH_LOGS=<dir>`, keeps the operation's log there (pgBackRest's
/// lines carry their times).
async fn keep_log(api: &Remote, op: &Value, label: &str) {
    let Some(dir) = std::env::var_os("LIFEBOAT_K8S_BENCH_LOGS") else {
        return;
    };
    let id = op["id"].as_str().unwrap();
    let text = api
        .http
        .get(format!("{}/api/v1/operations/{id}/log", api.url))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{}-{id}.log", label.replace(' ', "-"))),
        text,
    )
    .unwrap();
}

/// Backs up, then restores in place into `namespace`; returns both wall times.
async fn backup_and_restore(api: &Remote, namespace: &str, label: &str) -> (Duration, Duration) {
    let (op, _) = api
        .run(
            "/backups",
            json!({"description": "benchmark", "backup_type": "full"}),
            1200,
        )
        .await
        .unwrap();
    assert!(succeeded(&op), "{op:#}");
    report(&format!("{label} backup"), &op);
    println!("    postgres: {}", step_detail(&op, "postgres"));
    keep_log(api, &op, &format!("{label} backup")).await;
    let backup = took(&op);
    let id = op["outcome"]["backup_id"].as_str().unwrap().to_owned();
    let (op, _) = api
        .run(
            &format!("/backups/{id}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": namespace}),
            1800,
        )
        .await
        .unwrap();
    assert!(succeeded(&op), "{op:#}");
    report(&format!("{label} restore in place"), &op);
    keep_log(api, &op, &format!("{label} restore")).await;
    let restore = took(&op);
    (backup, restore)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: a control plane, two system Postgres of a few hundred MB and minutes of CPU; prints figures"]
async fn kubernetes_against_local() {
    let scale = std::env::var("LIFEBOAT_K8S_BENCH_SCALE").unwrap_or_else(|_| "20".into());
    let moto = Moto::start(&["bench"]).await.unwrap();
    let s3 = |prefix: &str| {
        json!({"provider": "s3", "region": "us-east-1", "bucket": "bench",
               "prefix": prefix, "endpoint": moto.endpoint})
    };

    // Kubernetes: Lifeboat in its pod of the Dash Enterprise-shaped namespace.
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::start)
            .await
            .unwrap()
            .unwrap(),
    );
    let c = cluster.clone();
    let ns = tokio::task::spawn_blocking(move || c.dash_namespace("dash"))
        .await
        .unwrap()
        .unwrap();
    cluster.storage_secret("dash", &moto, None).unwrap();
    // The same work on both sides: the local benchmark instance runs no Keycloak, so the
    // namespace's is scaled to 0 (a restore would otherwise also wait for its pod to go).
    cluster
        .kubectl_ok(&["-n", "dash", "scale", "deployment/keycloak", "--replicas=0"])
        .unwrap();
    cluster
        .wait("Keycloak's pod to go", || {
            cluster
                .pod_names("dash", "app=keycloak")
                .is_ok_and(|pods| pods.is_empty())
        })
        .unwrap();
    let ip = cluster.pod_ip("dash", "app=lifeboat").unwrap();
    let k8s = Remote::new(format!("http://{ip}:8080"), ns.lifeboat_token.clone());
    let (status, saved) = k8s
        .call(
            reqwest::Method::PUT,
            "/config",
            Some(json!({"config": {"provider": s3("k8s"), "secret_name": "lifeboat-storage"}})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{saved}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    while k8s
        .call(reqwest::Method::GET, "/instance", None)
        .await
        .unwrap()
        .0
        != 200
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            cluster.diagnose("dash")
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let loaded = cluster
        .postgres_client("dash", PGBENCH, &["-i", "-q", "-s", &scale, "postgres"])
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    cluster.psql("dash", "postgres", "CHECKPOINT").unwrap();

    // Local: the same binary on this host, its demo instance given the same load.
    let dir = tempfile::tempdir().unwrap();
    lifeboat_e2e::page::open_up(dir.path()).unwrap();
    let server = lifeboat_e2e::server::Lifeboat::start(&dir.path().join("data"), &[])
        .await
        .unwrap();
    let saved = lifeboat_e2e::page::put_config(
        &server,
        &json!({
            "config": {"provider": s3("local"), "secret_name": "lifeboat-s3"},
            "credentials": {"provider": "s3", "access_key_id": moto.access_key_id,
                            "secret_access_key": moto.secret_access_key},
        }),
    )
    .await
    .unwrap();
    assert_eq!(saved["verify"]["ok"], true, "{saved}");
    lifeboat_e2e::page::wait_instance(&server).await.unwrap();
    let demo = Instance::own(&server).await.unwrap();
    // The same databases beside pgbench's: the namespace's Keycloak (its real schema, made by
    // its first start, and the realm's users) and App Manager's, copied into the local
    // instance in place of its own seed (without this, the namespace's system Postgres holds
    // about a quarter more files).
    for db in ["keycloak", "appmanager"] {
        let dump = cluster
            .postgres_client("dash", "pg_dump", &["-Fc", db])
            .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        demo.psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"))
            .await
            .unwrap();
        demo.psql("postgres", &format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        let mut load = demo
            .client(PG_RESTORE)
            .args(["--no-owner", "--no-privileges", "-d", db])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = load.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, &dump.stdout)
            .await
            .unwrap();
        drop(stdin);
        assert!(load.wait().await.unwrap().success(), "pg_restore -d {db}");
    }
    let pgbench = demo
        .client(PGBENCH)
        .args(["-i", "-q", "-s", &scale, "postgres"])
        .status()
        .await
        .unwrap();
    assert!(pgbench.success());
    demo.psql("postgres", "CHECKPOINT").await.unwrap();
    let local = Remote::of(&server);

    let rounds: usize = std::env::var("LIFEBOAT_K8S_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1);
    println!(
        "pgbench scale {scale} in both system Postgres; {rounds} rounds, each runtime in turn: \
         Backup Now, then restore in place"
    );
    let (mut k8s_times, mut local_times) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        k8s_times.push(backup_and_restore(&k8s, "dash", "kubernetes").await);
        local_times.push(backup_and_restore(&local, &demo.namespace, "local").await);
    }
    let median = |times: &[(Duration, Duration)], pick: fn(&(Duration, Duration)) -> Duration| {
        let mut all: Vec<f64> = times.iter().map(|t| pick(t).as_secs_f64()).collect();
        all.sort_by(f64::total_cmp);
        all[all.len() / 2]
    };
    let (kb, kr) = (median(&k8s_times, |t| t.0), median(&k8s_times, |t| t.1));
    let (lb, lr) = (median(&local_times, |t| t.0), median(&local_times, |t| t.1));
    println!(
        "medians: kubernetes backup {kb:.2} s, restore {kr:.2} s; local backup {lb:.2} s, \
         restore {lr:.2} s"
    );
    println!(
        "kubernetes / local: backup {:.2}, restore {:.2} (goal ≤ 1.25)",
        kb / lb,
        kr / lr
    );
    if let Some(to) = std::env::var_os("LIFEBOAT_K8S_BENCH_AUDIT") {
        // For a timeline of where the kubernetes side spends its time.
        std::fs::copy(&cluster.audit_log, &to).unwrap();
        println!(
            "the API server's audit log is copied to {}",
            to.to_string_lossy()
        );
    }
    drop(server);
    drop(moto);
    drop(cluster);
}
