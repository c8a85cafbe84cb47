//! A local instance's apps' own data, laid out as Dash Enterprise lays it out: an app-data
//! PostgreSQL server apart from the system one (a database and an owner role per app that
//! has one), a `redis-server` per app that has one, a folder per app with a persistent
//! filesystem and per workspace. Which app has which service is App Manager's record (its
//! `appmanager` database, table `app_services`), read from the system Postgres.
//!
//! Under `<data_dir>/instances/<namespace>/appdata/`:
//!
//! | path | what |
//! |---|---|
//! | `ports.json` | the app-data server's port and each Redis' (chosen once, remembered) |
//! | `postgres/` | the app-data server: `pg/`, `pgsock/`, `postgres.log` |
//! | `redis/<app>/` | an app's Redis: `dump.rdb`, `redis.conf`, `redis.log` |
//! | `files/apps/<app>/`, `files/workspaces/<workspace>/` | persistent files (read by restic) |
//! | `dumps/<app>/` | what a backup staged (`postgres.dump`, `redis.rdb`), emptied after |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeboat_shared::backup::{AppFiles, AppInfo, AppPostgres, AppRedis, WorkspaceInfo};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::layout::{Layout, chown, free_port, io};
use super::postgres::Postmaster;
use super::redis::RedisServer;
use crate::command::{Tool, ToolCommand};
use crate::runtime::host::process::Runner;
use crate::runtime::host::rdb;
use crate::runtime::host::sql::SystemSql;
use crate::runtime::{AppPart, InstanceError, PartKind};

/// What App Manager records: each app's services, and the workspaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// App → its services (`postgres`, `redis`, `files`).
    pub apps: BTreeMap<String, Vec<String>>,
    /// Workspace names.
    pub workspaces: Vec<String>,
}

impl Recorded {
    /// Reads the record from the system Postgres.
    pub async fn read(sql: &SystemSql) -> Result<Self, InstanceError> {
        let record = sql.app_services().await?;
        let mut apps: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (app, service) in record.services {
            apps.entry(app).or_default().push(service);
        }
        Ok(Self {
            apps,
            workspaces: record.workspaces,
        })
    }

    fn has(&self, app: &str, service: &str) -> bool {
        self.apps
            .get(app)
            .is_some_and(|s| s.iter().any(|x| x == service))
    }
}

/// The ports, remembered in `ports.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Ports {
    postgres: u16,
    #[serde(default)]
    redis: BTreeMap<String, u16>,
}

/// The apps' data services of one local instance.
#[derive(Debug)]
pub struct AppServices {
    root: PathBuf,
    runner: Arc<Runner>,
    postgres: Postmaster,
    ports: Mutex<Ports>,
    redis: Mutex<BTreeMap<String, Arc<RedisServer>>>,
}

