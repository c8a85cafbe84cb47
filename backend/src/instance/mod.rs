//! The local demo instance: what `lifeboat serve` protects when there is no cluster.
//!
//! A PostgreSQL 15 cluster standing in for Dash Enterprise's system Postgres (a Keycloak-like
//! and an App Manager-like database, see `seed`) and a folder of YAML files standing in for
//! the namespace's configuration. Lifeboat creates it on first start and re-uses it after;
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

pub mod config_folder;
mod postgres;
pub mod seed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeboat_shared::backup::InstanceInfo;
use serde::{Deserialize, Serialize};

use crate::pgbackrest::PgbrSettings;
use crate::runtime::{Runtime, RuntimeError};
use crate::tools::Toolbox;

pub use postgres::Postmaster;

/// The tables whose row counts a backup records and a restore checks, by database.
pub const COUNTED: [(&str, &[&str]); 2] = [
    (
        "keycloak",
        &[
            "realm",
            "user_entity",
            "keycloak_group",
            "identity_provider",
        ],
    ),
    ("appmanager", &["apps", "workspaces"]),
];

/// The namespace of the demo instance.
pub const DEMO_NAMESPACE: &str = "demo";

/// What the instance's platform version is reported as.
pub const DEMO_PLATFORM_VERSION: &str = "dash-enterprise-5.4 (lifeboat demo)";

/// Why the instance could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// A file or folder could not be created or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A tool could not run.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A tool ran and failed.
    #[error("{step} failed: {tail}")]
    Tool {
        /// Which step.
        step: &'static str,
        /// The end of its output.
        tail: String,
    },
    /// Postgres did not come up.
    #[error("PostgreSQL did not start: {0}")]
    Start(String),
}

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
            root: data_dir.join("instances").join(namespace),
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
        self.root.join("pgbr")
    }
    /// `pgbackrest.conf`.
    pub fn pgbr_config(&self) -> PathBuf {
        self.pgbr_dir().join("pgbackrest.conf")
    }
    /// What restic backs up: `pgbackrest/` and `config/` below it.
    pub fn staging(&self) -> PathBuf {
        self.root.join("staging")
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
    pub fn restore_marker(&self) -> PathBuf {
        self.root.join("restoring")
    }
    /// pgBackRest settings for this layout.
    pub fn pgbr_settings(&self, port: u16) -> PgbrSettings {
        PgbrSettings {
            repo_path: self.staging_repo(),
            lock_path: self.pgbr_dir().join("lock"),
            log_path: self.pgbr_dir().join("log"),
            spool_path: self.pgbr_dir().join("spool"),
            pg_path: self.pgdata(),
            pg_port: port,
            pg_socket_path: self.socket_dir(),
            process_max: 2,
        }
    }
}

/// A running local instance.
#[derive(Debug)]
pub struct Instance {
    /// Its identity.
    pub file: InstanceFile,
    /// Its files.
    pub layout: Layout,
    /// The Postgres server.
    pub postmaster: Postmaster,
}

