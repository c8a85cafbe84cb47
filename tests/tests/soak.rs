//! The soak (issue 15; `make soak`, not in CI): Lifeboat left running for
//! `LIFEBOAT_SOAK_MINUTES` (default 60) with everything at once, to find what a single run
//! does not:
//!
//! - a scheduled backup every minute into moto, through the fault proxy, retention on
//!   (keep the last 10);
//! - a restore of the newest backup into the namespace `soak-copy` every 10 minutes,
//!   checked row for row against the source (the write load's table is insert-only, so the
//!   restored rows must be exactly the source's up to the restored highest id);
//! - a write load on the system Postgres throughout (pgbench, 20 inserts of 1 KB a second);
//! - a random bucket fault for one minute in every five (a fifth of the time);
//! - live-stream clients connecting and dropping all along.
//!
//! It prints: operations run, succeeded, failed (each failure with the fault that was on
//! while it ran: a failure no fault explains fails the soak), Lifeboat's resident memory
//! and open files over time with their slopes, the bucket's size against what the kept
//! snapshots need, and `restic check --read-data` at the end.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // A soak prints; a panic is a failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifeboat_e2e::fault_proxy::{Direction, Fault, FaultProxy};
use lifeboat_e2e::instance::Instance;
use lifeboat_e2e::live::{Sample, follow, sample, slope};
use lifeboat_e2e::page::{get_json, open_up, put_config, wait_instance, wait_operation};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const KEEP_LAST: usize = 10;
const PGBENCH: &str = "/usr/lib/postgresql/15/bin/pgbench";
const COPY: &str = "soak-copy";

/// A fault that was on, and when.
#[derive(Debug, Clone)]
struct Window {
    name: &'static str,
    from: OffsetDateTime,
    to: OffsetDateTime,
}

fn faults() -> Vec<(&'static str, Fault)> {
    let reset = |direction| Fault::Reset {
        direction,
        after: 32 * 1024,
        times: 4,
    };
    vec![
        ("latency 150 ms", Fault::Latency(Duration::from_millis(150))),
        ("bandwidth 300 kB/s", Fault::Bandwidth(300_000)),
        ("reset mid-upload", reset(Direction::Up)),
        ("reset mid-download", reset(Direction::Down)),
        (
            "503 SlowDown, 500",
            Fault::HttpError {
                statuses: &[503, 500],
                every: 2,
            },
        ),
        ("silent server", Fault::Silent),
    ]
}

fn parse(t: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t.as_str()?, &Rfc3339).ok()
}

/// `max(id)`, `count(*)` and a digest of every row up to `max_id` of the load's table.
async fn rows(instance: &Instance, max_id: Option<&str>) -> String {
    let filter = max_id.map_or_else(String::new, |m| format!("WHERE id <= {m}"));
    instance
        .psql(
            "postgres",
            &format!(
                "SELECT max(id) || ' ' || count(*) || ' ' || md5(string_agg(id || ':' || payload, ',' ORDER BY id)) FROM soak_load {filter}"
            ),
        )
        .await
        .unwrap()
}

