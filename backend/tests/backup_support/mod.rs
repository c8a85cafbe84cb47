//! Shared fixtures of the backup tests: a data dir with the real demo instance, the app
//! factory driven in-process, and restic on the resulting bucket.
#![allow(dead_code, clippy::unwrap_used)] // Each test binary uses a subset; tests may panic.

pub mod http;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lifeboat::app::app;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::state::{AppState, Settings};
use lifeboat_shared::operation::Operation;
use serde_json::Value;
use tower::ServiceExt;

/// A Lifeboat with its demo instance, in-process.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub router: axum::Router,
}

impl Env {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The default bucket (a local folder).
    pub fn bucket(&self) -> PathBuf {
        self.data_dir().join("bucket")
    }

    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send(&self.router, req).await
    }

    pub async fn put(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::put(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send(&self.router, req).await
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        send(&self.router, Request::get(uri).body(Body::empty()).unwrap()).await
    }

    /// Waits until operation `id` has ended.
    pub async fn wait_done(&self, id: &str, within: Duration) -> Operation {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let op = self.state.operations().get(id).unwrap();
            if op.status.is_terminal() {
                return op;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still {:?}: {op:#?}",
                op.status
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts a backup through the API and waits for its end.
    /// `POST /api/v1/backups/{id}/restore` with `body`; it must be accepted and succeed.
    pub async fn restore(&self, id: &str, body: Value) -> Operation {
        let (status, op) = self
            .post(&format!("/api/v1/backups/{id}/restore"), body)
            .await;
        assert_eq!(status.as_u16(), 202, "{op}");
        let op = self
            .wait_done(op["id"].as_str().unwrap(), Duration::from_secs(300))
            .await;
        assert_eq!(
            op.status,
            lifeboat_shared::operation::OperationStatus::Succeeded,
            "{op:#?}"
        );
        op
    }

    /// Backup Now, a full one (each stands alone; chains are `backup_chain`'s), to its end.
    pub async fn backup(&self, description: &str) -> Operation {
        let (status, body) = self
            .post(
                "/api/v1/backups",
                serde_json::json!({ "description": description, "backup_type": "full" }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        self.wait_done(&id, Duration::from_secs(120)).await
    }
}

async fn send(router: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A fresh data dir, the demo instance up, tools from `toolbox`.
pub async fn env_with(toolbox: Toolbox) -> Env {
    env_full(toolbox, None).await
}

/// The same, the demo instance running the real Keycloak (`make install` installs it)
/// with its realms laid out.
pub async fn env_with_keycloak() -> Env {
    let install = lifeboat::keycloak::install::KeycloakInstall::find(None)
        .expect("make install installs Keycloak");
    let setup = lifeboat::runtime::local::instance::keycloak::KeycloakSetup {
        install,
        lifeboat_origin: "http://127.0.0.1:9".into(),
    };
    env_full(Toolbox::discover(), Some(setup)).await
}

async fn env_full(
    toolbox: Toolbox,
    keycloak: Option<lifeboat::runtime::local::instance::keycloak::KeycloakSetup>,
) -> Env {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let settings = Settings {
        data_dir: dir.path().join("data"),
        static_dir: dir.path().join("dist"),
        allowed_origins: vec![],
    };
    let state = lifeboat::cli::local_state(settings, toolbox, keycloak);
    lifeboat::jobs::supervisor::recover(state.jobs()).await;
    state.runtime().instances().start().await.unwrap();
    let router = app(state.clone());
    Env { dir, state, router }
}

/// With the tools found on this host.
pub async fn env() -> Env {
    env_with(Toolbox::discover()).await
}

/// restic against the repository `repo` (no passphrase) from `cwd`; it must succeed.
pub fn restic_in(repo: &Path, cwd: &Path, args: &[&str]) {
    let out = std::process::Command::new("restic")
        .args(args)
        .current_dir(cwd)
        .env("RESTIC_REPOSITORY", repo)
        .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How long step `s` took, if it ran.
fn step_duration(s: &lifeboat_shared::operation::Step) -> Option<f64> {
    let at = |t: &Option<String>| {
        time::OffsetDateTime::parse(
            t.as_deref().unwrap_or_default(),
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
    };
    Some((at(&s.finished_at)? - at(&s.started_at)?).as_seconds_f64())
}

/// Each step of `op` with how long it took: `preflight 0.74s, lock 0.00s, …`.
pub fn step_times(op: &Operation) -> String {
    let steps: Vec<String> = op
        .steps
        .iter()
        .filter_map(|s| Some(format!("{} {:.2}s", s.id, step_duration(s)?)))
        .collect();
    steps.join(", ")
}

/// Seconds step `id` of `op` took (0 when it did not run).
pub fn step_seconds(op: &Operation, id: &str) -> f64 {
    op.steps
        .iter()
        .find(|s| s.id == id)
        .and_then(step_duration)
        .unwrap_or(0.0)
}

/// Lets the postgres user walk into a temporary directory.
pub fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs restic against the bucket's repository (no passphrase configured).
pub fn restic(bucket: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("restic")
        .args(args)
        .env("RESTIC_REPOSITORY", bucket.join("restic"))
        .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY)
        .output()
        .unwrap()
}

/// The short ids of every snapshot in the bucket.
pub fn snapshot_ids(bucket: &Path) -> Vec<String> {
    let out = restic(bucket, &["snapshots", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snaps: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    snaps
        .iter()
        .map(|s| s["short_id"].as_str().unwrap().to_owned())
        .collect()
}

/// `restic check` passes.
pub fn assert_restic_check(bucket: &Path) {
    let out = restic(bucket, &["check"]);
    assert!(
        out.status.success(),
        "restic check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stops the instance's Postgres when the test ends.
pub async fn stop(env: &Env) {
    if let Some(i) = env.state.instance() {
        i.stop().await.unwrap();
    }
}

/// `psql -At` as `postgres` on the demo instance's database `keycloak` (its socket under
/// `data`); what it printed, trimmed (empty when the query failed).
pub fn psql_demo(data: &Path, port: u64, sql: &str) -> String {
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--",
        ])
        .arg("psql")
        .arg("-h")
        .arg(data.join("instances/demo/pgsock"))
        .args(["-p", &port.to_string(), "-U", "postgres", "-At", "-X"])
        .args(["-d", "keycloak", "-c", sql])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs a program as the `postgres` OS user; it must succeed.
pub fn as_postgres(program: &str, args: &[&str]) {
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--",
        ])
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `du -sb`: the bytes below `path`.
pub fn du(path: &Path) -> u64 {
    let out = std::process::Command::new("du")
        .arg("-sb")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The local layout (folders) of the instance in `namespace` below `data_dir`.
pub fn layout(data_dir: &Path, namespace: &str) -> lifeboat::runtime::local::instance::Layout {
    lifeboat::runtime::local::instance::Layout::new(data_dir, namespace)
}

/// The psql of the PostgreSQL that `pg_ctl` belongs to.
fn psql_program() -> PathBuf {
    let toolbox = Toolbox::discover();
    let pg_ctl = toolbox.path("pg_ctl").unwrap();
    let real = std::fs::canonicalize(pg_ctl).unwrap();
    real.parent().unwrap().join("psql")
}

/// One query's unaligned, tuples-only output against an instance, over its socket as the
/// `postgres` OS user (like the instance's own checks).
pub fn query(info: &lifeboat_shared::backup::InstanceInfo, db: &str, sql: &str) -> String {
    let port = info.postgres_port.unwrap().to_string();
    let socket = info.postgres_socket_dir.clone().unwrap();
    let mut psql = std::process::Command::new("setpriv");
    psql.args([
        "--reuid=postgres",
        "--regid=postgres",
        "--clear-groups",
        "--",
    ])
    .arg(psql_program())
    .args(["-h", &socket, "-p", &port, "-U", "postgres", "-d", db])
    .args(["-v", "ON_ERROR_STOP=1", "-X", "-At", "-c", sql])
    .current_dir("/");
    psql_output(psql, sql).trim_end().to_owned()
}

/// Runs a `psql` command for query `sql`; it must succeed. Its whole output.
pub fn psql_output(mut psql: std::process::Command, sql: &str) -> String {
    let out = psql.output().unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The live processes whose command line mentions `dir` (the tools and the Postgres of a
/// Lifeboat whose data dir it is), as `pid: command line`.
pub fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A zombie's command line is empty: it is gone, only not yet reaped.
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(&needle) {
            found.push(format!("{pid}: {}", cmdline.trim()));
        }
    }
    found
}

/// The restic snapshots a catalog entry names (the system's, the apps' data's), sorted,
/// once each.
pub fn named_snapshots(manifest: &Value) -> Vec<String> {
    let mut named: Vec<String> = manifest["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["snapshot_id"].as_str().unwrap().to_owned())
        .collect();
    named.sort();
    named.dedup();
    named
}
