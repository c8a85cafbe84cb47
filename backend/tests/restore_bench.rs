//! Restore benchmarks that print figures (not timed tests). Run:
//!
//! ```bash
//! cargo test -p lifeboat --release --test restore_bench -- --ignored --nocapture
//! LIFEBOAT_BENCH_SCALE=10 cargo test -p lifeboat --test restore_bench -- --ignored --nocapture  # quick
//! ```
//!
//! The demo instance is enlarged with `pgbench -i -s $LIFEBOAT_BENCH_SCALE` (default 60,
//! about 1 GB) and backed up, first into the local-folder bucket, then into moto (S3). For
//! each bucket, Lifeboat restores into new namespaces (fetch, pgBackRest restore, start with
//! WAL replay, configuration, verify, checklist) alternately with the raw tools on the same
//! backup in the same run (`restic restore` then `pgbackrest restore` into an empty folder,
//! then Postgres started until promoted), `$LIFEBOAT_BENCH_ROUNDS` rounds (default 3) and a
//! last raw run. It prints the ratios of the medians like with like (goal ≤ 1.10 for each):
//! Lifeboat to the end of its `postgres` step against the raw restores, and Lifeboat's whole
//! restore against the raw restores with Postgres started and promoted; and the absolute
//! time (goal under 20 s for 1 GB). The in-place (delta) restore time is printed too.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints; a panic is a failure.

mod backup_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use backup_support::{Env, as_postgres, du, env, layout, step_seconds, step_times, stop};
use lifeboat_e2e::servers::Moto;
use lifeboat_shared::operation::OperationStatus;
use serde_json::{Value, json};

/// Where a raw restore reads from.
struct Repo {
    repository: String,
    env: Vec<(String, String)>,
}