/// Restores the newest backup into `soak-copy` and checks it row for row; returns the
/// operation and whether the rows matched.
async fn restore_and_check(server: &Lifeboat, source: &Instance, first: bool) -> (Value, bool) {
    let list = get_json(server, "/backups").await.unwrap();
    let Some(newest) = list["backups"][0]["id"].as_str() else {
        return (json!({"status": "no backup yet"}), false);
    };
    let body = json!({"confirmation": "restore backup", "target_namespace": COPY,
                      "replace_existing": !first});
    let url = format!("{}/api/v1/backups/{newest}/restore", server.url);
    let op = loop {
        let r = server.api().post(&url).json(&body).send().await.unwrap();
        let status = r.status();
        let op: Value = r.json().await.unwrap();
        match status.as_u16() {
            202 => break op,
            // A scheduled backup runs: the restore waits its turn.
            409 => tokio::time::sleep(Duration::from_secs(2)).await,
            _ => panic!("restore refused: {status} {op}"),
        }
    };
    let op = wait_operation(server, op["id"].as_str().unwrap(), 900)
        .await
        .unwrap();
    if op["status"] != "succeeded" {
        return (op, false);
    }
    let copy = Instance::all(server)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.namespace == COPY)
        .unwrap();
    let restored = rows(&copy, None).await;
    let max_id = restored.split(' ').next().unwrap_or("0").to_owned();
    let at_source = rows(source, Some(&max_id)).await;
    (op, restored == at_source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the soak: an hour (LIFEBOAT_SOAK_MINUTES) of backups, restores, load and faults; make soak"]
async fn soak() {
    let minutes: u64 = std::env::var("LIFEBOAT_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(60);
    let length = Duration::from_secs(minutes * 60);
    let moto = Moto::start(&["soak"]).await.unwrap();
    let proxy = Arc::new(FaultProxy::start(&moto.endpoint).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path()).unwrap();
    let server = Lifeboat::start_with_env(
        &dir.path().join("data"),
        &[],
        &[("LIFEBOAT_REPOSITORY_TIMEOUT_SECONDS", "30")],
    )
    .await
    .unwrap();
    let saved = put_config(
        &server,
        &json!({
            "config": {
                "provider": {"provider": "s3", "region": "us-east-1", "bucket": "soak",
                             "prefix": "soak", "endpoint": proxy.endpoint},
                "secret_name": "lifeboat-s3",
                "schedule": {"cron": "* * * * *", "timezone": "UTC"},
                "retention": {"keep_last": KEEP_LAST},
            },
            "credentials": {"provider": "s3", "access_key_id": moto.access_key_id,
                            "secret_access_key": moto.secret_access_key},
        }),
    )
    .await
    .unwrap();
    assert_eq!(saved["verify"]["ok"], true, "{saved}");
    wait_instance(&server).await.unwrap();
    let source = Instance::own(&server).await.unwrap();
    source
        .psql(
            "postgres",
            "CREATE TABLE soak_load (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), payload text)",
        )
        .await
        .unwrap();
    let started = Instant::now();

    // The write load, for the whole soak.
    let script = dir.path().join("insert.sql");
    std::fs::write(
        &script,
        "INSERT INTO soak_load (payload) VALUES (repeat(md5(random()::text), 32));\n",
    )
    .unwrap();
    open_up(dir.path()).unwrap();
    let load = source
        .client(PGBENCH)
        .args([
            "-n",
            "-c",
            "1",
            "-R",
            "20",
            "-T",
            &length.as_secs().to_string(),
            "-f",
        ])
        .arg(&script)
        .arg("postgres")
        .output();
    let load = tokio::spawn(load);

    // Faults: a random one for one minute in every five, starting at 2.5 minutes.
    let windows = Arc::new(Mutex::new(Vec::<Window>::new()));
    let injector = {
        let (proxy, windows) = (proxy.clone(), windows.clone());
        tokio::spawn(async move {
            let all = faults();
            let mut i = (OffsetDateTime::now_utc().unix_timestamp() as usize) % all.len();
            tokio::time::sleep(Duration::from_secs(150)).await;
            loop {
                let (name, fault) = all[i % all.len()].clone();
                i += 7;
                let from = OffsetDateTime::now_utc();
                proxy.set(fault);
                tokio::time::sleep(Duration::from_secs(60)).await;
                proxy.set(Fault::None);
                windows.lock().unwrap().push(Window {
                    name,
                    from,
                    to: OffsetDateTime::now_utc(),
                });
                tokio::time::sleep(Duration::from_secs(240)).await;
            }
        })
    };

    // Stream clients coming and going: five at a time, each for 1 to 20 s.
    let churn = {
        let (http, base) = (server.api(), server.url.clone());
        tokio::spawn(async move {
            let mut n: u64 = 0;
            let mut clients = tokio::task::JoinSet::new();
            loop {
                while clients.len() < 5 {
                    n += 1;
                    let stay = Duration::from_secs(1 + (n * 7919) % 20);
                    clients.spawn(follow(http.clone(), base.clone(), stay));
                }
                let _ = clients.join_next().await;
            }
        })
    };

    // Memory and files, every 15 s, until the soak ends.
    let pid = server.pid().unwrap();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(sample(pid, Duration::from_secs(15), async move {
        let _ = done_rx.await;
    }));

    // A restore every ten minutes, starting at five.
    let mut restores = Vec::new();
    let mut next_restore = Duration::from_secs(300);
    while started.elapsed() < length {
        if started.elapsed() >= next_restore {
            let (op, matched) = restore_and_check(&server, &source, restores.is_empty()).await;
            println!(
                "soak: {:>5.1} min restore {} {}",
                started.elapsed().as_secs_f64() / 60.0,
                op["status"],
                if matched { "rows match" } else { "" }
            );
            restores.push((op, matched));
            next_restore += Duration::from_secs(600);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }

    // The end: faults off, churn stopped, the last operation finished.
    injector.abort();
    proxy.set(Fault::None);
    churn.abort();
    let load = load.await.unwrap().unwrap();
    let _ = done_tx.send(());
    let samples: Vec<Sample> = sampler.await.unwrap();
    let save = get_json(&server, "/config").await.unwrap();
    let mut config = save["config"].clone();
    config["schedule"] = Value::Null;
    put_config_when_idle(&server, &json!({ "config": config })).await;
    let ops = get_json(&server, "/operations").await.unwrap()["operations"]
        .as_array()
        .unwrap()
        .clone();
    let windows = windows.lock().unwrap().clone();
    let summary = summarize(&ops, &windows, &restores);
    let backups = get_json(&server, "/backups").await.unwrap();
    let listed = backups["backups"].as_array().unwrap().len();
    let snapshots = moto.restic("soak/soak", &["snapshots", "--json"]);
    let snapshots: Vec<Value> = serde_json::from_slice(&snapshots.stdout).unwrap_or_default();
    let bucket = moto.bytes("soak", "soak/").await.unwrap();
    let stats = moto.restic("soak/soak", &["stats", "--mode", "raw-data", "--json"]);
    let needed: Value = serde_json::from_slice(&stats.stdout).unwrap_or(Value::Null);
    let check = moto.restic("soak/soak", &["check", "--read-data"]);
    let rss: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.at > 300.0)
        .map(|s| (s.at / 3600.0, s.rss_kib as f64 / 1024.0))
        .collect();
    let fds: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.at > 300.0)
        .map(|s| (s.at / 3600.0, s.fds as f64))
        .collect();

    println!("\nsoak summary ({minutes} min)");
    for line in &summary.lines {
        println!("  {line}");
    }
    println!(
        "  write load: {}",
        String::from_utf8_lossy(&load.stdout)
            .lines()
            .filter(
                |l| l.starts_with("number of transactions actually processed")
                    || l.starts_with("tps")
            )
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!(
        "  faults: {} windows of 60 s: {}",
        windows.len(),
        windows
            .iter()
            .map(|w| w.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  Lifeboat RSS: {} samples, {:.1} MiB at 5 min, {:.1} MiB at the end, max {:.1} MiB; slope after 5 min {:+.2} MiB/hour, over the second half {:+.2} MiB/hour",
        samples.len(),
        rss.first().map_or(0.0, |p| p.1),
        rss.last().map_or(0.0, |p| p.1),
        rss.iter().map(|p| p.1).fold(0.0, f64::max),
        slope(&rss),
        // Past the warm-up: the logs of the last 20 runs Lifeboat keeps in memory are full
        // after 20 backups, and the allocator's arenas have grown to the load.
        slope(&rss[rss.len() / 2..])
    );
    println!(
        "  Lifeboat RSS every 10 min: {}",
        samples
            .iter()
            .filter(|s| (s.at / 600.0).fract() < 15.0 / 600.0)
            .map(|s| format!(
                "{:.0} min {:.1} MiB",
                s.at / 60.0,
                s.rss_kib as f64 / 1024.0
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  open files: {} at 5 min, {} at the end, max {}; slope {:+.2}/hour",
        fds.first().map_or(0.0, |p| p.1),
        fds.last().map_or(0.0, |p| p.1),
        fds.iter().map(|p| p.1).fold(0.0, f64::max),
        slope(&fds)
    );
    println!(
        "  bucket: {} snapshots and {listed} catalog entries (retention keeps the last {KEEP_LAST}); {:.1} MiB stored, the kept snapshots need {:.1} MiB (restic raw-data)",
        snapshots.len(),
        bucket as f64 / 1048576.0,
        needed["total_size"].as_f64().unwrap_or(0.0) / 1048576.0,
    );
    println!(
        "  restic check --read-data: {}",
        if check.status.success() {
            "no errors"
        } else {
            "FAILED"
        }
    );
    server.stop().await.unwrap();

    assert!(
        check.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(summary.unexplained.is_empty(), "{:#?}", summary.unexplained);
    assert!(
        restores
            .iter()
            .all(|(op, matched)| *matched || op["status"] != "succeeded"),
        "a restore's rows differ from the source's"
    );
    assert!(
        snapshots.len() <= KEEP_LAST,
        "retention kept {}",
        snapshots.len()
    );
    assert_eq!(
        snapshots.len(),
        listed,
        "every snapshot has its catalog entry"
    );
}

/// Saves `body` as the configuration once no operation runs (a backup may be running).
async fn put_config_when_idle(server: &Lifeboat, body: &Value) {
    for _ in 0..600 {
        if put_config(server, body).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the configuration stayed locked");
}

struct Summary {
    lines: Vec<String>,
    unexplained: Vec<String>,
}

/// Counts the operations by kind and outcome, and explains each failure by the fault that
/// was on while it ran.
fn summarize(ops: &[Value], windows: &[Window], restores: &[(Value, bool)]) -> Summary {
    let mut lines = Vec::new();
    let mut unexplained = Vec::new();
    for kind in ["backup", "restore"] {
        let of: Vec<&Value> = ops.iter().filter(|o| o["kind"]["type"] == kind).collect();
        let count = |s: &str| of.iter().filter(|o| o["status"] == s).count();
        lines.push(format!(
            "{kind}s: {} run, {} succeeded, {} with warnings, {} failed, {} skipped (another operation ran), {} interrupted",
            of.len(),
            count("succeeded"),
            count("succeeded_with_warnings"),
            count("failed"),
            count("cancelled"),
            count("interrupted"),
        ));
        for op in of
            .iter()
            .filter(|o| o["status"] == "succeeded_with_warnings")
        {
            lines.push(format!(
                "  with warnings: {kind} {}: {}",
                op["id"].as_str().unwrap_or_default(),
                op["warnings"]
            ));
        }
        for op in of
            .iter()
            .filter(|o| o["status"] == "failed" || o["status"] == "interrupted")
        {
            let (Some(from), Some(to)) = (parse(&op["created_at"]), parse(&op["finished_at"]))
            else {
                continue;
            };
            let during: Vec<&str> = windows
                .iter()
                .filter(|w| w.from <= to && from <= w.to)
                .map(|w| w.name)
                .collect();
            let what = format!(
                "{kind} {} failed at {}: {}",
                op["id"].as_str().unwrap_or_default(),
                op["steps"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["status"] == "failed"))
                    .and_then(|s| s["id"].as_str())
                    .unwrap_or("?"),
                op["error"]["message"].as_str().unwrap_or_default()
            );
            if during.is_empty() {
                unexplained.push(what.clone());
                lines.push(format!("  UNEXPLAINED {what}"));
            } else {
                lines.push(format!("  under {}: {what}", during.join(" + ")));
            }
        }
    }
    lines.push(format!(
        "restores checked row for row: {} of {} matched the source",
        restores.iter().filter(|(_, m)| *m).count(),
        restores.len()
    ));
    Summary { lines, unexplained }
}
