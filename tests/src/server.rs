//! A `lifeboat serve` child process on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::workspace_root;

/// The `lifeboat` binary under test: `$LIFEBOAT_BIN`, else `target/debug/lifeboat`.
pub fn lifeboat_bin() -> PathBuf {
    std::env::var_os("LIFEBOAT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/lifeboat"))
}

/// The built web page: `$LIFEBOAT_STATIC_DIR`, else `dist/`.
pub fn static_dir() -> PathBuf {
    std::env::var_os("LIFEBOAT_STATIC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"))
}

/// A running server; killed when dropped.
#[derive(Debug)]
pub struct Lifeboat {
    child: Child,
    /// e.g. `http://127.0.0.1:41234`
    pub url: String,
    /// Everything it logged so far is also copied here, for assertions.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The admin token this server was started with (`LIFEBOAT_ADMIN_TOKEN`).
    pub token: String,
    /// The one-time sign-in link it logged at start.
    pub login_url: String,
}

/// The admin token the harness gives a server: fixed per data dir (so a restarted server
/// accepts the same client), never a real secret.
fn test_token(data_dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    format!("e2e-admin-token-{:016x}", h.finish())
}

impl Lifeboat {
    /// Starts `lifeboat serve` with its own data dir and extra arguments, and waits until
    /// it listens. The demo runs without Keycloak (`--demo-keycloak=false`) unless the
    /// arguments say `--demo-keycloak=true`: a real Keycloak costs a JVM and 20 s of CPU at
    /// its first start, which only the tests about it should pay.
    pub async fn start(data_dir: &Path, extra_args: &[&str]) -> anyhow::Result<Self> {
        Self::start_with_env(data_dir, extra_args, &[]).await
    }

    /// [`Lifeboat::start`] with environment variables set for the server (and so for the
    /// tools it runs), such as a `PATH` that puts a wrapped tool first.
    pub async fn start_with_env(
        data_dir: &Path,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let keycloak_said = extra_args.iter().any(|a| a.starts_with("--demo-keycloak"));
        let bin = lifeboat_bin();
        let token = test_token(data_dir);
        if !bin.is_file() {
            bail!(
                "{} is missing: build it first (`cargo build -p lifeboat`)",
                bin.display()
            );
        }
        let mut child = Command::new(&bin)
            .arg("serve")
            .arg("--listen=127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--static-dir")
            .arg(static_dir())
            .args(extra_args)
            .args((!keycloak_said).then_some("--demo-keycloak=false"))
            .env("RUST_LOG", "info")
            .env("LIFEBOAT_ADMIN_TOKEN", &token)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (login_tx, login_rx) = tokio::sync::oneshot::channel();
        let log2 = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut tx = Some(tx);
            let mut login_tx = Some(login_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[lifeboat] {line}");
                if let Some(url) = line.split("listening on ").nth(1) {
                    let url = url
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .trim_end_matches('/');
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.to_owned());
                    }
                }
                if let Some(url) = line.split("sign in once at ").nth(1) {
                    let url = url.split_whitespace().next().unwrap_or_default();
                    if let Some(tx) = login_tx.take() {
                        let _ = tx.send(url.to_owned());
                    }
                }
                if let Ok(mut l) = log2.lock() {
                    l.push(line);
                }
            }
        });
        let url = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .context("lifeboat did not report its address within 30 s")?
            .context("lifeboat exited before listening")?;
        let login_url = tokio::time::timeout(Duration::from_secs(10), login_rx)
            .await
            .context("lifeboat did not log its sign-in link")?
            .context("lifeboat exited before logging its sign-in link")?;
        Ok(Self {
            child,
            url,
            log,
            token,
            login_url,
        })
    }

    /// An HTTP client that authenticates as the admin with the bearer token.
    pub fn api(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(v) = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.token)) {
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap_or_default()
    }

    /// Its process id (for the tests that watch its memory and files).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the server with SIGTERM and waits for it to exit (graceful shutdown).
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            let status = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()?;
            if !status.success() {
                bail!("kill -TERM failed");
            }
        }
        Ok(tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await??)
    }
}
