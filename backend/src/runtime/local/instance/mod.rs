//! The local demo instance: what `lifeboat serve` protects when there is no cluster.
//!
//! A PostgreSQL 15 cluster standing in for Dash Enterprise's system Postgres (Keycloak's
//! database and an App Manager-like one, see `seed`), a real Keycloak on it when the runtime
//! runs one (`keycloak`; else a Keycloak-like schema of our own stands in), and a folder of
//! YAML files standing in for the namespace's configuration. Lifeboat creates it on first start and re-uses it after;
//! the postmaster is Lifeboat's child (it dies with Lifeboat, and is stopped on shutdown).
//!
//! Layout, under `<data_dir>/instances/<namespace>/`:
//!
//! | path | what | owner |
//! |---|---|---|
//! | `instance.json` | id, namespace, port (chosen once, remembered) | lifeboat |
//! | `pg/` | PGDATA; `pg/lifeboat.conf` holds our settings (rewritten at start) | postgres |
//! | `pgsock/` | the Unix socket | postgres |
//! | `postgres.log` | the server log | postgres |
//! | `pgbr/` | `pgbackrest.conf`, `lock/`, `log/`, `spool/` | postgres |
//! | `staging/pgbackrest/` | pgBackRest's staging repository (`repo1-path`) | postgres |
//! | `staging/config/` | the configuration as exported for the last backup | lifeboat |
//! | `config/` | the configuration (YAML) | lifeboat |
//! | `keycloak/` | when Keycloak runs beside Postgres: `ports.json` (chosen once), `secrets.json` (0600: the master admin's and the `keycloak` role's passwords), `keycloak.log`, its transaction log and temporary files | lifeboat |

pub mod config_folder;
pub mod keycloak;
mod postgres;
pub mod seed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeboat_shared::backup::InstanceInfo;
use serde::{Deserialize, Serialize};

use crate::command::{Place, ToolCommand, ToolOutput, Volume};
use crate::pgbackrest::{PgbrSettings, RepoPaths};
use crate::runtime::host::files;
use crate::runtime::host::marker::RestoreMarker;
use crate::runtime::host::paths::{self, Paths};
use crate::runtime::host::process::Runner;
use crate::runtime::host::sql::SystemSql;
use crate::runtime::host::staging::FolderStaging;
use crate::runtime::{Applied, Instance, InstanceError, Staging};

/// How long start-up waits for another pgBackRest's lock on the stanza.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

pub use postgres::Postmaster;

/// The namespace of the demo instance.
pub const DEMO_NAMESPACE: &str = "demo";

/// What the instance's platform version is reported as.
pub const DEMO_PLATFORM_VERSION: &str = "dash-enterprise-5.4 (lifeboat demo)";

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstanceError {
    let path = path.to_path_buf();
    move |source| InstanceError::Io { what, path, source }
}

/// The remembered identity of an instance (`instance.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFile {
    /// Stable id.
    pub instance_id: String,
    /// Its namespace.
    pub namespace: String,
    /// Postgres' TCP port on 127.0.0.1.
    pub port: u16,
    /// Whether the seed data went in (the seed runs once).
    #[serde(default)]
    pub seeded: bool,
}

/// Where an instance's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `<data_dir>/instances/<namespace>`.
    pub root: PathBuf,
}

impl Layout {
    /// The layout of `namespace` in `data_dir`.
    pub fn new(data_dir: &Path, namespace: &str) -> Self {
        Self {
            root: paths::namespace_dir(data_dir, namespace),
        }
    }
    /// `instance.json`.
    pub fn file(&self) -> PathBuf {
        self.root.join("instance.json")
    }
    /// PGDATA.
    pub fn pgdata(&self) -> PathBuf {
        self.root.join("pg")
    }
    /// The socket folder.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("pgsock")
    }
    /// The server log.
    pub fn server_log(&self) -> PathBuf {
        self.root.join("postgres.log")
    }
    /// pgBackRest's own folder.
    pub fn pgbr_dir(&self) -> PathBuf {
        paths::pgbr_dir(&self.root)
    }
    /// `pgbackrest.conf`.
    pub fn pgbr_config(&self) -> PathBuf {
        self.pgbr_dir().join("pgbackrest.conf")
    }
    /// What restic backs up: `pgbackrest/` and `config/` below it.
    pub fn staging(&self) -> PathBuf {
        paths::backup_staging(&self.root)
    }
    /// The staging pgBackRest repository.
    pub fn staging_repo(&self) -> PathBuf {
        self.staging().join("pgbackrest")
    }
    /// The exported configuration.
    pub fn staging_config(&self) -> PathBuf {
        self.staging().join("config")
    }
    /// The live configuration folder.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }
    /// Present while a restore replaces this instance's data (names the operation).
    pub fn restore_marker(&self) -> RestoreMarker {
        RestoreMarker::at(self.root.join("restoring"))
    }
    /// pgBackRest settings for this layout.
    pub fn pgbr_settings(&self, port: u16) -> PgbrSettings {
        PgbrSettings {
            repo: RepoPaths::new(self.staging_repo(), &self.pgbr_dir()),
            pg_path: self.pgdata(),
            pg_port: port,
            pg_socket_path: self.socket_dir(),
        }
    }
}