impl Instance {
    /// Creates the demo instance on first start, or re-uses it; starts Postgres either way.
    pub async fn ensure(
        data_dir: &Path,
        namespace: &str,
        runtime: Arc<dyn Runtime>,
        toolbox: &Toolbox,
        postgres_ids: Option<(u32, u32)>,
    ) -> Result<Self, InstanceError> {
        let layout = Layout::new(data_dir, namespace);
        let mut file = load_or_create(&layout, namespace)?;
        prepare_dirs(data_dir, &layout, postgres_ids)?;
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
        let pgbackrest = toolbox
            .path("pgbackrest")
            .map_or_else(|| PathBuf::from("pgbackrest"), Path::to_path_buf);
        write_owned(
            &layout.pgbr_config(),
            &crate::pgbackrest::render_config(&layout.pgbr_settings(file.port)),
            postgres_ids,
        )?;
        let postmaster = Postmaster::new(layout.clone(), file.port, toolbox, postgres_ids);
        if let Some(op) = read_marker(&layout) {
            tracing::error!(
                namespace,
                operation = %op,
                "a restore into this instance did not finish; its Postgres is left stopped \
                 until a restore succeeds"
            );
            return Ok(Self {
                file,
                layout,
                postmaster,
            });
        }
        postmaster.init_if_needed(runtime.as_ref()).await?;
        postmaster.write_settings(&crate::pgbackrest::archive_command(
            &pgbackrest,
            &layout.pgbr_config(),
        ))?;
        // Right after a crash, the old server's children may hold its shared memory for a
        // moment; the start is retried a few times.
        let mut attempt = 0;
        loop {
            match postmaster.start().await {
                Ok(()) => break,
                Err(e) if attempt < 3 => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "PostgreSQL did not start; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
        run_ok(
            runtime.as_ref(),
            crate::pgbackrest::stanza_create(&layout.pgbr_config()),
            "pgbackrest stanza-create",
        )
        .await?;
        if !file.seeded {
            postmaster
                .psql_file(runtime.as_ref(), &seed::sql(namespace), "seed")
                .await?;
            seed::write_config_folder(&layout.config_dir(), namespace).map_err(io(
                "cannot write the configuration folder",
                &layout.config_dir(),
            ))?;
            file.seeded = true;
            save(&layout, &file)?;
        }
        tracing::info!(
            namespace,
            port = file.port,
            socket = %layout.socket_dir().display(),
            "demo instance ready: psql -h {} -p {} -U postgres keycloak",
            layout.socket_dir().display(),
            file.port
        );
        Ok(Self {
            file,
            layout,
            postmaster,
        })
    }

    /// Creates the files of a new, empty instance in `namespace` for a restore to fill:
    /// identity (a fresh port, never seeded), folders and pgBackRest settings. Postgres is not
    /// started; the caller restores a data directory first. Refuses an existing instance.
    pub fn create_empty(
        data_dir: &Path,
        namespace: &str,
        toolbox: &Toolbox,
        postgres_ids: Option<(u32, u32)>,
    ) -> Result<Self, InstanceError> {
        let layout = Layout::new(data_dir, namespace);
        if layout.file().exists() {
            return Err(io("an instance already exists at", &layout.root)(
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        let mut file = load_or_create(&layout, namespace)?;
        file.seeded = true;
        save(&layout, &file)?;
        prepare_dirs(data_dir, &layout, postgres_ids)?;
        std::fs::create_dir_all(layout.config_dir())
            .map_err(io("cannot create", &layout.config_dir()))?;
        write_owned(
            &layout.pgbr_config(),
            &crate::pgbackrest::render_config(&layout.pgbr_settings(file.port)),
            postgres_ids,
        )?;
        let postmaster = Postmaster::new(layout.clone(), file.port, toolbox, postgres_ids);
        Ok(Self {
            file,
            layout,
            postmaster,
        })
    }

    /// Starts Postgres on a restored data directory with this instance's settings (port,
    /// socket, archiving into its own staging repository) and waits until it accepts
    /// connections (after replaying WAL to the backup's consistent point).
    pub async fn start_restored(&self, toolbox: &Toolbox) -> Result<(), InstanceError> {
        let pgbackrest = toolbox
            .path("pgbackrest")
            .map_or_else(|| PathBuf::from("pgbackrest"), Path::to_path_buf);
        self.postmaster
            .write_settings(&crate::pgbackrest::archive_command(
                &pgbackrest,
                &self.layout.pgbr_config(),
            ))?;
        self.postmaster.start().await
    }

    /// Its namespace.
    pub fn namespace(&self) -> &str {
        &self.file.namespace
    }

    /// Its stable id.
    pub fn id(&self) -> &str {
        &self.file.instance_id
    }

    /// `pgbackrest.conf`, as pgBackRest sees it.
    pub fn pgbackrest_config(&self) -> PathBuf {
        self.layout.pgbr_config()
    }

    /// The folder restic backs up (`pgbackrest/` and `config/` below it).
    pub fn staging_dir(&self) -> PathBuf {
        self.layout.staging()
    }

    /// What a backup stages, about: the data directory and the configuration.
    pub fn size_on_disk(&self) -> u64 {
        crate::files::dir_size(&self.layout.pgdata())
            + crate::files::dir_size(&self.layout.config_dir())
    }

    /// Free bytes where a backup stages.
    pub fn staging_free_bytes(&self) -> Option<u64> {
        crate::files::available_bytes(&self.layout.staging())
    }

    /// Whether its Postgres runs now.
    pub fn is_running(&self) -> bool {
        postgres::is_running(&self.layout.pgdata())
    }

    /// Exports the configuration into staging; returns (files, bytes). Blocking.
    pub fn export_config(&self) -> Result<(u64, u64), InstanceError> {
        config_folder::export(&self.layout.config_dir(), &self.layout.staging_config()).map_err(io(
            "cannot export the configuration to",
            &self.layout.staging_config(),
        ))
    }

    /// Replaces the configuration with the one in `from`, rewriting the namespace from
    /// `source_namespace` to this one's; returns (files, bytes, files rewritten). Blocking.
    pub fn apply_config(
        &self,
        from: &Path,
        source_namespace: &str,
    ) -> Result<(u64, u64, u64), InstanceError> {
        config_folder::replace(
            &self.layout.config_dir(),
            from,
            Some((source_namespace, &self.file.namespace)),
        )
        .map_err(io(
            "cannot re-apply the configuration to",
            &self.layout.config_dir(),
        ))
    }

    /// Makes a fetched pgBackRest repository this instance's staging repository (the old one
    /// goes), owned by the PostgreSQL service account. Blocking.
    pub fn install_repository(&self, fetched: &Path) -> Result<(), InstanceError> {
        let repo = self.layout.staging_repo();
        if repo.exists() {
            std::fs::remove_dir_all(&repo).map_err(io("cannot remove", &repo))?;
        }
        std::fs::rename(fetched, &repo)
            .map_err(io("cannot move the fetched repository to", &repo))?;
        chown_tree(&repo, self.postmaster.ids())
    }

    /// Removes everything of the instance in `namespace` (it must not be running).
    pub fn remove(data_dir: &Path, namespace: &str) -> Result<(), InstanceError> {
        let root = Layout::new(data_dir, namespace).root;
        std::fs::remove_dir_all(&root).map_err(io("cannot remove", &root))
    }

    /// Removes everything in the data directory (Postgres must be stopped).
    pub fn empty_pgdata(&self) -> Result<(), InstanceError> {
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

    /// The restore replacing the data of the instance in `namespace`, if one started and did
    /// not finish (whether or not that instance is loaded).
    pub fn restoring_in(data_dir: &Path, namespace: &str) -> Option<String> {
        read_marker(&Layout::new(data_dir, namespace))
    }

    /// The restore that is replacing this instance's data, if one started and did not finish.
    pub fn restoring(&self) -> Option<String> {
        read_marker(&self.layout)
    }

    /// Records that operation `op` is replacing this instance's data (past the point of no
    /// return): until [`Instance::clear_restoring`], Lifeboat will not start its Postgres.
    pub fn mark_restoring(&self, op: &str) -> Result<(), InstanceError> {
        let path = self.layout.restore_marker();
        std::fs::write(&path, op).map_err(io("cannot write", &path))
    }

    /// The restore finished: the instance is whole again.
    pub fn clear_restoring(&self) -> Result<(), InstanceError> {
        let path = self.layout.restore_marker();
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io("cannot remove", &path)(e))
            }
            _ => Ok(()),
        }
    }

    /// Row counts of the tables a restore verifies (see [`COUNTED`]), as
    /// `database.table → rows`.
    pub async fn counts(
        &self,
        runtime: &dyn Runtime,
    ) -> Result<std::collections::BTreeMap<String, u64>, InstanceError> {
        let mut counts = std::collections::BTreeMap::new();
        for (db, tables) in COUNTED {
            let sql = tables
                .iter()
                .map(|t| format!("SELECT '{t}', count(*) FROM {t}"))
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let out = self.postmaster.query(runtime, db, &sql).await?;
            for line in out.lines() {
                if let Some((table, n)) = line.split_once('|')
                    && let Ok(n) = n.trim().parse()
                {
                    counts.insert(format!("{db}.{table}"), n);
                }
            }
        }
        Ok(counts)
    }

    /// The names of App Manager's apps and workspaces, for the post-restore checklist.
    pub async fn apps_and_workspaces(
        &self,
        runtime: &dyn Runtime,
    ) -> Result<(Vec<String>, Vec<String>), InstanceError> {
        let names = |out: String| -> Vec<String> {
            out.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let apps = self
            .postmaster
            .query_all(runtime, "appmanager", "SELECT name FROM apps ORDER BY name")
            .await?;
        let workspaces = self
            .postmaster
            .query_all(
                runtime,
                "appmanager",
                "SELECT name FROM workspaces ORDER BY name",
            )
            .await?;
        Ok((names(apps), names(workspaces)))
    }

    /// Whether Postgres has finished recovery (and accepts writes).
    pub async fn is_primary(&self, runtime: &dyn Runtime) -> Result<bool, InstanceError> {
        let out = self
            .postmaster
            .query(runtime, "postgres", "SELECT pg_is_in_recovery()")
            .await?;
        Ok(out.trim() == "f")
    }

    /// What `GET /api/v1/instance` says.
    pub fn info(&self) -> InstanceInfo {
        InstanceInfo {
            instance_id: self.file.instance_id.clone(),
            namespace: self.file.namespace.clone(),
            runtime: "local".into(),
            components: vec!["postgres".into(), "configuration".into()],
            postgres_port: Some(self.file.port),
            postgres_socket_dir: Some(self.layout.socket_dir().display().to_string()),
            config_dir: Some(self.layout.config_dir().display().to_string()),
            restore_incomplete: self.restoring(),
        }
    }

    /// Stops Postgres (fast shutdown).
    pub async fn stop(&self) {
        self.postmaster.stop().await;
    }
}

fn read_marker(layout: &Layout) -> Option<String> {
    std::fs::read_to_string(layout.restore_marker())
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Whether `namespace` is a DNS-1123 label (what Kubernetes accepts as a namespace name):
/// 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit.
pub fn is_dns_label(namespace: &str) -> bool {
    let b = namespace.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// The namespaces that have an instance in `data_dir` (an `instance.json`).
pub fn namespaces_in(data_dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(data_dir.join("instances"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("instance.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_dns_label(n))
        .collect();
    found.sort();
    found
}

/// Runs a command that must exit 0.
pub(crate) async fn run_ok(
    runtime: &dyn Runtime,
    cmd: crate::runtime::ToolCommand,
    step: &'static str,
) -> Result<crate::runtime::ToolOutput, InstanceError> {
    let out = runtime
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
        assert_eq!(s.repo_path, l.staging_repo());
    }

    #[test]
    fn namespaces_are_dns_labels() {
        for ok in ["demo", "a", "dash-2", "x0", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "Demo", "a_b", "a.b", "é", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
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
