//! The apps' own data against the raw tools (prints figures, asserts no speed). Run:
//!
//! ```bash
//! cargo test -p lifeboat --release --test apps_bench -- --ignored --nocapture
//! LIFEBOAT_APPS_BENCH_SIZE=0.05 cargo test -p lifeboat --test apps_bench -- --ignored --nocapture  # quick
//! ```
//!
//! At size 1 (the default): an app-data Postgres of about 1 GB across 10 apps (pgbench scale
//! 7 in each), a Redis of 1 million keys (app-011's), and 2 GB of files of mixed sizes
//! (app-004's: many small, a few large, incompressible). Each is measured in the same run as
//! Lifeboat does it and as the raw tool does the same work alone:
//!
//! - backup: each part's `duration_ms` in the manifest against `pg_dump -Fc` (two at a time,
//!   as Lifeboat runs them), `redis-cli --rdb`, and `restic backup` of the files into a
//!   fresh repository;
//! - restore: a restore of that app alone (`apps: [...]`: fetch and restore) against
//!   `restic restore --include` of the part then `pg_restore`, the RDB copied into place and
//!   `redis-server` started until it answers, or nothing more for files;
//! - a one-app restore of app-005 (about 100 MB) against a full restore into a new
//!   namespace (goal: under 10 %).
//!
//! Goals: each ≤ 1.10 of its raw tool.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints; a panic is a failure.

mod backup_support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backup_support::{Env, env, query, stop};
use lifeboat_shared::backup::{AppInfo, InstanceInfo};
use lifeboat_shared::operation::{Operation, OperationStatus};
use serde_json::{Value, json};

fn size() -> f64 {
    std::env::var("LIFEBOAT_APPS_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn run(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

fn as_postgres_cmd(program: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=postgres",
        "--regid=postgres",
        "--clear-groups",
        "--",
        program,
    ]);
    c
}

/// xorshift: incompressible bytes, fast.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn app<'a>(info: &'a InstanceInfo, name: &str) -> &'a AppInfo {
    info.apps.iter().find(|a| a.name == name).unwrap()
}

async fn instance_info(env: &Env) -> InstanceInfo {
    let (_, body) = env.get("/api/v1/instance").await;
    serde_json::from_value(body).unwrap()
}

/// Grows the apps' data to the sizes above; returns a line saying what it is.
async fn grow(env: &Env, info: &InstanceInfo) -> String {
    let size = size();
    // Three more apps get a database, recorded as App Manager records them.
    let pg_port = app(info, "app-001")
        .postgres
        .as_ref()
        .unwrap()
        .port
        .unwrap()
        .to_string();
    for extra in ["app-002", "app-003", "app-006"] {
        run(Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &pg_port,
                "-U",
                "postgres",
                "-X",
                "-q",
            ])
            .args(["-c", &format!("CREATE ROLE \"{extra}\" LOGIN")])
            .args([
                "-c",
                &format!("CREATE DATABASE \"{extra}\" OWNER \"{extra}\""),
            ]));
        query(
            info,
            "appmanager",
            &format!(
                "INSERT INTO app_services SELECT id, 'postgres' FROM apps WHERE name = '{extra}' ON CONFLICT DO NOTHING"
            ),
        );
    }
    let info = instance_info(env).await;
    let dbs: Vec<String> = info
        .apps
        .iter()
        .filter_map(|a| a.postgres.as_ref().map(|p| p.database.clone()))
        .collect();
    assert_eq!(dbs.len(), 10, "{dbs:?}");
    let scale = ((7.0 * size).round() as u32).max(1).to_string();
    for db in &dbs {
        run(as_postgres_cmd("/usr/lib/postgresql/15/bin/pgbench").args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg_port,
            "-U",
            "postgres",
            "-i",
            "-q",
            "-s",
            &scale,
            db,
        ]));
    }
    // A million keys into app-011's Redis, by its own bulk protocol.
    let keys = ((1_000_000.0 * size) as u64).max(1000);
    let redis_port = app(&info, "app-011")
        .redis
        .as_ref()
        .unwrap()
        .port
        .unwrap()
        .to_string();
    let mut pipe = Command::new("redis-cli")
        .args(["-p", &redis_port, "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut stdin = std::io::BufWriter::new(pipe.stdin.take().unwrap());
        for i in 0..keys {
            let (k, v) = (format!("bench:{i}"), format!("value-{i}-{}", i * 7919));
            write!(
                stdin,
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .unwrap();
        }
    }
    assert!(pipe.wait().unwrap().success());
    // 2 GB of files: about a third in many small ones, the rest in four large ones.
    let folder = app(&info, "app-004")
        .files
        .as_ref()
        .unwrap()
        .folder
        .clone()
        .unwrap();
    let total = (2e9 * size) as usize;
    let small = (20_000.0 * size) as usize;
    for i in 0..small {
        let dir = Path::new(&folder).join(format!("small/{:03}", i % 200));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("f{i}.bin")),
            noise(i as u64 + 1, 4096 + (i * 977) % 61440),
        )
        .unwrap();
    }
    let small_bytes = backup_support::du(Path::new(&folder)) as usize;
    for i in 0..4 {
        let len = total.saturating_sub(small_bytes) / 4;
        std::fs::write(
            Path::new(&folder).join(format!("large-{i}.bin")),
            noise(1000 + i, len),
        )
        .unwrap();
    }
    format!(
        "data: app-data Postgres 10 databases at pgbench scale {scale}; {keys} keys in app-011's Redis; {:.2} GB of files in app-004's ({small} small, 4 large)",
        backup_support::du(Path::new(&folder)) as f64 / 1e9
    )
}