impl AppServices {
    /// The services below `root` (`appdata/`); nothing is started.
    pub fn new(root: PathBuf, runner: Arc<Runner>) -> Result<Self, InstanceError> {
        std::fs::create_dir_all(&root).map_err(io("cannot create", &root))?;
        let file = root.join("ports.json");
        let ports = match std::fs::read(&file) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| io("cannot read", &file)(std::io::Error::other(e)))?,
            Err(_) => {
                let p = Ports {
                    postgres: free_port().map_err(io("cannot find a free port", &file))?,
                    redis: BTreeMap::new(),
                };
                save_ports(&file, &p)?;
                p
            }
        };
        let layout = Layout {
            root: root.join("postgres"),
        };
        let postgres = Postmaster::new(
            layout,
            ports.postgres,
            runner.toolbox(),
            runner.postgres_user(),
        );
        Ok(Self {
            root,
            runner,
            postgres,
            ports: Mutex::new(ports),
            redis: Mutex::new(BTreeMap::new()),
        })
    }

    fn ids(&self) -> Option<(u32, u32)> {
        self.runner.postgres_user()
    }

    /// Where `part`'s files live (an app's persistent filesystem, a workspace's files).
    pub fn files_folder(&self, part: &AppPart) -> PathBuf {
        self.root.join(part.path())
    }

    /// Brings up what `recorded` names: the app-data server with a database and role per
    /// app, a Redis per app, the folders. Returns the parts, in order.
    pub async fn bring_up(&self, recorded: &Recorded) -> Result<Vec<AppPart>, InstanceError> {
        let mut parts = Vec::new();
        for dir in ["files/apps", "files/workspaces", "dumps"] {
            let d = self.root.join(dir);
            std::fs::create_dir_all(&d).map_err(io("cannot create", &d))?;
        }
        chown(&self.root.join("dumps"), self.ids())?;
        let mut databases = Vec::new();
        for (app, services) in &recorded.apps {
            for service in services {
                let kind = match service.as_str() {
                    "postgres" => PartKind::Postgres,
                    "redis" => PartKind::Redis,
                    "files" => PartKind::Files,
                    _ => continue,
                };
                let part = AppPart::app(app, kind);
                // The databases are made together below, in one `psql` run.
                if kind == PartKind::Postgres {
                    databases.push(app.as_str());
                } else {
                    self.ensure(&part).await?;
                }
                parts.push(part);
            }
        }
        if !databases.is_empty() {
            self.ensure_server().await?;
            self.ensure_databases(&databases).await?;
        }
        for ws in &recorded.workspaces {
            let part = AppPart::workspace(ws);
            self.ensure(&part).await?;
            parts.push(part);
        }
        Ok(parts)
    }

    /// Makes `part`'s service exist and run here (the server and the database and role,
    /// the Redis, the folder).
    pub async fn ensure(&self, part: &AppPart) -> Result<(), InstanceError> {
        match part.kind {
            PartKind::Postgres => {
                self.ensure_server().await?;
                self.ensure_databases(&[part.name()]).await
            }
            PartKind::Redis => self.redis_of(part.name()).await?.start().await,
            PartKind::Files => {
                let d = self.files_folder(part);
                std::fs::create_dir_all(&d).map_err(io("cannot create", &d))
            }
        }
    }

    async fn ensure_server(&self) -> Result<(), InstanceError> {
        if self.postgres.pid().is_some() {
            return Ok(());
        }
        let pg = self.root.join("postgres");
        for (dir, mode) in [
            (pg.clone(), 0o755),
            (pg.join("pg"), 0o700),
            (pg.join("pgsock"), 0o700),
        ] {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
            chown(&dir, self.ids())?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                .map_err(io("cannot set permissions on", &dir))?;
        }
        self.postgres.init_if_needed(&self.runner).await?;
        self.postgres.write_settings(None)?;
        self.postgres.start().await
    }

    /// Creates each app's role and database that is missing, in one `psql` run.
    async fn ensure_databases(&self, apps: &[&str]) -> Result<(), InstanceError> {
        let sql: String = apps
            .iter()
            .map(|app| {
                format!(
                    "{}SELECT 'CREATE DATABASE \"{app}\" OWNER \"{app}\"' WHERE NOT EXISTS \
                     (SELECT FROM pg_database WHERE datname = '{app}')\n\\gexec\n",
                    role_sql(app)
                )
            })
            .collect();
        self.postgres
            .psql_file(&self.runner, &sql, "app-database")
            .await
    }

    /// The app-data server's `psql`, to seed and check.
    pub fn psql(&self) -> crate::runtime::host::sql::Psql {
        self.postgres.psql()
    }

    /// The runner (to seed).
    pub fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    /// The Redis of `app`, made (with a port chosen once) if it is not yet.
    pub async fn redis_of(&self, app: &str) -> Result<Arc<RedisServer>, InstanceError> {
        let mut servers = self.redis.lock().await;
        if let Some(s) = servers.get(app) {
            return Ok(s.clone());
        }
        let port = {
            let mut ports = self.ports.lock().await;
            match ports.redis.get(app) {
                Some(p) => *p,
                None => {
                    let file = self.root.join("ports.json");
                    let p = free_port().map_err(io("cannot find a free port", &file))?;
                    ports.redis.insert(app.to_owned(), p);
                    save_ports(&file, &ports)?;
                    p
                }
            }
        };
        let program = self
            .runner
            .toolbox()
            .path("redis-server")
            .map_or_else(|| PathBuf::from("redis-server"), Path::to_path_buf);
        let server = Arc::new(RedisServer::new(
            app,
            port,
            self.root.join("redis").join(app),
            program,
        ));
        servers.insert(app.to_owned(), server.clone());
        Ok(server)
    }

    /// Stops every Redis (saving) and the app-data server.
    pub async fn stop(&self) {
        let servers: Vec<Arc<RedisServer>> = self.redis.lock().await.values().cloned().collect();
        for s in servers {
            s.stop(true).await;
        }
        self.postgres.stop().await;
    }

    /// What `GET /api/v1/instance` lists: each app with data and how it is reached.
    pub async fn describe(&self, recorded: &Recorded) -> (Vec<AppInfo>, Vec<WorkspaceInfo>) {
        let ports = self.ports.lock().await.clone();
        let folder = |p: &AppPart| AppFiles {
            folder: Some(self.files_folder(p).display().to_string()),
            claim: None,
        };
        let apps = recorded
            .apps
            .keys()
            .map(|app| AppInfo {
                name: app.clone(),
                postgres: recorded.has(app, "postgres").then(|| AppPostgres {
                    database: app.clone(),
                    port: Some(ports.postgres),
                    host: Some("127.0.0.1".into()),
                }),
                redis: recorded.has(app, "redis").then(|| AppRedis {
                    port: ports.redis.get(app).copied(),
                    host: Some("127.0.0.1".into()),
                }),
                files: recorded
                    .has(app, "files")
                    .then(|| folder(&AppPart::app(app, PartKind::Files))),
            })
            .collect();
        let workspaces = recorded
            .workspaces
            .iter()
            .map(|w| WorkspaceInfo {
                name: w.clone(),
                files: folder(&AppPart::workspace(w)),
            })
            .collect();
        (apps, workspaces)
    }

    /// Stages `part` below `dumps/` (files are read where they live); returns its bytes.
    pub async fn stage(
        &self,
        part: &AppPart,
        cancel: CancellationToken,
    ) -> Result<u64, InstanceError> {
        let target = self.root.join(part.path());
        let (cmd, what) = match part.kind {
            PartKind::Files => {
                return Ok(tokio::task::spawn_blocking(move || {
                    crate::runtime::host::files::dir_size(&target)
                })
                .await
                .unwrap_or(0));
            }
            PartKind::Postgres => (self.dump_command(part.name(), &target), "pg_dump"),
            PartKind::Redis => {
                let server = self.redis_of(part.name()).await?;
                let cmd = ToolCommand::new(
                    Tool::RedisCli,
                    [
                        "-h".to_owned(),
                        "127.0.0.1".into(),
                        "-p".into(),
                        server.port().to_string(),
                        "--rdb".into(),
                        target.display().to_string(),
                    ],
                );
                (cmd, "redis-cli --rdb")
            }
        };
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        chown(&dir, self.ids())?;
        let _ = std::fs::remove_file(&target);
        let out = match part.kind {
            PartKind::Redis => {
                let server = self.redis_of(part.name()).await?;
                until_stalled(&self.runner, cmd, cancel, &target, &server).await?
            }
            _ => self.runner.run(cmd, cancel, &mut |_, _| {}).await?,
        };
        if out.exit_code != Some(0) {
            let _ = std::fs::remove_file(&target);
            return Err(InstanceError::Tool {
                step: what,
                tail: crate::pgbackrest::output_tail(&out),
            });
        }
        std::fs::metadata(&target)
            .map(|m| m.len())
            .map_err(io("cannot read", &target))
    }

    /// `pg_dump -Fc` of `app`'s database into `target`.
    fn dump_command(&self, app: &str, target: &Path) -> ToolCommand {
        let target = target.display().to_string();
        self.pg_tool(Tool::PgDump, &["-Fc", "-f", &target, app])
    }

    /// A PostgreSQL client tool on the app-data server, as the PostgreSQL OS user over its
    /// socket, `args` after the connection's.
    fn pg_tool(&self, tool: Tool, args: &[&str]) -> ToolCommand {
        let psql = self.postgres.psql();
        let mut c = ToolCommand::new(
            tool,
            [
                "-h",
                &psql.host,
                "-p",
                &psql.port.to_string(),
                "-U",
                "postgres",
            ]
            .into_iter()
            .chain(args.iter().copied()),
        );
        c.as_postgres_user = true;
        c.env.push(("PGCONNECT_TIMEOUT".into(), "10".into()));
        c
    }

    /// Empties `dumps/`.
    pub fn clear_staging(&self) -> Result<(), InstanceError> {
        let dumps = self.root.join("dumps");
        if dumps.exists() {
            std::fs::remove_dir_all(&dumps).map_err(io("cannot remove", &dumps))?;
        }
        std::fs::create_dir_all(&dumps).map_err(io("cannot create", &dumps))?;
        chown(&dumps, self.ids())
    }

    /// Restores `part` from `from` (a fetched apps' snapshot's root); returns what it did.
    pub async fn restore(
        &self,
        part: &AppPart,
        from: &Path,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        let source = from.join(part.path());
        if !source.exists() {
            return Err(InstanceError::App(format!(
                "the backup holds no {} (nothing at {})",
                part.describe(),
                part.path()
            )));
        }
        match part.kind {
            PartKind::Postgres => self.restore_database(part.name(), &source, cancel).await,
            PartKind::Redis => self.restore_redis(part.name(), &source).await,
            PartKind::Files => self.restore_files(part, &source).await,
        }
    }

    async fn restore_database(
        &self,
        app: &str,
        dump: &Path,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        self.ensure_server().await?;
        // Replaced whole, so it holds exactly what was backed up (tables made since go too).
        // (`pg_restore --jobs=2` measured slower than one transaction: 1.38 s against 1.14 s
        // for a 100 MB app, and 14.1 s against 9.4 s for the apps' step of a full restore.)
        let sql = format!(
            "{}DROP DATABASE IF EXISTS \"{app}\" WITH (FORCE);\n\
             CREATE DATABASE \"{app}\" OWNER \"{app}\";\n",
            role_sql(app)
        );
        self.postgres
            .psql_file(&self.runner, &sql, "app-database")
            .await?;
        // pg_restore runs as the PostgreSQL OS user, who may not read the fetch's folder:
        // the dump is read from a copy of its own beside the server's dumps.
        let dir = self.root.join("dumps").join(app);
        std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        chown(&dir, self.ids())?;
        let copy = dir.join("restoring.dump");
        std::fs::copy(dump, &copy).map_err(io("cannot copy the dump to", &copy))?;
        chown(&copy, self.ids())?;
        let result = self.pg_restore(app, &copy, cancel).await;
        let _ = std::fs::remove_file(&copy);
        result
    }

    async fn pg_restore(
        &self,
        app: &str,
        dump: &Path,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        let dump = dump.display().to_string();
        let cmd = self.pg_tool(
            Tool::PgRestore,
            &["--exit-on-error", "--single-transaction", "-d", app, &dump],
        );
        let out = self.runner.run(cmd, cancel, &mut |_, _| {}).await?;
        if out.exit_code != Some(0) {
            return Err(InstanceError::Tool {
                step: "pg_restore",
                tail: crate::pgbackrest::output_tail(&out),
            });
        }
        Ok(format!("database {app} replaced (pg_restore)"))
    }

    async fn restore_redis(&self, app: &str, rdb: &Path) -> Result<String, InstanceError> {
        let server = self.redis_of(app).await?;
        let was_serving = server.ping().await;
        server.stop(false).await;
        std::fs::create_dir_all(server.dir()).map_err(io("cannot create", server.dir()))?;
        let tmp = server.dir().join(".dump.rdb.restoring");
        std::fs::copy(rdb, &tmp).map_err(io("cannot copy the RDB to", &tmp))?;
        std::fs::rename(&tmp, server.rdb()).map_err(io("cannot put in place", &server.rdb()))?;
        server.start().await?;
        Ok(if was_serving {
            format!(
                "Redis on port {} stopped, its RDB replaced, started again",
                server.port()
            )
        } else {
            format!(
                "Redis on port {} started on the restored RDB",
                server.port()
            )
        })
    }

    /// The fetched tree is renamed into place (copied across file systems); the old one is
    /// moved out of `files/` (a backup never reads it) and removed in the background.
    async fn restore_files(&self, part: &AppPart, source: &Path) -> Result<String, InstanceError> {
        let target = self.files_folder(part);
        if target.exists() {
            let trash = self.root.join("trash");
            std::fs::create_dir_all(&trash).map_err(io("cannot create", &trash))?;
            let aside = trash.join(part.component().replace('/', "-"));
            crate::runtime::host::files::discard_tree(&aside)
                .await
                .map_err(io("cannot remove", &aside))?;
            std::fs::rename(&target, &aside).map_err(io("cannot move aside", &target))?;
            crate::runtime::host::files::discard_tree(&aside)
                .await
                .map_err(io("cannot remove", &aside))?;
        }
        let (s, t) = (source.to_path_buf(), target.clone());
        let files = tokio::task::spawn_blocking(move || put_tree(&s, &t))
            .await
            .map_err(|e| io("cannot restore", &target)(std::io::Error::other(e)))?
            .map_err(io("cannot restore", &target))?;
        Ok(format!("{files} files restored into {}", target.display()))
    }
}