/// A local instance: its identity, files and Postgres server.
#[derive(Debug)]
pub struct LocalInstance {
    /// Keycloak beside Postgres, when the runtime runs it.
    keycloak: Option<keycloak::InstanceKeycloak>,
    file: InstanceFile,
    layout: Layout,
    postmaster: Postmaster,
    runner: Arc<Runner>,
}

impl LocalInstance {
    /// Creates the instance in `namespace` on first start, or re-uses it; starts Postgres
    /// (and Keycloak beside it when `keycloak` is given) either way, unless a restore into
    /// it did not finish.
    pub async fn ensure(
        runner: Arc<Runner>,
        keycloak: Option<&keycloak::KeycloakSetup>,
        namespace: &str,
    ) -> Result<Self, InstanceError> {
        let data_dir = runner.paths().data_dir().to_path_buf();
        let ids = runner.postgres_user();
        let layout = Layout::new(&data_dir, namespace);
        let mut file = load_or_create(&layout, namespace)?;
        prepare_dirs(&data_dir, &layout, ids)?;
        // The remembered port may have been taken while we were away: move to a free one.
        if !postgres::is_running(&layout.pgdata())
            && std::net::TcpListener::bind(("127.0.0.1", file.port)).is_err()
        {
            let old = file.port;
            file.port = free_port().map_err(io("cannot find a free port", &layout.file()))?;
            tracing::warn!(
                old,
                new = file.port,
                "the instance's port is taken; moving Postgres"
            );
            save(&layout, &file)?;
        }
        let mut instance = Self::assemble(runner, keycloak, file, layout)?;
        if let Some(op) = instance.restoring() {
            tracing::error!(
                namespace,
                operation = %op,
                "a restore into this instance did not finish; its Postgres is left stopped \
                 until a restore succeeds"
            );
            return Ok(instance);
        }
        instance.bring_up().await?;
        Ok(instance)
    }

    /// Creates the files of a new, empty instance in `namespace` for a restore to fill:
    /// identity (a fresh port, never seeded), folders and pgBackRest settings. Postgres is
    /// not started; the caller restores a data directory first. Refuses an existing one.
    pub fn create_empty(
        runner: Arc<Runner>,
        keycloak: Option<&keycloak::KeycloakSetup>,
        namespace: &str,
    ) -> Result<Self, InstanceError> {
        let data_dir = runner.paths().data_dir().to_path_buf();
        let layout = Layout::new(&data_dir, namespace);
        if layout.file().exists() {
            return Err(InstanceError::Exists(namespace.to_owned()));
        }
        let mut file = load_or_create(&layout, namespace)?;
        file.seeded = true;
        save(&layout, &file)?;
        prepare_dirs(&data_dir, &layout, runner.postgres_user())?;
        std::fs::create_dir_all(layout.config_dir())
            .map_err(io("cannot create", &layout.config_dir()))?;
        Self::assemble(runner, keycloak, file, layout)
    }

    /// Writes the pgBackRest settings and puts the parts together.
    fn assemble(
        runner: Arc<Runner>,
        keycloak: Option<&keycloak::KeycloakSetup>,
        file: InstanceFile,
        layout: Layout,
    ) -> Result<Self, InstanceError> {
        let ids = runner.postgres_user();
        write_owned(
            &layout.pgbr_config(),
            &crate::pgbackrest::render_config(&layout.pgbr_settings(file.port)),
            ids,
        )?;
        let postmaster = Postmaster::new(layout.clone(), file.port, runner.toolbox(), ids);
        let keycloak = keycloak
            .map(|setup| keycloak::InstanceKeycloak::new(setup.clone(), &layout.root, file.port));
        Ok(Self {
            keycloak,
            file,
            layout,
            postmaster,
            runner,
        })
    }