/// `restic restore` then `pgbackrest restore` into an empty folder, as an admin would by
/// hand; returns the wall time to there, and to Postgres started on it and promoted.
fn raw_restore(repo: &Repo, snapshot: &str, label: &str, dir: &Path) -> (Duration, Duration) {
    let started = Instant::now();
    let out = Command::new("restic")
        .args(["restore", snapshot, "--target"])
        .arg(dir)
        .env("RESTIC_REPOSITORY", &repo.repository)
        .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY)
        .envs(repo.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = dir.join("pgbackrest.conf");
    std::fs::create_dir_all(dir.join("pg")).unwrap();
    std::fs::create_dir_all(dir.join("log")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "[global]\nrepo1-path={d}/pgbackrest\nlock-path={d}/lock\nlog-path={d}/log\nprocess-max=2\n[system]\npg1-path={d}/pg\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(chown.success());
    as_postgres(
        "/usr/bin/pgbackrest",
        &[
            &format!("--config={}", conf.display()),
            "--stanza=system",
            &format!("--set={label}"),
            "--type=immediate",
            "--target-action=promote",
            "restore",
        ],
    );
    let restored = started.elapsed();
    // Then start it, as an admin must, until it has replayed WAL and promoted.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pg = dir.join("pg");
    std::fs::write(
        pg.join("lifeboat.conf"),
        format!(
            "port = {port}\nunix_socket_directories = '{}'\narchive_mode = off\n",
            dir.display()
        ),
    )
    .unwrap();
    let pg_s = pg.display().to_string();
    let log = dir.join("log/pg.log").display().to_string();
    as_postgres(
        "/usr/lib/postgresql/15/bin/pg_ctl",
        &["-D", &pg_s, "-l", &log, "-w", "start"],
    );
    let sock = dir.display().to_string();
    loop {
        let out = Command::new("setpriv")
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--clear-groups",
                "--",
            ])
            .arg("/usr/lib/postgresql/15/bin/psql")
            .args([
                "-h",
                &sock,
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-At",
                "-X",
            ])
            .args(["-c", "SELECT pg_is_in_recovery()", "postgres"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).trim() == "f" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "raw restore never promoted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let usable = started.elapsed();
    as_postgres(
        "/usr/lib/postgresql/15/bin/pg_ctl",
        &["-D", &pg_s, "-m", "immediate", "-w", "stop"],
    );
    std::fs::remove_dir_all(dir).unwrap();
    (restored, usable)
}

/// A Lifeboat restore's wall time: to the end of its `postgres` step (the work the raw
/// `restic restore` + `pgbackrest restore` do), and to the end (Postgres started, promoted,
/// configured, verified).
struct Timed {
    restored: Duration,
    total: Duration,
}

async fn timed_restore(env: &Env, backup: &str, namespace: &str) -> Timed {
    let started = Instant::now();
    let (status, body) = env
        .post(
            &format!("/api/v1/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": namespace}),
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{body}");
    let op = env
        .wait_done(body["id"].as_str().unwrap(), Duration::from_secs(900))
        .await;
    let total = started.elapsed();
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    println!("    steps: {}", step_times(&op));
    let after: f64 = ["start", "configuration", "verify", "checklist"]
        .iter()
        .map(|s| step_seconds(&op, s))
        .sum();
    Timed {
        restored: total.saturating_sub(Duration::from_secs_f64(after)),
        total,
    }
}

async fn newest(env: &Env) -> (String, String, String) {
    let (_, list) = env.get("/api/v1/backups").await;
    let b: &Value = &list["backups"][0];
    (
        b["id"].as_str().unwrap().to_owned(),
        b["components"][0]["snapshot_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        b["components"][0]["pgbackrest_label"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn secs(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Raw and Lifeboat (into a new namespace) alternately, `$LIFEBOAT_BENCH_ROUNDS` times
/// (default 3), then raw once more; prints the ratios of the medians, like with like.
async fn compare(env: &Env, name: &str, repo: &Repo, namespace: &str) {
    let rounds: usize = std::env::var("LIFEBOAT_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1);
    let (id, snapshot, label) = newest(env).await;
    let raw_dir = env.dir.path().join("raw");
    let (mut raw, mut raw_up, mut ours, mut ours_restored) = (vec![], vec![], vec![], vec![]);
    for round in 0..=rounds {
        let (r, up) = raw_restore(repo, &snapshot, &label, &raw_dir);
        raw.push(r);
        raw_up.push(up);
        if round == rounds {
            break;
        }
        let target = format!("{namespace}-{round}");
        let t = timed_restore(env, &id, &target).await;
        ours.push(t.total);
        ours_restored.push(t.restored);
        // Each round restores into a namespace of its own: free its disk for the next.
        let instances = env.state.runtime().instances();
        if let Some(other) = instances.get(&target) {
            other.stop().await.unwrap();
        }
    }
    let f = |v: &[Duration]| median(v.iter().map(Duration::as_secs_f64).collect());
    let (raw_m, up_m, ours_m, restored_m) = (f(&raw), f(&raw_up), f(&ours), f(&ours_restored));
    println!(
        "{name}, {rounds} round(s), medians:\n  \
         data restored: Lifeboat to the end of its postgres step {restored_m:.2} s ({}) vs raw \
         restic restore + pgbackrest restore {raw_m:.2} s ({}): ratio {:.3} (goal <= 1.10)\n  \
         Postgres usable: Lifeboat whole restore {ours_m:.2} s ({}) vs raw restore + Postgres \
         started and promoted {up_m:.2} s ({}): ratio {:.3} (goal <= 1.10; under 20 s for 1 GB)\n  \
         (Lifeboat's whole restore against the raw restore without Postgres' start: {:.3})",
        secs(&ours_restored),
        secs(&raw),
        restored_m / raw_m,
        secs(&ours),
        secs(&raw_up),
        ours_m / up_m,
        ours_m / raw_m,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: minutes of CPU and about 6 GB of disk; prints figures, asserts nothing about speed"]
async fn restore_benchmarks() {
    let scale = std::env::var("LIFEBOAT_BENCH_SCALE").unwrap_or_else(|_| "60".into());
    let env = env().await;
    let instance = layout(&env.data_dir(), "demo");
    let info = env.state.instance().unwrap().info();
    let (sock, port) = (
        instance.socket_dir().display().to_string(),
        info.postgres_port.unwrap().to_string(),
    );
    as_postgres(
        "/usr/lib/postgresql/15/bin/pgbench",
        &[
            "-h", &sock, "-p", &port, "-U", "postgres", "-i", "-q", "-s", &scale, "postgres",
        ],
    );
    println!(
        "data: pgbench scale {scale}, PGDATA {:.1} MB",
        du(&instance.pgdata()) as f64 / 1e6
    );

    // The local-folder bucket.
    let op = env.backup("bench").await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let local = Repo {
        repository: env.bucket().join("restic").display().to_string(),
        env: vec![],
    };
    compare(&env, "local folder", &local, "bench-local").await;
    let (id, _, _) = newest(&env).await;
    let in_place = timed_restore(&env, &id, "demo").await;
    println!(
        "local folder: in-place (delta) restore {:.2} s",
        in_place.total.as_secs_f64()
    );

    // moto (S3).
    let moto = Moto::start(&["bench"]).await.unwrap();
    let (status, body) = env
        .put(
            "/api/v1/config",
            json!({
                "config": {
                    "provider": {"provider": "s3", "region": "us-east-1", "bucket": "bench", "prefix": "lifeboat", "endpoint": moto.endpoint},
                    "secret_name": "lifeboat-s3",
                },
                "credentials": {"provider": "s3", "access_key_id": moto.access_key_id, "secret_access_key": moto.secret_access_key},
            }),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let op = env.backup("bench s3").await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let s3 = Repo {
        repository: format!("s3:{}/bench/lifeboat/restic", moto.endpoint),
        env: vec![
            ("AWS_ACCESS_KEY_ID".into(), moto.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                moto.secret_access_key.clone(),
            ),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
        ],
    };
    compare(&env, "moto (S3)", &s3, "bench-s3").await;
    stop(&env).await;
}
