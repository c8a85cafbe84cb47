//! Backup Now on Keycloak's real schema, grown to a realistic size: a benchmark that prints
//! figures (it asserts that the backups succeed, never how fast). Run:
//!
//! ```bash
//! make bench    # or: cargo test -p lifeboat --test keycloak_bench -- --ignored --nocapture
//! ```
//!
//! The demo instance runs the real Keycloak, which lays out realm `dash`; its tables are then
//! grown in SQL, in the shape Keycloak writes them, to `LIFEBOAT_KC_BENCH_USERS` users
//! (default 10,000: each with a password credential copied from a real one, two realm roles
//! and a group) and ten login events per user (100,000 rows of `event_entity`). Printed: the
//! Keycloak database's size, Backup Now against raw `pgbackrest backup` + `restic backup` of
//! the same data, and what the bucket grows by after 1 % more users and events.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints; a panic is a failure.

mod backup_support;

use std::time::Instant;

use backup_support::{
    as_postgres, du, env_with_keycloak, layout, query, restic_in, step_times, stop,
};
use lifeboat_shared::operation::OperationStatus;

/// `n` more users (numbered from `from`) and ten login events each.
fn grow_sql(from: u64, n: u64) -> String {
    format!(
        "WITH r AS (SELECT id FROM realm WHERE name = 'dash')
         INSERT INTO user_entity (id, email, email_constraint, email_verified, enabled,
             first_name, last_name, realm_id, username, created_timestamp, not_before)
         SELECT gen_random_uuid()::text, 'bench' || i || '@example.com',
             'bench' || i || '@example.com', true, true, 'Bench', 'User ' || i, r.id,
             'bench' || lpad(i::text, 6, '0'), 1764000000000 + i, 0
         FROM r, generate_series({from}, {to}) AS i;
         CREATE TEMP TABLE u AS SELECT * FROM user_entity
           WHERE username BETWEEN 'bench' || lpad('{from}', 6, '0')
                              AND 'bench' || lpad('{to}', 6, '0');
         WITH c AS (SELECT secret_data, credential_data FROM credential
                    WHERE type = 'password' LIMIT 1)
         INSERT INTO credential (id, type, user_id, created_date, secret_data,
             credential_data, priority, version)
         SELECT gen_random_uuid()::text, 'password', u.id, u.created_timestamp,
             c.secret_data, c.credential_data, 10, 0 FROM u, c;
         INSERT INTO user_role_mapping (role_id, user_id)
         SELECT ro.id, u.id FROM u JOIN keycloak_role ro
           ON ro.realm_id = u.realm_id AND ro.name IN ('viewer', 'licensed_user');
         INSERT INTO user_group_membership (group_id, user_id, membership_type)
         SELECT g.id, u.id, 'UNMANAGED' FROM u JOIN keycloak_group g
           ON g.realm_id = u.realm_id AND g.name = 'developers';
         INSERT INTO event_entity (id, client_id, details_json, ip_address, realm_id,
             session_id, event_time, type, user_id)
         SELECT gen_random_uuid()::text, 'dash-app-manager',
             '{{\"auth_method\":\"openid-connect\",\"username\":\"' || u.username || '\"}}',
             '10.0.' || (k * 7 % 250) || '.' || (k % 200), u.realm_id,
             gen_random_uuid()::text, u.created_timestamp + k * 3600000, 'LOGIN', u.id
         FROM u, generate_series(1, 10) AS k;
         DROP TABLE u;",
        to = from + n - 1
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: a real Keycloak, 10,000 users and 100,000 events; prints figures"]
async fn backup_on_keycloaks_real_schema() {
    let users: u64 = std::env::var("LIFEBOAT_KC_BENCH_USERS")
        .ok()
        .and_then(|u| u.parse().ok())
        .unwrap_or(10_000);
    let env = env_with_keycloak().await;
    let info = env.state.instance().unwrap().info();
    let instance = layout(&env.data_dir(), "demo");
    let sql = instance.root.join("grow.sql");
    let grow = |from: u64, n: u64| {
        std::fs::write(&sql, grow_sql(from, n)).unwrap();
        backup_support::open_up(&instance.root);
        as_postgres(
            "/usr/lib/postgresql/15/bin/psql",
            &[
                "-h",
                &instance.socket_dir().display().to_string(),
                "-p",
                &info.postgres_port.unwrap().to_string(),
                "-U",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-f",
                &sql.display().to_string(),
                "keycloak",
            ],
        );
    };
    let started = Instant::now();
    grow(1, users);
    query(&info, "keycloak", "CHECKPOINT");
    let count = |t: &str| query(&info, "keycloak", &format!("SELECT count(*) FROM {t}"));
    let db_size = |db: &str| {
        query(
            &info,
            "postgres",
            &format!("SELECT pg_database_size('{db}')"),
        )
        .parse::<u64>()
        .unwrap()
    };
    println!(
        "Keycloak {}: {} users, {} credentials, {} login events (grown in {:.1} s); database \
         keycloak {:.1} MB, PGDATA {:.1} MB",
        lifeboat::keycloak::VERSION,
        count("user_entity"),
        count("credential"),
        count("event_entity"),
        started.elapsed().as_secs_f64(),
        db_size("keycloak") as f64 / 1e6,
        du(&instance.pgdata()) as f64 / 1e6
    );

    // Raw tools, same settings, into a fresh repository, then Backup Now.
    let config = instance.pgbr_config().display().to_string();
    let repo = env.dir.path().join("raw-restic");
    let restic = |args: &[&str], cwd: &std::path::Path| restic_in(&repo, cwd, args);
    restic(&["init"], env.dir.path());
    let raw_backup = || {
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
        restic(
            &["backup", "--host=raw", "pgbackrest", "config"],
            &instance.staging(),
        );
        started.elapsed()
    };
    let raw = raw_backup();
    let backup = |description: &'static str| {
        let env = &env;
        async move {
            let started = Instant::now();
            let op = env.backup(description).await;
            assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
            let took = started.elapsed();
            println!("  {description}: {}", step_times(&op));
            took
        }
    };
    // Backup Now into its own fresh (initialized) repository, as `backup_bench` does.
    restic_in(&env.bucket().join("restic"), env.dir.path(), &["init"]);
    let first = backup("keycloak bench").await;
    println!(
        "Backup Now {:.2} s vs raw pgbackrest+restic {:.2} s: ratio {:.3}",
        first.as_secs_f64(),
        raw.as_secs_f64(),
        first.as_secs_f64() / raw.as_secs_f64()
    );

    // +1 %: users (with their credentials, roles and groups) and their events.
    let data = du(&instance.pgdata());
    grow(users + 1, (users / 100).max(1));
    let before = du(&env.bucket());
    let second = backup("keycloak bench +1%").await;
    let grown = du(&env.bucket()) - before;
    // The raw tools, for the same change: Keycloak's primary keys are random UUIDs, so new
    // rows land on index pages all over each index, whoever backs them up.
    let raw_before = du(&repo);
    raw_backup();
    let raw_grown = du(&repo) - raw_before;
    println!(
        "second Backup Now after +1% users and events: {:.2} s, bucket grew {:.2} MB = {:.2}% \
         of the data (goal <= 2%); raw pgbackrest+restic grew {:.2} MB for the same change: \
         ratio {:.3}",
        second.as_secs_f64(),
        grown as f64 / 1e6,
        grown as f64 * 100.0 / data as f64,
        raw_grown as f64 / 1e6,
        grown as f64 / raw_grown.max(1) as f64
    );
    stop(&env).await;
}
