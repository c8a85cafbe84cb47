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
//! | `appdata/` | the apps' own data: the app-data Postgres, a Redis per app, persistent files (see `apps`) | lifeboat, postgres |
//! | `keycloak/` | when Keycloak runs beside Postgres: `ports.json` (chosen once), `secrets.json` (0600: the master admin's and the `keycloak` role's passwords), `keycloak.log`, its transaction log and temporary files | lifeboat |

pub mod app_seed;
pub mod apps;
pub mod config_folder;
pub mod keycloak;
pub mod layout;
mod postgres;
mod redis;
pub mod seed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeboat_shared::backup::{AppInfo, InstanceInfo, WorkspaceInfo};
use tokio_util::sync::CancellationToken;

use crate::command::{Place, ToolOutput, Volume};
use crate::runtime::host::files;
use crate::runtime::host::marker::RestoreMarker;
use crate::runtime::host::paths::Paths;
use crate::runtime::host::process::Runner;
use crate::runtime::host::sql::SystemSql;
use crate::runtime::host::staging::{self, FolderStaging};
use crate::runtime::{AppPart, Applied, Instance, InstanceError, Staging};
use apps::{AppServices, Recorded};
use layout::{chown_tree, free_port, io, load_or_create, prepare_dirs, save, write_owned};

/// How long start-up waits for another pgBackRest's lock on the stanza.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

pub use layout::{InstanceFile, Layout, namespaces_in};
pub use postgres::Postmaster;

/// The namespace of the demo instance.
pub const DEMO_NAMESPACE: &str = "demo";

/// What the instance's platform version is reported as.
pub const DEMO_PLATFORM_VERSION: &str = "dash-enterprise-5.4 (lifeboat demo)";

/// A local instance: its identity, files and Postgres server.
#[derive(Debug)]
pub struct LocalInstance {
    /// The apps' own data services.
    apps: AppServices,
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
        file.apps_seeded = true;
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
        let apps = AppServices::new(
            crate::runtime::host::paths::app_data(&layout.root),
            runner.clone(),
        )?;
        Ok(Self {
            apps,
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
            match self
                .runner
                .run_ok(
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
        self.postmaster
            .write_settings(Some(&self.archive_command()))?;
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
        // Neither waits for the other: Keycloak takes seconds to answer, the apps' services
        // (a second Postgres, a Redis per app) about as long on a first start.
        let seed = !self.file.apps_seeded;
        let (apps_up, ()) = tokio::join!(self.bring_up_apps(seed), self.start_keycloak());
        if apps_up && seed {
            self.file.apps_seeded = true;
            if let Err(e) = save(&self.layout, &self.file) {
                tracing::error!(error = %e, "cannot remember that the apps' data is seeded");
            }
        }
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

    /// Brings up the apps' data services App Manager records, seeding them when `seed`;
    /// whether they all came up. One that does not is logged and left: the system does not
    /// depend on it, and a backup reports it.
    async fn bring_up_apps(&self, seed: bool) -> bool {
        let started = std::time::Instant::now();
        let result = async {
            let recorded = Recorded::read(&self.sql().await).await?;
            let parts = self.apps.bring_up(&recorded).await?;
            if seed {
                for part in &parts {
                    app_seed::seed(&self.apps, part).await?;
                }
            }
            Ok::<_, InstanceError>(parts.len())
        }
        .await;
        match result {
            Ok(parts) => {
                tracing::info!(
                    namespace = %self.file.namespace,
                    parts,
                    seeded = seed,
                    seconds = started.elapsed().as_secs_f64(),
                    "the apps' data services are up"
                );
                true
            }
            Err(e) => {
                tracing::error!(
                    namespace = %self.file.namespace,
                    error = %e,
                    "the apps' data services did not all come up"
                );
                false
            }
        }
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
            apps: Vec::new(),
            workspaces: Vec::new(),
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
        self.apps.stop().await;
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
        let repo = self.layout.staging_repo();
        staging::install_repository(&self.paths().of(fetched), &repo).await?;
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
        let cmd =
            crate::pgbackrest::restore_to_backup(&self.pgbackrest_config(), what.label, what.to);
        Ok(self.runner.run(cmd, cancel, on_line).await?)
    }

    /// Starts Postgres and, once it has replayed WAL and promoted, Keycloak on the restored
    /// realms.
    async fn start_restored(&self, waiting: &(dyn Fn(&str) + Sync)) -> Result<(), InstanceError> {
        self.postmaster
            .write_settings(Some(&self.archive_command()))?;
        waiting("waiting for Postgres to replay WAL to the backup's consistent point");
        self.postmaster.start().await?;
        self.wait_primary().await?;
        waiting("starting the apps' data services");
        let recorded = Recorded::read(&self.sql().await).await?;
        self.apps.bring_up(&recorded).await?;
        let Some(kc) = &self.keycloak else {
            return Ok(());
        };
        waiting("waiting for Keycloak to answer");
        kc.start().await.map_err(keycloak_error)
    }

    /// Through the Unix socket, as the PostgreSQL OS user.
    async fn sql(&self) -> SystemSql {
        SystemSql::new(self.postmaster.psql(), self.runner.clone())
    }

    async fn app_data(&self) -> Result<(Vec<AppInfo>, Vec<WorkspaceInfo>), InstanceError> {
        let recorded = Recorded::read(&self.sql().await).await?;
        Ok(self.apps.describe(&recorded).await)
    }

    fn app_data_place(&self) -> Place {
        Place::root(Volume::AppData(self.file.namespace.clone()))
    }

    async fn stage_app_part(
        &self,
        part: &AppPart,
        cancel: CancellationToken,
    ) -> Result<u64, InstanceError> {
        self.apps.stage(part, cancel).await
    }

    async fn clear_app_staging(&self) -> Result<(), InstanceError> {
        self.apps.clear_staging()
    }

    async fn restore_app_part(
        &self,
        part: &AppPart,
        from: &crate::runtime::AppSource<'_>,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        self.apps
            .restore(part, &self.paths().of(from.fetched), cancel)
            .await
    }

    /// `<data_dir>/instances/<namespace>/restoring`.
    fn restore_marker(&self) -> RestoreMarker {
        self.layout.restore_marker()
    }
}

impl LocalInstance {
    /// Waits until Postgres has replayed WAL and promoted (two minutes at most).
    async fn wait_primary(&self) -> Result<(), InstanceError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !matches!(self.sql().await.is_primary().await, Ok(true)) {
            if std::time::Instant::now() > deadline {
                return Err(InstanceError::Start(
                    "Postgres was still replaying WAL after 120 s; Keycloak and the apps' data services were not started".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(())
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