    /// `pgbackrest stanza-create`, waiting out a lock another pgBackRest holds (the workers
    /// of one killed with an earlier Lifeboat can hold it for seconds), with backoff, for
    /// up to [`LOCK_WAIT`]; any other failure fails at once.
    async fn stanza_create(&self) -> Result<(), InstanceError> {
        let started = tokio::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(250);
        loop {
            match run_ok(
                &self.runner,
                crate::pgbackrest::stanza_create(&self.pgbackrest_config()),
                "pgbackrest stanza-create",
            )
            .await
            {
                Ok(_) => return Ok(()),
                Err(InstanceError::Tool { tail, .. })
                    if crate::pgbackrest::is_lock_held(&tail) && started.elapsed() < LOCK_WAIT =>
                {
                    tracing::warn!(
                        namespace = %self.file.namespace,
                        retry_in_ms = pause.as_millis() as u64,
                        "pgBackRest's lock on the stanza is held by another pgBackRest; waiting"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(4));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Initialises (first start), configures and starts Postgres, creates the stanza and
    /// seeds the demo data once.
    async fn bring_up(&mut self) -> Result<(), InstanceError> {
        self.postmaster.init_if_needed(&self.runner).await?;
        self.postmaster.write_settings(&self.archive_command())?;
        // Right after a crash, the old server's children may hold its shared memory for a
        // moment; the start is retried a few times.
        let mut attempt = 0;
        loop {
            match self.postmaster.start().await {
                Ok(()) => break,
                Err(e) if attempt < 3 => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "PostgreSQL did not start; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
        // A failed start-up attempt leaves no Postgres running behind the registry's back
        // (it would not be stopped with Lifeboat): the next attempt starts it again.
        if let Err(e) = self.after_start().await {
            self.postmaster.stop().await;
            return Err(e);
        }
        Ok(())
    }

    /// What bringing up does once Postgres accepts connections.
    async fn after_start(&mut self) -> Result<(), InstanceError> {
        self.stanza_create().await?;
        let namespace = self.file.namespace.clone();
        if !self.file.seeded {
            let sql = match &self.keycloak {
                Some(kc) => {
                    seed::sql_with_keycloak(&namespace, &kc.database_sql().map_err(keycloak_error)?)
                }
                None => seed::sql(&namespace),
            };
            self.postmaster
                .psql_file(&self.runner, &sql, "seed")
                .await?;
            seed::write_config_folder(&self.layout.config_dir(), &namespace).map_err(io(
                "cannot write the configuration folder",
                &self.layout.config_dir(),
            ))?;
            self.file.seeded = true;
            save(&self.layout, &self.file)?;
        }
        self.start_keycloak().await;
        tracing::info!(
            namespace,
            port = self.file.port,
            socket = %self.layout.socket_dir().display(),
            "demo instance ready: psql -h {} -p {} -U postgres keycloak",
            self.layout.socket_dir().display(),
            self.file.port
        );
        Ok(())
    }

    /// Starts Keycloak, if this instance runs one, and lays out the demo realms in the demo
    /// instance's on its first start. A Keycloak that does not come up is logged and left:
    /// Postgres, backups and restores do not depend on it.
    async fn start_keycloak(&self) {
        let Some(kc) = &self.keycloak else { return };
        if let Err(e) = kc.start().await {
            tracing::error!(namespace = %self.file.namespace, error = %e, "Keycloak did not start");
            return;
        }
        if self.file.namespace != DEMO_NAMESPACE {
            return;
        }
        let users_file = self.runner.paths().data_dir().join("demo-users.json");
        match kc.ensure_demo_realms(&users_file).await {
            Ok(Some(users)) => print_demo_users(&users, &users_file),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "the demo realms could not be laid out"),
        }
    }

    fn archive_command(&self) -> String {
        let pgbackrest = self
            .runner
            .toolbox()
            .path("pgbackrest")
            .map_or_else(|| PathBuf::from("pgbackrest"), Path::to_path_buf);
        crate::pgbackrest::archive_command(&pgbackrest, &self.layout.pgbr_config())
    }

    fn paths(&self) -> &Paths {
        self.runner.paths()
    }
}

#[async_trait::async_trait]
impl Instance for LocalInstance {
    fn id(&self) -> &str {
        &self.file.instance_id
    }

    fn namespace(&self) -> &str {
        &self.file.namespace
    }

    fn info(&self) -> InstanceInfo {
        InstanceInfo {
            instance_id: self.file.instance_id.clone(),
            namespace: self.file.namespace.clone(),
            runtime: "local".into(),
            components: vec!["postgres".into(), "configuration".into()],
            postgres_port: Some(self.file.port),
            postgres_socket_dir: Some(self.layout.socket_dir().display().to_string()),
            config_dir: Some(self.layout.config_dir().display().to_string()),
            restore_incomplete: self.restoring(),
            keycloak_url: self
                .keycloak
                .as_ref()
                .and_then(keycloak::InstanceKeycloak::url),
        }
    }

    fn postgres_endpoint(&self) -> String {
        format!("port {}", self.file.port)
    }

    fn platform_version(&self) -> String {
        DEMO_PLATFORM_VERSION.to_owned()
    }

    fn pgbackrest_config(&self) -> Place {
        Place::at(
            Volume::PgbackrestConfig(self.file.namespace.clone()),
            "pgbackrest.conf",
        )
    }

    fn backup_staging(&self) -> Arc<dyn Staging> {
        Arc::new(FolderStaging::new(
            self.paths(),
            Place::root(Volume::BackupStaging(self.file.namespace.clone())),
            Vec::new(),
        ))
    }

    async fn size_bytes(&self) -> u64 {
        let (pgdata, config) = (self.layout.pgdata(), self.layout.config_dir());
        tokio::task::spawn_blocking(move || files::dir_size(&pgdata) + files::dir_size(&config))
            .await
            .unwrap_or(0)
    }

    async fn data_dir(&self) -> (String, Option<u64>) {
        let pgdata = self.layout.pgdata();
        (
            pgdata.display().to_string(),
            crate::disk::available_bytes(&pgdata),
        )
    }

    async fn is_running(&self) -> bool {
        postgres::is_running(&self.layout.pgdata())
    }

    async fn postgres_run(&self) -> Option<String> {
        self.postmaster.pid().map(|pid| format!("postmaster {pid}"))
    }

    async fn stop(&self) -> Result<(), InstanceError> {
        if let Some(kc) = &self.keycloak {
            kc.stop().await;
        }
        self.postmaster.stop().await;
        Ok(())
    }

    async fn export_config(&self) -> Result<(u64, u64), InstanceError> {
        let (live, to) = (self.layout.config_dir(), self.layout.staging_config());
        let t = to.clone();
        tokio::task::spawn_blocking(move || config_folder::export(&live, &t))
            .await
            .map_err(|e| io("cannot export the configuration to", &to)(std::io::Error::other(e)))?
            .map_err(io("cannot export the configuration to", &to))
    }

    async fn apply_config(
        &self,
        from: &Place,
        source_namespace: &str,
    ) -> Result<Applied, InstanceError> {
        let (live, from) = (self.layout.config_dir(), self.paths().of(from));
        let names = (source_namespace.to_owned(), self.file.namespace.clone());
        let l = live.clone();
        let (files, bytes, rewritten) = tokio::task::spawn_blocking(move || {
            config_folder::replace(&l, &from, Some((&names.0, &names.1)))
        })
        .await
        .map_err(|e| io("cannot re-apply the configuration to", &live)(std::io::Error::other(e)))?
        .map_err(io("cannot re-apply the configuration to", &live))?;
        Ok(Applied {
            files,
            bytes,
            rewritten,
            notes: Vec::new(),
        })
    }

    async fn install_repository(&self, fetched: &Place) -> Result<(), InstanceError> {
        let fetched = self.paths().of(fetched);
        let repo = self.layout.staging_repo();
        files::discard_tree(&repo)
            .await
            .map_err(io("cannot move aside", &repo))?;
        // A rename, unless the fetch and the instance are on different file systems (a
        // data dir whose instances live on a volume of their own): then a copy.
        match std::fs::rename(&fetched, &repo) {
            Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
                let (from, to) = (fetched.clone(), repo.clone());
                tokio::task::spawn_blocking(move || {
                    files::copy_dir(&from, &to).and_then(|_| std::fs::remove_dir_all(&from))
                })
                .await
                .map_err(|e| {
                    io("cannot copy the fetched repository to", &repo)(std::io::Error::other(e))
                })?
                .map_err(io("cannot copy the fetched repository to", &repo))?;
            }
            moved => moved.map_err(io("cannot move the fetched repository to", &repo))?,
        }
        chown_tree(&repo, self.postmaster.ids())
    }

    async fn empty_data(&self) -> Result<(), InstanceError> {
        let pgdata = self.layout.pgdata();
        for e in std::fs::read_dir(&pgdata).map_err(io("cannot read", &pgdata))? {
            let p = e.map_err(io("cannot read", &pgdata))?.path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p).map_err(io("cannot remove", &p))?;
            } else {
                std::fs::remove_file(&p).map_err(io("cannot remove", &p))?;
            }
        }
        Ok(())
    }

    async fn restore_data(
        &self,
        what: crate::runtime::DataRestore<'_>,
        cancel: tokio_util::sync::CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(crate::command::Stream, &'l str) + Send),
    ) -> Result<ToolOutput, InstanceError> {
        let cmd = crate::pgbackrest::restore_to_backup(&self.pgbackrest_config(), what.label);
        Ok(self.runner.run(cmd, cancel, on_line).await?)
    }

    /// Starts Postgres and, once it has replayed WAL and promoted, Keycloak on the restored
    /// realms.
    async fn start_restored(&self, waiting: &(dyn Fn(&str) + Sync)) -> Result<(), InstanceError> {
        self.postmaster.write_settings(&self.archive_command())?;
        waiting("waiting for Postgres to replay WAL to the backup's consistent point");
        self.postmaster.start().await?;
        let Some(kc) = &self.keycloak else {
            return Ok(());
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !matches!(self.sql().await.is_primary().await, Ok(true)) {
            if std::time::Instant::now() > deadline {
                return Err(InstanceError::Start(
                    "Postgres was still replaying WAL after 120 s; Keycloak was not started".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        waiting("waiting for Keycloak to answer");
        kc.start().await.map_err(keycloak_error)
    }

    /// Through the Unix socket, as the PostgreSQL OS user.
    async fn sql(&self) -> SystemSql {
        SystemSql::new(self.postmaster.psql(), self.runner.clone())
    }

    /// `<data_dir>/instances/<namespace>/restoring`.
    fn restore_marker(&self) -> RestoreMarker {
        self.layout.restore_marker()
    }
}

/// The namespaces that have an instance in `data_dir` (an `instance.json`).
pub fn namespaces_in(data_dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(data_dir.join("instances"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("instance.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| crate::secrets::is_dns1123_label(n))
        .collect();
    found.sort();
    found
}

/// Runs a command that must exit 0.
pub(crate) async fn run_ok(
    runner: &Runner,
    cmd: ToolCommand,
    step: &'static str,
) -> Result<ToolOutput, InstanceError> {
    let out = runner
        .run(
            cmd,
            tokio_util::sync::CancellationToken::new(),
            &mut |_, _| {},
        )
        .await?;
    if out.exit_code == Some(0) {
        Ok(out)
    } else {
        Err(InstanceError::Tool {
            step,
            tail: crate::pgbackrest::output_tail(&out),
        })
    }
}

fn keycloak_error(e: keycloak::KeycloakRunError) -> InstanceError {
    InstanceError::Keycloak(e.to_string())
}

/// Says once, on the terminal (not in the log), where the demo's Keycloak is and who can
/// sign in; the file lists every user.
#[allow(clippy::print_stdout)] // The one time the demo's users are shown, as the issue asks.
fn print_demo_users(users: &crate::keycloak::realm::DemoUsers, file: &Path) {
    let line = |role: &str| {
        users
            .users
            .iter()
            .find(|u| u.roles.iter().any(|r| r == role) && (role != "viewer" || u.roles.len() == 1))
            .map(|u| format!("{} / {}", u.username, u.password))
            .unwrap_or_default()
    };
    println!(
        "\nThe demo's Keycloak: {url} (realm {realm}, password-grant client {client})\n  \
         admin:  {admin}\n  viewer: {viewer}\n  {n} users in all, with their passwords, in {file} \
         (0600); this is the only time they are printed.\n",
        url = users.keycloak_url,
        realm = users.realm,
        client = users.client_id,
        admin = line("admin"),
        viewer = line("viewer"),
        n = users.users.len(),
        file = file.display(),
    );
}

fn load_or_create(layout: &Layout, namespace: &str) -> Result<InstanceFile, InstanceError> {
    let path = layout.file();
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| io("cannot read", &path)(std::io::Error::other(e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&layout.root).map_err(io("cannot create", &layout.root))?;
            let file = InstanceFile {
                instance_id: format!(
                    "{namespace}-{:08x}",
                    crate::operations::clock::random_u64() as u32
                ),
                namespace: namespace.to_owned(),
                port: free_port().map_err(io("cannot find a free port", &path))?,
                seeded: false,
            };
            save(layout, &file)?;
            Ok(file)
        }
        Err(e) => Err(io("cannot read", &path)(e)),
    }
}

fn save(layout: &Layout, file: &InstanceFile) -> Result<(), InstanceError> {
    let path = layout.file();
    let tmp = layout.root.join(".instance.json.tmp");
    let bytes = serde_json::to_vec_pretty(file)
        .map_err(|e| io("cannot encode", &path)(std::io::Error::other(e)))?;
    std::fs::write(&tmp, bytes).map_err(io("cannot write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("cannot write", &path))
}

/// A TCP port free on 127.0.0.1 right now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

fn prepare_dirs(
    data_dir: &Path,
    layout: &Layout,
    ids: Option<(u32, u32)>,
) -> Result<(), InstanceError> {
    use std::os::unix::fs::PermissionsExt as _;
    // The postgres user must be able to walk down to its folders.
    for dir in [data_dir, &data_dir.join("instances"), &layout.root] {
        std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        if ids.is_some() {
            let meta = std::fs::metadata(dir).map_err(io("cannot read", dir))?;
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o711))
                    .map_err(io("cannot open up", dir))?;
            }
        }
    }
    let pgbr = layout.pgbr_dir();
    for (dir, mode) in [
        (layout.pgdata(), 0o700),
        (layout.socket_dir(), 0o700),
        (pgbr.clone(), 0o750),
        (pgbr.join("lock"), 0o750),
        (pgbr.join("log"), 0o750),
        (pgbr.join("spool"), 0o750),
        (layout.staging(), 0o755),
        (layout.staging_repo(), 0o750),
    ] {
        std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        if dir != layout.staging() {
            chown(&dir, ids)?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                .map_err(io("cannot set permissions on", &dir))?;
        }
    }
    Ok(())
}

fn chown_tree(path: &Path, ids: Option<(u32, u32)>) -> Result<(), InstanceError> {
    if ids.is_none() {
        return Ok(());
    }
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(io("cannot chown", path))?;
    }
    if path.is_dir() && !path.is_symlink() {
        for e in std::fs::read_dir(path).map_err(io("cannot read", path))? {
            chown_tree(&e.map_err(io("cannot read", path))?.path(), ids)?;
        }
    }
    Ok(())
}

pub(crate) fn chown(path: &Path, ids: Option<(u32, u32)>) -> Result<(), InstanceError> {
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io("cannot chown", path))?;
    }
    Ok(())
}

pub(crate) fn write_owned(
    path: &Path,
    content: &str,
    ids: Option<(u32, u32)>,
) -> Result<(), InstanceError> {
    std::fs::write(path, content).map_err(io("cannot write", path))?;
    chown(path, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_per_namespace() {
        let l = Layout::new(Path::new("/d"), "demo");
        assert_eq!(l.pgdata(), Path::new("/d/instances/demo/pg"));
        assert_eq!(
            l.staging_repo(),
            Path::new("/d/instances/demo/staging/pgbackrest")
        );
        let s = l.pgbr_settings(5555);
        assert_eq!(s.pg_port, 5555);
        assert_eq!(s.repo.repo_path, l.staging_repo());
    }

    #[test]
    fn identity_is_created_once_and_remembered() {
        let d = tempfile::tempdir().unwrap();
        let l = Layout::new(d.path(), "demo");
        let a = load_or_create(&l, "demo").unwrap();
        let b = load_or_create(&l, "demo").unwrap();
        assert_eq!(a, b);
        assert!(a.port > 0 && !a.seeded && a.instance_id.starts_with("demo-"));
    }
}