async fn wait(env: &Env, status: u16, body: &Value) -> Operation {
    assert_eq!(status, 202, "{body}");
    let op = env
        .wait_done(body["id"].as_str().unwrap(), Duration::from_secs(3600))
        .await;
    assert!(matches!(op.status, OperationStatus::Succeeded), "{op:#?}");
    op
}

fn ratio(name: &str, ours: f64, raw: f64) {
    println!(
        "  {name}: Lifeboat {ours:.2} s, raw {raw:.2} s: ratio {:.3} (goal <= 1.10)",
        ours / raw.max(0.001)
    );
}

fn millis(manifest: &Value, component: &str) -> f64 {
    manifest["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == component)
        .and_then(|c| c["duration_ms"].as_u64())
        .unwrap_or_else(|| panic!("{component} in {manifest:#}")) as f64
        / 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: minutes of CPU and about 10 GB of disk at size 1; prints figures, asserts nothing about speed"]
async fn apps_benchmarks() {
    let env = env().await;
    let info = instance_info(&env).await;
    println!("{}", grow(&env, &info).await);
    let info = instance_info(&env).await;
    let raw = env.dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    backup_support::open_up(&raw);

    // Backup: Lifeboat, then the raw tools on the same data.
    let (status, body) = env
        .post(
            "/api/v1/backups",
            json!({"description": "apps bench", "backup_type": "full"}),
        )
        .await;
    let op = wait(&env, status.as_u16(), &body).await;
    let (_, list) = env.get("/api/v1/backups").await;
    let manifest = list["backups"][0].clone();
    let id = manifest["id"].as_str().unwrap().to_owned();
    let apps_step = backup_support::step_times(&op);
    println!("backup steps: {apps_step}");
    let pg_port = app(&info, "app-005")
        .postgres
        .as_ref()
        .unwrap()
        .port
        .unwrap()
        .to_string();
    let dbs: Vec<String> = info
        .apps
        .iter()
        .filter_map(|a| a.postgres.as_ref().map(|p| p.database.clone()))
        .collect();
    let dumps = raw.join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    backup_support::open_up(&dumps);
    Command::new("chown")
        .args(["postgres:postgres"])
        .arg(&dumps)
        .status()
        .unwrap();
    let mut raw_pg = 0.0;
    for pair in dbs.chunks(2) {
        let handles: Vec<_> = pair
            .iter()
            .map(|db| {
                let (db, port, out) = (
                    db.clone(),
                    pg_port.clone(),
                    dumps.join(format!("{db}.dump")),
                );
                std::thread::spawn(move || {
                    run(as_postgres_cmd("/usr/lib/postgresql/15/bin/pg_dump")
                        .args([
                            "-h",
                            "127.0.0.1",
                            "-p",
                            &port,
                            "-U",
                            "postgres",
                            "-Fc",
                            "-f",
                        ])
                        .arg(&out)
                        .arg(&db))
                    .as_secs_f64()
                })
            })
            .collect();
        raw_pg += handles.into_iter().map(|h| h.join().unwrap()).sum::<f64>();
    }
    let ours_pg: f64 = dbs
        .iter()
        .map(|d| millis(&manifest, &format!("app/{d}/postgres")))
        .sum();
    println!("backup, each part timed alone and summed:");
    ratio(
        "Postgres, pg_dump -Fc of 10 databases, two at a time",
        ours_pg,
        raw_pg,
    );
    let redis_port = app(&info, "app-011")
        .redis
        .as_ref()
        .unwrap()
        .port
        .unwrap()
        .to_string();
    let raw_redis = run(Command::new("redis-cli")
        .args(["-p", &redis_port, "--rdb"])
        .arg(raw.join("app-011.rdb")))
    .as_secs_f64();
    ratio(
        "Redis, redis-cli --rdb",
        millis(&manifest, "app/app-011/redis"),
        raw_redis,
    );
    let repo = raw.join("restic");
    let restic = |args: &[&str], cwd: &Path| {
        let mut c = Command::new("restic");
        c.args(args)
            .env("RESTIC_REPOSITORY", &repo)
            .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY)
            .current_dir(cwd);
        c
    };
    run(&mut restic(&["init"], &raw));
    let files_root = Path::new(
        app(&info, "app-004")
            .files
            .as_ref()
            .unwrap()
            .folder
            .as_deref()
            .unwrap(),
    )
    .ancestors()
    .nth(3)
    .unwrap()
    .to_path_buf();
    // The apps' snapshot holds the files and the dumps: the raw tool backs up the same.
    let raw_files = run(&mut restic(&["backup", "--quiet", "files"], &files_root)).as_secs_f64()
        + run(&mut restic(&["backup", "--quiet", "."], &dumps)).as_secs_f64();
    ratio(
        "files and dumps, restic backup (the apps' snapshot)",
        millis(&manifest, "app/app-004/files"),
        raw_files,
    );

    // Restore, one app at a time, against the raw tools.
    println!("restore, one app alone (fetch and restore) against the raw tools:");
    let apps_snapshot = manifest["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "app/app-005/postgres")
        .unwrap()["snapshot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bucket_restic = |args: &[&str]| {
        let mut c = Command::new("restic");
        c.args(args)
            .env("RESTIC_REPOSITORY", env.bucket().join("restic"))
            .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY);
        c
    };
    let one = |app: &str| json!({"confirmation": "restore backup", "target_namespace": "demo", "apps": [app]});
    let mut one_app_pg = 0.0;
    for (name, include) in [
        ("app-005", "/dumps/app-005"),
        ("app-011", "/dumps/app-011"),
        ("app-004", "/files/apps/app-004"),
    ] {
        let target = raw.join(format!("fetched-{name}"));
        let mut raw_time =
            run(
                bucket_restic(&["restore", &apps_snapshot, "--include", include, "--target"])
                    .arg(&target),
            )
            .as_secs_f64();
        match name {
            "app-005" => {
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&target)
                    .status()
                    .unwrap();
                backup_support::open_up(&target);
                // Creating the database is part of restoring it.
                raw_time += run(Command::new("psql").args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &pg_port,
                    "-U",
                    "postgres",
                    "-X",
                    "-q",
                    "-c",
                    "CREATE DATABASE raw_restore",
                ]))
                .as_secs_f64();
                raw_time += run(as_postgres_cmd("/usr/lib/postgresql/15/bin/pg_restore")
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &pg_port,
                        "-U",
                        "postgres",
                        "--exit-on-error",
                        "--single-transaction",
                        "--no-owner",
                        "-d",
                        "raw_restore",
                    ])
                    .arg(target.join("dumps/app-005/postgres.dump")))
                .as_secs_f64();
            }
            "app-011" => {
                let dir = raw.join("redis-raw");
                std::fs::create_dir_all(&dir).unwrap();
                let started = Instant::now();
                std::fs::copy(target.join("dumps/app-011/redis.rdb"), dir.join("dump.rdb"))
                    .unwrap();
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
                    .to_string();
                let mut server = Command::new("redis-server")
                    .args([
                        "--port",
                        &port,
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--dir",
                    ])
                    .arg(&dir)
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap();
                while Command::new("redis-cli")
                    .args(["-p", &port, "PING"])
                    .output()
                    .map(|o| !String::from_utf8_lossy(&o.stdout).contains("PONG"))
                    .unwrap_or(true)
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                raw_time += started.elapsed().as_secs_f64();
                let _ = server.kill();
                let _ = server.wait();
            }
            _ => {}
        }
        let started = Instant::now();
        let (status, body) = env
            .post(&format!("/api/v1/backups/{id}/restore"), one(name))
            .await;
        let op = wait(&env, status.as_u16(), &body).await;
        let ours = started.elapsed().as_secs_f64();
        println!("    steps: {}", backup_support::step_times(&op));
        ratio(&format!("{name} alone"), ours, raw_time);
        if name == "app-005" {
            one_app_pg = ours;
        }
    }

    // A one-app restore against everything into a new namespace.
    let started = Instant::now();
    let (status, body) = env
        .post(
            &format!("/api/v1/backups/{id}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "bench-copy"}),
        )
        .await;
    let op = wait(&env, status.as_u16(), &body).await;
    let full = started.elapsed().as_secs_f64();
    println!(
        "full restore into a new namespace: {full:.2} s ({})",
        backup_support::step_times(&op)
    );
    println!(
        "one-app restore of app-005 (about 100 MB at size 1): {one_app_pg:.2} s, {:.1} % of the full restore (goal < 10 %)",
        100.0 * one_app_pg / full
    );
    if let Some(copy) = env.state.runtime().instances().get("bench-copy") {
        copy.stop().await.unwrap();
    }
    stop(&env).await;
}
