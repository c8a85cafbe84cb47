//! The instance's PostgreSQL server: created with `initdb`, run as Lifeboat's child, and
//! kept running.
//!
//! The postmaster runs in its own process group (a Ctrl-C on Lifeboat's terminal does not
//! reach it; Lifeboat stops it in order) with a parent-death signal, so it never outlives a
//! killed Lifeboat. At start a `postmaster.pid` whose process is gone (or is not a postgres)
//! is stale and removed; a live postgres on our data directory is re-used.
//!
//! Once started, a watchdog looks every second whether it still runs, as a kubelet watches
//! a container: a postmaster that died without Lifeboat stopping it (killed, crashed) is
//! started again (crash recovery replays its WAL), with backoff from 1 s doubling to a
//! minute while it will not start.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::layout::{Layout, chown, io, write_owned};
use crate::command::{Tool, ToolCommand};
use crate::runtime::InstanceError;
use crate::runtime::host::process::{Runner, launcher};
use crate::runtime::host::sql::Psql;
use crate::runtime::host::toolbox::Toolbox;

/// How long Postgres may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the watchdog looks.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The longest the watchdog waits between two attempts to start a Postgres that will not.
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(60);

/// The server of one instance. Cheap to share: the watchdog holds it weakly.
#[derive(Debug)]
pub struct Postmaster {
    server: Arc<Server>,
}

#[derive(Debug)]
struct Server {
    layout: Layout,
    port: u16,
    postgres: PathBuf,
    ids: Option<(u32, u32)>,
    child: Mutex<Option<Child>>,
    /// Held by whoever starts or stops it, and by the watchdog while it looks and restarts.
    control: Mutex<()>,
    /// Started and not stopped on purpose since: the watchdog keeps it running.
    wanted: AtomicBool,
    /// The watchdog task runs.
    watching: AtomicBool,
}

impl Postmaster {
    /// The server for `layout`, not started.
    pub fn new(layout: Layout, port: u16, toolbox: &Toolbox, ids: Option<(u32, u32)>) -> Self {
        let postgres = toolbox
            .path("postgres")
            .map_or_else(|| PathBuf::from("postgres"), Path::to_path_buf);
        Self {
            server: Arc::new(Server {
                layout,
                port,
                postgres,
                ids,
                child: Mutex::new(None),
                control: Mutex::new(()),
                wanted: AtomicBool::new(false),
                watching: AtomicBool::new(false),
            }),
        }
    }