/// [`rdb::until_stalled`] against `server`, its stall an error naming its port.
async fn until_stalled(
    runner: &Runner,
    cmd: ToolCommand,
    cancel: CancellationToken,
    target: &Path,
    server: &RedisServer,
) -> Result<crate::command::ToolOutput, InstanceError> {
    match rdb::until_stalled(runner, cmd, cancel, target, || server.ping()).await {
        Ok(out) => Ok(out?),
        Err(stalled) => Err(InstanceError::App(format!(
            "Redis on port {} stopped answering: {stalled}",
            server.port()
        ))),
    }
}

/// `psql` that creates `app`'s role when it is missing. `app` is a DNS-1123 label (App
/// Manager's names): quoted, it is a safe identifier.
fn role_sql(app: &str) -> String {
    format!(
        "SELECT 'CREATE ROLE \"{app}\" LOGIN' WHERE NOT EXISTS \
         (SELECT FROM pg_roles WHERE rolname = '{app}')\n\\gexec\n"
    )
}

fn save_ports(file: &Path, ports: &Ports) -> Result<(), InstanceError> {
    let bytes = serde_json::to_vec_pretty(ports)
        .map_err(|e| io("cannot encode", file)(std::io::Error::other(e)))?;
    crate::atomic::write_file(file, &bytes, 0o644).map_err(io("cannot write", file))
}

/// Puts the tree `source` at `target` (which is not there): a rename on one file system, a
/// copy with its modes across two; returns how many files.
fn put_tree(source: &Path, target: &Path) -> std::io::Result<u64> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let files = count_files(source)?;
    if std::fs::rename(source, target).is_err() {
        copy_tree(source, target)?;
    }
    Ok(files)
}

fn count_files(dir: &Path) -> std::io::Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        n += if e.file_type()?.is_dir() {
            count_files(&e.path())?
        } else {
            1
        };
    }
    Ok(n)
}

/// Copies a tree with its modes (what a rename across file systems cannot move).
fn copy_tree(source: &Path, target: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(target)?;
    std::fs::set_permissions(target, std::fs::metadata(source)?.permissions())?;
    for e in std::fs::read_dir(source)? {
        let e = e?;
        let to = target.join(e.file_name());
        let kind = e.file_type()?;
        if kind.is_dir() {
            copy_tree(&e.path(), &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &to)?;
        } else {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}
