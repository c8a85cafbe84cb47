//! Benchmarks that print figures (not timed tests). Run:
//!
//! ```bash
//! cargo test -p lifeboat --release --test backup_bench -- --ignored --nocapture
//! LIFEBOAT_BENCH_SCALE=10 cargo test -p lifeboat --test backup_bench -- --ignored --nocapture  # quick
//! ```
//!
//! - Backup Now of the demo instance enlarged with `pgbench -i -s $LIFEBOAT_BENCH_SCALE`
//!   (default 60, about 1 GB) against raw `pgbackrest backup` + `restic backup` of the same
//!   data with the same settings: the wall-time ratio (goal ≤ 1.10).
//! - A second Backup Now after inserting 1 % new rows: bucket growth as a share of the data.
//! - A third after ~1 % random row updates: bucket growth beside the raw tools' for the same
//!   change.
//! - `GET /api/v1/backups` with 1,000 manifests in the bucket: the median server time.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints; a panic is a failure.

mod backup_support;

use std::time::{Duration, Instant};

use backup_support::{Env, as_postgres, du, env, layout, restic_in, step_times, stop};
use lifeboat_shared::operation::OperationStatus;

/// Backup Now of `kind` without the apps' data (the raw tools back up the system alone:
/// like with like), timed.
async fn timed(env: &Env, description: &str, kind: &str) -> Duration {
    let started = Instant::now();
    let (status, op) = env
        .post(
            "/api/v1/backups",
            serde_json::json!({"description": description, "backup_type": kind, "include_apps": false}),
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{op}");
    let op = env
        .wait_done(op["id"].as_str().unwrap(), Duration::from_secs(3600))
        .await;
    let took = started.elapsed();
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    println!("  steps: {}", step_times(&op));
    took
}

/// A full Backup Now of the system, timed.
async fn timed_backup(env: &Env, description: &str) -> Duration {
    timed(env, description, "full").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: minutes of CPU and about 3 GB of disk; prints figures, asserts nothing about speed"]
async fn backup_benchmarks() {
    let scale = std::env::var("LIFEBOAT_BENCH_SCALE").unwrap_or_else(|_| "60".into());
    let env = env().await;
    let instance = layout(&env.data_dir(), "demo");
    let info = env.state.instance().unwrap().info();
    let (sock, port) = (
        instance.socket_dir().display().to_string(),
        info.postgres_port.unwrap().to_string(),
    );
    let pgbench = "/usr/lib/postgresql/15/bin/pgbench";
    let psql = "/usr/lib/postgresql/15/bin/psql";
    let sql = |query: &str| {
        as_postgres(
            psql,
            &[
                "-h", &sock, "-p", &port, "-U", "postgres", "-q", "-c", query, "postgres",
            ],
        );
    };
    as_postgres(
        pgbench,
        &[
            "-h", &sock, "-p", &port, "-U", "postgres", "-i", "-q", "-s", &scale, "postgres",
        ],
    );
    let data = du(&instance.pgdata());
    println!(
        "data: pgbench scale {scale}, PGDATA {:.1} MB",
        data as f64 / 1e6
    );

    // The load's dirty pages would make whichever backup runs first pay the checkpoint.
    sql("checkpoint");
    let config = instance.pgbr_config().display().to_string();
    // Raw tools, same settings, each into a fresh repository; run before and after Backup Now.
    let raw = |n: u32| {
        let repo = env.dir.path().join(format!("raw-restic-{n}"));
        if !repo.exists() {
            restic_in(&repo, env.dir.path(), &["init"]);
        }
        let started = Instant::now();
        as_postgres(
            "/usr/bin/pgbackrest",
            &[
                &format!("--config={config}"),
                "--stanza=system",
                "--type=full",
                "backup",
            ],
        );
        let pg = started.elapsed();
        restic_in(
            &repo,
            &instance.staging(),
            &["backup", "--host=raw", "pgbackrest", "config"],
        );
        (started.elapsed(), pg)
    };
    let (raw1, raw1_pg) = raw(1);
    // Backup Now into its own fresh (initialized) repository.
    restic_in(&env.bucket().join("restic"), env.dir.path(), &["init"]);
    let now = timed_backup(&env, "bench").await;
    let (raw2, raw2_pg) = raw(2);
    let raw_mean = (raw1 + raw2).as_secs_f64() / 2.0;
    println!(
        "Backup Now {:.2} s vs raw pgbackrest+restic {:.2} s / {:.2} s (pgbackrest {:.2} s / {:.2} s): ratio {:.3} to their mean (goal <= 1.10)",
        now.as_secs_f64(),
        raw1.as_secs_f64(),
        raw2.as_secs_f64(),
        raw1_pg.as_secs_f64(),
        raw2_pg.as_secs_f64(),
        now.as_secs_f64() / raw_mean
    );

    // +1 % rows, then a second backup: what the bucket grows by.
    let rows: u64 = scale.parse::<u64>().unwrap() * 100_000 / 100;
    sql(&format!(
        "insert into pgbench_accounts select aid + 100000000, 1, 0, '' from generate_series(1, {rows}) aid"
    ));
    let before = du(&env.bucket());
    let second = timed_backup(&env, "bench +1%").await;
    let grown = du(&env.bucket()) - before;
    println!(
        "second Backup Now after +1% rows: {:.2} s, bucket grew {:.2} MB = {:.2}% of the data (goal <= 2%)",
        second.as_secs_f64(),
        grown as f64 / 1e6,
        grown as f64 * 100.0 / data as f64
    );

    // ~1 % random row updates: what Backup Now adds beside what the raw tools add for the
    // same change (the raw repository first catches up with the inserts).
    raw(2);
    let raw_repo = env.dir.path().join("raw-restic-2");
    let accounts: u64 = scale.parse::<u64>().unwrap() * 100_000;
    sql(&format!(
        "update pgbench_accounts set abalance = abalance + 1 where aid in (select 1 + (random() * {})::bigint from generate_series(1, {}))",
        accounts - 1,
        accounts / 100
    ));
    let before = du(&env.bucket());
    let third = timed_backup(&env, "bench 1% updates").await;
    let ours = du(&env.bucket()) - before;
    let raw_before = du(&raw_repo);
    raw(2);
    let theirs = du(&raw_repo) - raw_before;
    println!(
        "Backup Now after ~1% random updates: {:.2} s, bucket grew {:.2} MB vs raw pgbackrest+restic {:.2} MB: ratio {:.3}",
        third.as_secs_f64(),
        ours as f64 / 1e6,
        theirs as f64 / 1e6,
        ours as f64 / theirs.max(1) as f64
    );

    // Incremental backups (issue 29), each against a full of the same data in this run:
    // nothing changed, +1 % rows, ~1 % random updates.
    let full = timed_backup(&env, "bench full").await;
    let incr = |description: &'static str| timed(&env, description, "incr");
    let nothing = incr("bench incr, nothing changed").await;
    sql(&format!(
        "insert into pgbench_accounts select aid + 200000000, 1, 0, '' from generate_series(1, {rows}) aid"
    ));
    let more_rows = incr("bench incr, +1% rows").await;
    sql(&format!(
        "update pgbench_accounts set abalance = abalance + 1 where aid in (select 1 + (random() * {})::bigint from generate_series(1, {}))",
        accounts - 1,
        accounts / 100
    ));
    let updates = incr("bench incr, ~1% updates").await;
    // The raw tool alone, nothing changed since: what pgBackRest's incremental costs by
    // itself (its start and stop of the backup, the wait for the last WAL segment).
    let started = Instant::now();
    as_postgres(
        "/usr/bin/pgbackrest",
        &[
            &format!("--config={config}"),
            "--stanza=system",
            "--type=incr",
            "backup",
        ],
    );
    let raw_incr = started.elapsed();
    println!(
        "raw pgbackrest --type=incr, nothing changed: {:.2} s",
        raw_incr.as_secs_f64()
    );
    let ratio = |d: Duration| d.as_secs_f64() / full.as_secs_f64();
    println!(
        "incremental Backup Now against a full ({:.2} s) of the same data: nothing changed {:.2} s = {:.3} (goal <= 0.25); +1% rows {:.2} s = {:.3} (goal <= 0.35); ~1% random updates {:.2} s = {:.3}",
        full.as_secs_f64(),
        nothing.as_secs_f64(),
        ratio(nothing),
        more_rows.as_secs_f64(),
        ratio(more_rows),
        updates.as_secs_f64(),
        ratio(updates)
    );

    // 1,000 manifests: the catalog listing's median server time.
    let target = env.state.config().current_target().await.unwrap();
    let (_, list) = env.get("/api/v1/backups").await;
    let template: lifeboat_shared::backup::BackupManifest =
        serde_json::from_value(list["backups"][0].clone()).unwrap();
    for i in 0..1000 {
        let mut m = template.clone();
        m.id = format!("bk-bench-{i:04}");
        lifeboat::storage::catalog::put(&target, &m).await.unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..11 {
        let started = Instant::now();
        let (_, list) = env.get("/api/v1/backups").await;
        times.push(started.elapsed());
        assert!(list["backups"].as_array().unwrap().len() >= 1000);
    }
    times.sort();
    println!(
        "GET /api/v1/backups with 1,000+ manifests: median {:.1} ms",
        times[5].as_secs_f64() * 1e3
    );
    stop(&env).await;
}