    /// The PostgreSQL service account (uid, gid) when Lifeboat runs as root.
    pub fn ids(&self) -> Option<(u32, u32)> {
        self.server.ids
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The process id of the postmaster running now: another one after a restart.
    pub fn pid(&self) -> Option<u32> {
        let pgdata = self.server.layout.pgdata();
        read_pid(&pgdata.join("postmaster.pid")).filter(|pid| is_our_postgres(*pid, &pgdata))
    }

    /// Runs `initdb` unless the data directory already holds a cluster.
    pub async fn init_if_needed(&self, runner: &Runner) -> Result<(), InstanceError> {
        self.server.init_if_needed(runner).await
    }

    /// Writes `lifeboat.conf` (port, socket, archiving with `archive_command`, none without)
    /// and includes it from `postgresql.conf`. Rewritten at every start, so a restored data
    /// directory gets this instance's settings back.
    pub fn write_settings(&self, archive_command: Option<&str>) -> Result<(), InstanceError> {
        self.server.write_settings(archive_command)
    }

    /// Starts the server (or adopts one already running on this data directory), waits
    /// until it accepts connections, and keeps it running from then on.
    pub async fn start(&self) -> Result<(), InstanceError> {
        let _control = self.server.control.lock().await;
        self.server.start().await?;
        self.server.wanted.store(true, Ordering::SeqCst);
        if !self.server.watching.swap(true, Ordering::SeqCst) {
            tokio::spawn(watch(Arc::downgrade(&self.server)));
        }
        Ok(())
    }

    /// Fast shutdown: disconnects clients, checkpoints, exits. Waits up to 30 s. The
    /// watchdog leaves it stopped.
    pub async fn stop(&self) {
        let _control = self.server.control.lock().await;
        self.server.wanted.store(false, Ordering::SeqCst);
        self.server.stop().await;
    }

    /// Runs SQL (psql meta-commands such as `\connect` allowed) as the superuser; stops at
    /// the first error.
    pub async fn psql_file(
        &self,
        runner: &Runner,
        sql: &str,
        name: &'static str,
    ) -> Result<(), InstanceError> {
        self.server.psql_file(runner, sql, name).await
    }

    /// How `psql` reaches it: the Unix socket, as the PostgreSQL OS user.
    pub fn psql(&self) -> Psql {
        self.server.psql()
    }
}

/// The watchdog: ends when the instance is dropped.
async fn watch(server: Weak<Server>) {
    let mut pause = WATCH_EVERY;
    loop {
        tokio::time::sleep(pause).await;
        let Some(server) = server.upgrade() else {
            return;
        };
        let _control = server.control.lock().await;
        if !server.wanted.load(Ordering::SeqCst) || server.alive().await {
            pause = WATCH_EVERY;
            continue;
        }
        let pgdata = server.layout.pgdata();
        tracing::error!(
            pgdata = %pgdata.display(),
            log = %server.layout.server_log().display(),
            "PostgreSQL stopped without Lifeboat stopping it; starting it again"
        );
        match server.start().await {
            Ok(()) => {
                tracing::info!(pgdata = %pgdata.display(), "PostgreSQL runs again");
                pause = WATCH_EVERY;
            }
            Err(e) => {
                pause = (pause * 2).min(MAX_RESTART_PAUSE);
                tracing::error!(
                    pgdata = %pgdata.display(),
                    error = %e,
                    retry_in_s = pause.as_secs(),
                    "PostgreSQL did not start again"
                );
            }
        }
    }
}

impl Server {
    /// Runs `initdb` unless the data directory already holds a cluster.
    async fn init_if_needed(&self, runner: &Runner) -> Result<(), InstanceError> {
        let pgdata = self.layout.pgdata();
        if pgdata.join("PG_VERSION").is_file() {
            return Ok(());
        }
        // A half-finished initdb leaves files behind that the next one refuses.
        if let Ok(entries) = std::fs::read_dir(&pgdata) {
            for e in entries.filter_map(Result::ok) {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        let mut cmd = ToolCommand::new(
            Tool::Initdb,
            [
                "-D".to_owned(),
                pgdata.display().to_string(),
                "-A".into(),
                "trust".into(),
                "-U".into(),
                "postgres".into(),
                "--encoding=UTF8".into(),
                "--no-locale".into(),
                "--no-instructions".into(),
            ],
        );
        cmd.as_postgres_user = true;
        runner.run_ok(cmd, "initdb").await?;
        Ok(())
    }

    /// Writes `lifeboat.conf` (port, socket, archiving) and includes it from
    /// `postgresql.conf`. Rewritten at every start, so a restored data directory gets this
    /// instance's settings back.
    fn write_settings(&self, archive_command: Option<&str>) -> Result<(), InstanceError> {
        let pgdata = self.layout.pgdata();
        let archiving = match archive_command {
            // Segments made new (zero-filled), not recycled: one cut short by the shipper's
            // switch every minute compresses to what was written in it.
            Some(c) => format!(
                "archive_mode = on\narchive_command = '{}'\nwal_recycle = off",
                c.replace('\'', "''")
            ),
            None => "archive_mode = off".to_owned(),
        };
        let conf = format!(
            "# Written by Lifeboat at every start.\n\
             port = {}\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             wal_level = replica\n\
             {archiving}\n\
             # PostgreSQL's default: recovery refuses a value below the backed-up cluster's,
             # and a backup from Kubernetes (or any stock Postgres) has 10.
             max_wal_senders = 10\n",
            self.port,
            self.layout.socket_dir().display(),
        );
        write_owned(&pgdata.join("lifeboat.conf"), &conf, self.ids)?;
        let main = pgdata.join("postgresql.conf");
        let current = std::fs::read_to_string(&main).map_err(io("cannot read", &main))?;
        let include = "include_if_exists = 'lifeboat.conf'";
        if !current.lines().any(|l| l.trim() == include) {
            write_owned(&main, &format!("{current}\n{include}\n"), self.ids)?;
        }
        Ok(())
    }

    /// Starts the server (or adopts one already running on this data directory) and waits
    /// until it accepts connections.
    async fn start(&self) -> Result<(), InstanceError> {
        let pidfile = self.layout.pgdata().join("postmaster.pid");
        if let Some(pid) = read_pid(&pidfile) {
            if is_our_postgres(pid, &self.layout.pgdata()) {
                tracing::info!(pid, "re-using the PostgreSQL server already running");
                return self.wait_ready(None).await;
            }
            tracing::warn!(pid, "removing a stale postmaster.pid");
            std::fs::remove_file(&pidfile).map_err(io("cannot remove", &pidfile))?;
        }
        let log_path = self.layout.server_log();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io("cannot open", &log_path))?;
        chown(&log_path, self.ids)?;
        let err_log = log.try_clone().map_err(io("cannot open", &log_path))?;
        let mut cmd = launcher(&self.postgres, self.ids);
        cmd.arg("-D")
            .arg(self.layout.pgdata())
            .current_dir(&self.layout.root)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err_log));
        let child = cmd
            .spawn()
            .map_err(io("cannot start postgres for", &self.layout.pgdata()))?;
        let mut slot = self.child.lock().await;
        *slot = Some(child);
        self.wait_ready(Some(&mut slot)).await
    }

