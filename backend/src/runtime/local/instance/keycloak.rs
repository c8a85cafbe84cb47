//! Keycloak as a child process of Lifeboat, beside an instance's Postgres: started with
//! [`crate::keycloak::server::command`] in its own process group (it dies with Lifeboat:
//! `setpriv --pdeathsig=KILL` execs `java` itself), its output appended to a log file,
//! ready once its health endpoint says so, stopped with SIGTERM and, after a grace period,
//! SIGKILL to the whole group.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::process::Child;

use crate::keycloak::admin::Admin;
use crate::keycloak::install::KeycloakInstall;
use crate::keycloak::realm::DemoUsers;
use crate::keycloak::server::{ServerSpec, command};
use crate::secret::Secret;

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
    /// No HTTP client to ask the health endpoint with.
    #[error("cannot ask Keycloak's health endpoint: {0}")]
    HealthClient(String),
    /// The admin API refused what the demo realms need.
    #[error("cannot lay out the demo realms: {0}")]
    Realm(String),
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
        let mut launch = crate::runtime::host::process::launcher(&cmd.program, None);
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
            .map_err(|e| KeycloakRunError::HealthClient(e.to_string()))?;
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

/// What the local runtime needs to run Keycloak beside its instances.
#[derive(Debug, Clone)]
pub struct KeycloakSetup {
    /// The installed server.
    pub install: KeycloakInstall,
    /// Lifeboat's own origin (`http://127.0.0.1:8080`): the `lifeboat` client's redirect.
    pub lifeboat_origin: String,
}

/// The master realm's admin Lifeboat creates on Keycloak's first start.
pub const ADMIN_USER: &str = "lifeboat-admin";

/// `keycloak/ports.json`: chosen once, like Postgres' port.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct Ports {
    http: u16,
    management: u16,
}

