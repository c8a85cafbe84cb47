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
//! `LIFEBOAT_APPS_BENCH_ROUNDS` rounds (default 1; `make bench` 3), each backing up into a
//! bucket of its own, the raw and Lifeboat's restores alternating which goes first; it
//! prints every round and the medians. Goals: each ≤ 1.10 of its raw tool.
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
    let id = body["id"].as_str().unwrap();
    // Polled often: the figure is the admin's wait, not the poll's.
    let deadline = Instant::now() + Duration::from_secs(3600);
    let op = loop {
        let op = env.state.operations().get(id).unwrap();
        if op.status.is_terminal() {
            break op;
        }
        assert!(Instant::now() < deadline, "{op:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(matches!(op.status, OperationStatus::Succeeded), "{op:#?}");
    op
}

fn rounds() -> usize {
    std::env::var("LIFEBOAT_APPS_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Every round's times per line, Lifeboat's and the raw tool's (or the full restore's).
#[derive(Default)]
struct Figures {
    rows: Vec<(String, Vec<f64>, Vec<f64>)>,
}

impl Figures {
    fn add(&mut self, name: &str, ours: f64, raw: f64) {
        if name == ONE_APP {
            println!(
                "  {name}: {ours:.2} s of {raw:.2} s ({:.1} %)",
                100.0 * ours / raw.max(0.001)
            );
        } else {
            println!(
                "  {name}: Lifeboat {ours:.2} s, raw {raw:.2} s ({:.3})",
                ours / raw.max(0.001)
            );
        }
        match self.rows.iter_mut().find(|r| r.0 == name) {
            Some(row) => {
                row.1.push(ours);
                row.2.push(raw);
            }
            None => self.rows.push((name.to_owned(), vec![ours], vec![raw])),
        }
    }

    /// Medians of every line and their ratio (the last line: a share of the full restore).
    fn print(&self, rounds: usize) {
        println!("medians of {rounds} round(s):");
        for (name, ours, raw) in &self.rows {
            let (o, r) = (median(ours), median(raw));
            let each: Vec<String> = ours
                .iter()
                .zip(raw)
                .map(|(o, r)| format!("{o:.2}/{r:.2}"))
                .collect();
            if name == ONE_APP {
                println!(
                    "  {name}: {o:.2} s of {r:.2} s, {:.1} % (goal < 10 %); rounds {}",
                    100.0 * o / r.max(0.001),
                    each.join(", ")
                );
            } else {
                println!(
                    "  {name}: Lifeboat {o:.2} s, raw {r:.2} s: ratio {:.3} (goal <= 1.10); rounds {}",
                    o / r.max(0.001),
                    each.join(", ")
                );
            }
        }
    }
}

const ONE_APP: &str = "one-app restore of app-005 against a full restore";

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

fn port_of(info: &InstanceInfo, name: &str, redis: bool) -> String {
    let a = app(info, name);
    let port = if redis {
        a.redis.as_ref().unwrap().port
    } else {
        a.postgres.as_ref().unwrap().port
    };
    port.unwrap().to_string()
}

fn fresh_dir(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
    std::fs::create_dir_all(path).unwrap();
    backup_support::open_up(path);
}

fn pg(port: &str, sql: &str) -> Command {
    let mut c = Command::new("psql");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-U",
        "postgres",
        "-X",
        "-q",
        "-c",
        sql,
    ]);
    c
}

/// `pg_dump -Fc` of `db` into `out` on a thread of its own; the thread returns its seconds.
fn pg_dump_beside(
    port: String,
    db: String,
    out: std::path::PathBuf,
) -> std::thread::JoinHandle<f64> {
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
}

/// The raw tools' backup of the same data: each database dumped (two at a time), the RDB,
/// then restic on the files and the dumps into a fresh repository.
fn raw_backup(info: &InstanceInfo, raw: &Path, figures: &mut Figures, manifest: &Value) {
    let pg_port = port_of(info, "app-005", false);
    let dbs: Vec<String> = info
        .apps
        .iter()
        .filter_map(|a| a.postgres.as_ref().map(|p| p.database.clone()))
        .collect();
    let dumps = raw.join("dumps");
    fresh_dir(&dumps);
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
                pg_dump_beside(port, db, out)
            })
            .collect();
        raw_pg += handles.into_iter().map(|h| h.join().unwrap()).sum::<f64>();
    }
    let ours_pg: f64 = dbs
        .iter()
        .map(|d| millis(manifest, &format!("app/{d}/postgres")))
        .sum();
    figures.add(
        "backup: Postgres, pg_dump -Fc of 10 databases, two at a time (each timed, summed)",
        ours_pg,
        raw_pg,
    );
    // Lifeboat takes two parts at a time, so its RDB is read beside a dump: the raw
    // `redis-cli --rdb` runs beside a `pg_dump` too.
    let beside = {
        let out = dumps.join("beside.dump");
        let port = pg_port.clone();
        pg_dump_beside(port, "app-001".to_owned(), out)
    };
    let raw_redis = run(Command::new("redis-cli")
        .args(["-p", &port_of(info, "app-011", true), "--rdb"])
        .arg(raw.join("app-011.rdb")))
    .as_secs_f64();
    beside.join().unwrap();
    std::fs::remove_file(dumps.join("beside.dump")).unwrap();
    figures.add(
        "backup: Redis, redis-cli --rdb (beside a pg_dump)",
        millis(manifest, "app/app-011/redis"),
        raw_redis,
    );
    let repo = raw.join("restic");
    let _ = std::fs::remove_dir_all(&repo);
    let restic = |args: &[&str], cwd: &Path| {
        let mut c = Command::new("restic");
        c.args(args)
            .env("RESTIC_REPOSITORY", &repo)
            .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY)
            .current_dir(cwd);
        c
    };
    run(&mut restic(&["init"], raw));
    let files_root = Path::new(
        app(info, "app-004")
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
    figures.add(
        "backup: files and dumps, restic backup (the apps' snapshot)",
        millis(manifest, "app/app-004/files"),
        raw_files,
    );
    let _ = std::fs::remove_dir_all(&repo);
}

