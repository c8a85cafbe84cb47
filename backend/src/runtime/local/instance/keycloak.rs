//! Keycloak as a child process of Lifeboat, beside an instance's Postgres: started with
//! [`crate::keycloak::server::command`] in its own process group (it dies with Lifeboat:
//! `setpriv --pdeathsig=KILL` execs `java` itself), its output appended to a log file,
//! ready once its health endpoint says so, stopped with SIGTERM and, after a grace period,
//! SIGKILL to the whole group.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Child;

use crate::keycloak::install::KeycloakInstall;
use crate::keycloak::server::{ServerSpec, command};

/// How long a stop waits after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// Why Keycloak did not run.
#[derive(Debug, thiserror::Error)]
pub enum KeycloakRunError {
    /// The state folder or log could not be made.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// What.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `java` could not be started.
    #[error("cannot start Keycloak ({program}): {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It exited before it was ready.
    #[error("Keycloak exited ({status}) before it was ready; the end of {log}:\n{tail}")]
    Exited {
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// Not ready in time.
    #[error("Keycloak was not ready after {} s (waited for {url}); the end of {log}:\n{tail}", limit.as_secs())]
    NotReady {
        /// How long it was given.
        limit: Duration,
        /// The health endpoint asked.
        url: String,
        /// Its log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
}

/// A running Keycloak server.
#[derive(Debug)]
pub struct KeycloakProcess {
    child: Child,
    spec: ServerSpec,
    log: PathBuf,
}

impl KeycloakProcess {
    /// Starts Keycloak for `spec`, appending its output to `log`.
    pub fn start(
        install: &KeycloakInstall,
        spec: ServerSpec,
        log: &Path,
    ) -> Result<Self, KeycloakRunError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KeycloakRunError::Io { path, source }
        };
        let tmp = spec.state_dir.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io(log))?;
        let err = out.try_clone().map_err(io(log))?;
        let cmd = command(install, &spec);
        let mut launch = super::super::process::launcher(&cmd.program, None);
        launch
            .args(&cmd.args)
            .current_dir(&spec.state_dir)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        for (name, value) in &cmd.env {
            launch.env(name, value.expose());
        }
        let child = launch.spawn().map_err(|source| KeycloakRunError::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        tracing::info!(
            url = %spec.base_url(),
            pid = child.id().unwrap_or_default(),
            log = %log.display(),
            "Keycloak starting"
        );
        Ok(Self {
            child,
            spec,
            log: log.to_path_buf(),
        })
    }

    /// The server's settings.
    pub fn spec(&self) -> &ServerSpec {
        &self.spec
    }

    /// Waits until the health endpoint answers `UP`, or fails at once if the server exits.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<(), KeycloakRunError> {
        let url = self.spec.ready_url();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .map_err(|e| KeycloakRunError::Spawn {
                program: PathBuf::from("reqwest"),
                source: std::io::Error::other(e),
            })?;
        let started = tokio::time::Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(KeycloakRunError::Exited {
                    status: status.to_string(),
                    log: self.log.clone(),
                    tail: tail(&self.log),
                });
            }
            if let Ok(resp) = http.get(&url).send().await
                && resp.status().is_success()
            {
                tracing::info!(
                    url = %self.spec.base_url(),
                    seconds = started.elapsed().as_secs_f64(),
                    "Keycloak ready"
                );
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(KeycloakRunError::NotReady {
                    limit,
                    url,
                    log: self.log.clone(),
                    tail: tail(&self.log),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// SIGTERM to its process group, then SIGKILL after [`STOP_GRACE`].
    pub async fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let Some(pid) = self.child.id() else { return };
        signal_group(pid, "-TERM").await;
        if tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pid,
                "Keycloak did not stop within its grace period; killing it"
            );
            signal_group(pid, "-KILL").await;
            let _ = self.child.wait().await;
        }
        tracing::info!("Keycloak stopped");
    }
}

/// `kill <signal> -- -<pgid>`: the child leads its own process group.
async fn signal_group(pid: u32, signal: &str) {
    let _ = tokio::process::Command::new("kill")
        .arg(signal)
        .arg("--")
        .arg(format!("-{pid}"))
        .status()
        .await;
}

/// The last 20 lines of the log.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