impl Ports {
    /// The ports remembered in `keycloak_dir`, if any.
    fn read(keycloak_dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(keycloak_dir.join("ports.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The server's URL on them.
    fn url(&self) -> String {
        crate::keycloak::server::base_url(self.http)
    }
}

/// `keycloak/secrets.json` (0600): the master admin's and the database role's passwords.
#[derive(Serialize, Deserialize)]
struct Secrets {
    admin_password: String,
    db_password: String,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeycloakRunError {
    let path = path.to_path_buf();
    move |source| KeycloakRunError::Io { path, source }
}

/// The ports of the Keycloak of the instance whose folder is `root` (`keycloak/ports.json`,
/// chosen on first use and again when one was taken while the server is down).
fn ports(root: &Path) -> Result<Ports, KeycloakRunError> {
    let dir = root.join("keycloak");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join("ports.json");
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    if let Some(p) = Ports::read(&dir).filter(|p| free(p.http) && free(p.management)) {
        return Ok(p);
    }
    let p = Ports {
        http: super::layout::free_port().map_err(io_err(&path))?,
        management: super::layout::free_port().map_err(io_err(&path))?,
    };
    let bytes = serde_json::to_vec(&p).map_err(|e| io_err(&path)(std::io::Error::other(e)))?;
    crate::atomic::write_file(&path, &bytes, 0o644).map_err(io_err(&path))?;
    Ok(p)
}

/// The URL of the Keycloak the instance in `root` runs (its ports chosen now if need be):
/// `serve` trusts its demo realm before the instance is up.
pub fn url_for(root: &Path) -> Result<String, KeycloakRunError> {
    Ok(ports(root)?.url())
}

/// One instance's Keycloak: its ports, secrets, process and demo realms.
#[derive(Debug)]
pub struct InstanceKeycloak {
    setup: KeycloakSetup,
    dir: PathBuf,
    pg_port: u16,
    process: tokio::sync::Mutex<Option<KeycloakProcess>>,
}

impl InstanceKeycloak {
    /// The Keycloak of the instance in `root` whose Postgres listens on `pg_port`.
    pub fn new(setup: KeycloakSetup, root: &Path, pg_port: u16) -> Self {
        Self {
            setup,
            dir: root.join("keycloak"),
            pg_port,
            process: tokio::sync::Mutex::new(None),
        }
    }

    /// The SQL that makes Keycloak's role and (empty) database; its password is set too.
    pub fn database_sql(&self) -> Result<String, KeycloakRunError> {
        let secrets = self.secrets()?;
        Ok(format!(
            "CREATE ROLE keycloak LOGIN PASSWORD '{}';\nCREATE DATABASE keycloak OWNER keycloak;\n",
            secrets.db_password.replace('\'', "''")
        ))
    }

    /// Its URL.
    pub fn url(&self) -> Option<String> {
        Ports::read(&self.dir).map(|p| p.url())
    }

    /// The passwords, made on first use.
    fn secrets(&self) -> Result<Secrets, KeycloakRunError> {
        let path = self.dir.join("secrets.json");
        if let Ok(bytes) = std::fs::read(&path)
            && let Ok(s) = serde_json::from_slice::<Secrets>(&bytes)
        {
            return Ok(s);
        }
        std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let s = Secrets {
            admin_password: Secret::random_hex(16)
                .map_err(io_err(&path))?
                .expose()
                .to_owned(),
            db_password: Secret::random_hex(16)
                .map_err(io_err(&path))?
                .expose()
                .to_owned(),
        };
        let bytes = serde_json::to_vec(&s).map_err(|e| io_err(&path)(std::io::Error::other(e)))?;
        crate::atomic::write_file(&path, &bytes, 0o600).map_err(io_err(&path))?;
        Ok(s)
    }

    /// Starts the server (if it is not running) and waits until it is ready.
    pub async fn start(&self) -> Result<(), KeycloakRunError> {
        let mut slot = self.process.lock().await;
        if slot.is_some() {
            return Ok(());
        }
        let ports = ports(self.dir.parent().unwrap_or(&self.dir))?;
        let secrets = self.secrets()?;
        let spec = ServerSpec {
            http_port: ports.http,
            management_port: ports.management,
            database: crate::keycloak::server::Database {
                host: "127.0.0.1".into(),
                port: self.pg_port,
                name: "keycloak".into(),
                username: "keycloak".into(),
                password: Secret::new(secrets.db_password),
            },
            state_dir: self.dir.clone(),
            bootstrap_admin: Some((ADMIN_USER.into(), Secret::new(secrets.admin_password))),
        };
        let log = self.dir.join("keycloak.log");
        let mut process = KeycloakProcess::start(&self.setup.install, spec, &log)?;
        if let Err(e) = process.wait_ready(READY_LIMIT).await {
            process.stop().await;
            return Err(e);
        }
        *slot = Some(process);
        Ok(())
    }

    /// Stops the server if it runs.
    pub async fn stop(&self) {
        if let Some(mut p) = self.process.lock().await.take() {
            p.stop().await;
        }
    }

    /// A signed-in admin of the master realm.
    pub async fn admin(&self) -> Result<Admin, KeycloakRunError> {
        let url = self.url().unwrap_or_default();
        let secrets = self.secrets()?;
        Admin::login(&url, ADMIN_USER, &Secret::new(secrets.admin_password))
            .await
            .map_err(|e| KeycloakRunError::Realm(e.to_string()))
    }

    /// Creates the demo realms when realm `dash` is missing, writing who can sign in to
    /// `users_file` (0600); `None` when the realm was already there.
    pub async fn ensure_demo_realms(
        &self,
        users_file: &Path,
    ) -> Result<Option<DemoUsers>, KeycloakRunError> {
        let admin = self.admin().await?;
        let realm = |e: crate::keycloak::admin::AdminError| KeycloakRunError::Realm(e.to_string());
        if admin
            .realm_exists(crate::keycloak::realm::REALM)
            .await
            .map_err(realm)?
        {
            return Ok(None);
        }
        let url = self.url().unwrap_or_default();
        let mut failed = None;
        let realms = crate::keycloak::realm::demo(&url, &self.setup.lifeboat_origin, &mut || {
            Secret::random_hex(16).unwrap_or_else(|e| {
                failed = Some(e);
                Secret::new(String::new())
            })
        });
        if let Some(e) = failed {
            return Err(io_err(users_file)(e));
        }
        admin.create_realm(&realms.corporate).await.map_err(realm)?;
        admin.create_realm(&realms.dash).await.map_err(realm)?;
        let bytes = serde_json::to_vec_pretty(&realms.users)
            .map_err(|e| io_err(users_file)(std::io::Error::other(e)))?;
        crate::atomic::write_file(users_file, &bytes, 0o600).map_err(io_err(users_file))?;
        Ok(Some(realms.users))
    }
}

/// How long a start may take (the first one creates Keycloak's schema).
const READY_LIMIT: Duration = Duration::from_secs(300);