    /// Whether the postmaster it started (or adopted) still runs.
    async fn alive(&self) -> bool {
        let mut slot = self.child.lock().await;
        match slot.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                *slot = None;
                false
            }
            None => is_running(&self.layout.pgdata()),
        }
    }

    async fn wait_ready(&self, mut child: Option<&mut Option<Child>>) -> Result<(), InstanceError> {
        let pidfile = self.layout.pgdata().join("postmaster.pid");
        let started = Instant::now();
        loop {
            // Line 8 of postmaster.pid says `ready` once connections are accepted.
            if std::fs::read_to_string(&pidfile)
                .is_ok_and(|s| s.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
            {
                return Ok(());
            }
            if let Some(Some(c)) = child.as_deref_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(InstanceError::Start(format!(
                    "postgres exited with {status}; see {}: {}",
                    self.layout.server_log().display(),
                    log_tail(&self.layout.server_log())
                )));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(InstanceError::Start(format!(
                    "not ready after {}s; see {}",
                    START_TIMEOUT.as_secs(),
                    self.layout.server_log().display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fast shutdown: disconnects clients, checkpoints, exits. Waits up to 30 s.
    async fn stop(&self) {
        let pidfile = self.layout.pgdata().join("postmaster.pid");
        let pgdata = self.layout.pgdata();
        let Some(pid) = read_pid(&pidfile).filter(|p| is_our_postgres(*p, &pgdata)) else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(pid.to_string())
            .status()
            .await;
        let mut slot = self.child.lock().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(c) = slot.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    *slot = None;
                    break;
                }
            } else if !is_our_postgres(pid, &pgdata) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tracing::info!("PostgreSQL stopped");
    }

    /// Runs SQL (psql meta-commands such as `\connect` allowed) as the superuser; stops at
    /// the first error.
    async fn psql_file(
        &self,
        runner: &Runner,
        sql: &str,
        name: &'static str,
    ) -> Result<(), InstanceError> {
        let path = self.layout.root.join(format!(".{name}.sql"));
        write_owned(&path, sql, self.ids)?;
        let cmd = self
            .psql()
            .command("postgres", &["-q", "-f", &path.display().to_string()]);
        let res = runner.run_ok(cmd, name).await;
        let _ = std::fs::remove_file(&path);
        res.map(|_| ())
    }

    /// How `psql` reaches it: the Unix socket, as the PostgreSQL OS user.
    fn psql(&self) -> Psql {
        Psql {
            host: self.layout.socket_dir().display().to_string(),
            port: self.port,
            as_postgres_user: true,
        }
    }
}

/// Whether a postmaster of `pgdata` is running now.
pub(super) fn is_running(pgdata: &Path) -> bool {
    read_pid(&pgdata.join("postmaster.pid")).is_some_and(|pid| is_our_postgres(pid, pgdata))
}

fn read_pid(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` is a postmaster of `pgdata` (a recycled pid may be anything else).
fn is_our_postgres(pid: u32, pgdata: &Path) -> bool {
    let comm_ok =
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let wanted = pgdata.as_os_str().as_encoded_bytes();
    comm_ok && cmdline.windows(wanted.len().max(1)).any(|w| w == wanted)
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}