/// The raw tools restoring `name`'s part from `bucket`'s apps' snapshot: restic restore of
/// its path, then `pg_restore` into a new database, or the RDB copied into place and a
/// `redis-server` started until it answers, or nothing more for files.
fn raw_restore(info: &InstanceInfo, raw: &Path, bucket: &Path, snapshot: &str, name: &str) -> f64 {
    let include = match name {
        "app-004" => "/files/apps/app-004".to_owned(),
        _ => format!("/dumps/{name}"),
    };
    let target = raw.join(format!("fetched-{name}"));
    let _ = std::fs::remove_dir_all(&target);
    let mut restic = Command::new("restic");
    restic
        .args(["restore", snapshot, "--include", &include, "--target"])
        .arg(&target)
        .env("RESTIC_REPOSITORY", bucket.join("restic"))
        .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY);
    let mut took = run(&mut restic).as_secs_f64();
    match name {
        "app-005" => {
            let port = port_of(info, name, false);
            run(&mut pg(&port, "DROP DATABASE IF EXISTS raw_restore"));
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&target)
                .status()
                .unwrap();
            backup_support::open_up(&target);
            // Creating the database is part of restoring it.
            took += run(&mut pg(&port, "CREATE DATABASE raw_restore")).as_secs_f64();
            took += run(as_postgres_cmd("/usr/lib/postgresql/15/bin/pg_restore")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
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
            fresh_dir(&dir);
            let started = Instant::now();
            std::fs::copy(target.join("dumps/app-011/redis.rdb"), dir.join("dump.rdb")).unwrap();
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
            took += started.elapsed().as_secs_f64();
            let _ = server.kill();
            let _ = server.wait();
        }
        _ => {}
    }
    let _ = std::fs::remove_dir_all(&target);
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: minutes of CPU and about 10 GB of disk at size 1; prints figures, asserts nothing about speed"]
async fn apps_benchmarks() {
    let env = env().await;
    let info = instance_info(&env).await;
    println!("{}", grow(&env, &info).await);
    let info = instance_info(&env).await;
    let raw = env.dir.path().join("raw");
    fresh_dir(&raw);
    let rounds = rounds();
    let mut figures = Figures::default();
    for round in 0..rounds {
        println!("round {}:", round + 1);
        // Each round backs up into a bucket of its own: every backup is a first one, for
        // Lifeboat as for raw restic's fresh repository.
        let bucket = env.dir.path().join(format!("bucket-{round}"));
        fresh_dir(&bucket);
        let (status, body) = env
            .put(
                "/api/v1/config",
                json!({"config": {"provider": {"provider": "local", "path": bucket.display().to_string()}}}),
            )
            .await;
        assert_eq!(status.as_u16(), 200, "{body}");
        let (status, body) = env
            .post(
                "/api/v1/backups",
                json!({"description": "apps bench", "backup_type": "full"}),
            )
            .await;
        let op = wait(&env, status.as_u16(), &body).await;
        println!("  backup steps: {}", backup_support::step_times(&op));
        let (_, list) = env.get("/api/v1/backups").await;
        let manifest = list["backups"][0].clone();
        let id = manifest["id"].as_str().unwrap().to_owned();
        raw_backup(&info, &raw, &mut figures, &manifest);

        let snapshot = manifest["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "app/app-005/postgres")
            .unwrap()["snapshot_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut one_app = 0.0;
        for name in ["app-005", "app-011", "app-004"] {
            // Which goes first alternates, so neither always finds the other's caches warm.
            let raw_first = round % 2 == 0;
            let mut raw_time = 0.0;
            if raw_first {
                raw_time = raw_restore(&info, &raw, &bucket, &snapshot, name);
            }
            let started = Instant::now();
            let (status, body) = env
                .post(
                    &format!("/api/v1/backups/{id}/restore"),
                    json!({"confirmation": "restore backup", "target_namespace": "demo", "apps": [name]}),
                )
                .await;
            let op = wait(&env, status.as_u16(), &body).await;
            let ours = started.elapsed().as_secs_f64();
            if !raw_first {
                raw_time = raw_restore(&info, &raw, &bucket, &snapshot, name);
            }
            println!("    {name} steps: {}", backup_support::step_times(&op));
            figures.add(
                &format!("restore {name} alone: fetch and put back"),
                ours,
                raw_time,
            );
            if name == "app-005" {
                one_app = ours;
            }
        }

        // A one-app restore against everything into a new namespace.
        let copy = format!("bench-copy-{round}");
        let started = Instant::now();
        let (status, body) = env
            .post(
                &format!("/api/v1/backups/{id}/restore"),
                json!({"confirmation": "restore backup", "target_namespace": copy}),
            )
            .await;
        let op = wait(&env, status.as_u16(), &body).await;
        let full = started.elapsed().as_secs_f64();
        println!(
            "    full restore steps: {}",
            backup_support::step_times(&op)
        );
        figures.add(ONE_APP, one_app, full);
        if let Some(instance) = env.state.runtime().instances().get(&copy) {
            instance.stop().await.unwrap();
        }
        let _ = std::fs::remove_dir_all(backup_support::layout(&env.data_dir(), &copy).root);
        let _ = std::fs::remove_dir_all(&bucket);
    }
    figures.print(rounds);
    stop(&env).await;
}
