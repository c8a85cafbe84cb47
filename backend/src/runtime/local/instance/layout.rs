//! Where a local instance's files are ([`Layout`]), its remembered identity
//! (`instance.json`), and making its folders with the owners and modes Postgres needs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pgbackrest::{PgbrSettings, RepoPaths};
use crate::runtime::InstanceError;
use crate::runtime::host::marker::RestoreMarker;
use crate::runtime::host::paths;

pub fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstanceError {
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
    /// Whether the apps' demo data went in (once, at the first start that lays them out).
    #[serde(default)]
    pub apps_seeded: bool,
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

pub fn load_or_create(layout: &Layout, namespace: &str) -> Result<InstanceFile, InstanceError> {
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
                apps_seeded: false,
            };
            save(layout, &file)?;
            Ok(file)
        }
        Err(e) => Err(io("cannot read", &path)(e)),
    }
}

pub fn save(layout: &Layout, file: &InstanceFile) -> Result<(), InstanceError> {
    let path = layout.file();
    let tmp = layout.root.join(".instance.json.tmp");
    let bytes = serde_json::to_vec_pretty(file)
        .map_err(|e| io("cannot encode", &path)(std::io::Error::other(e)))?;
    std::fs::write(&tmp, bytes).map_err(io("cannot write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("cannot write", &path))
}

/// A TCP port free on 127.0.0.1 right now, below the ephemeral range when one is.
pub fn free_port() -> std::io::Result<u16> {
    // Below the kernel's ephemeral range: the port is kept (ports.json) and bound again at
    // every start, and while its server is stopped (a restore) an outgoing connection of any
    // process on the host could otherwise take it as its source port.
    let (low, _) = ephemeral_range();
    let first = 10_000.min(low.saturating_sub(1));
    let span = u32::from(low.saturating_sub(first)).max(1);
    for _ in 0..200 {
        let mut bytes = [0u8; 4];
        if getrandom::getrandom(&mut bytes).is_err() {
            break;
        }
        let port = first + (u32::from_le_bytes(bytes) % span) as u16;
        if port > 1024 && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

/// The kernel's ephemeral port range (`ip_local_port_range`; Linux's default when unread).
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32_768, 60_999))
}

pub fn prepare_dirs(
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

pub fn chown_tree(path: &Path, ids: Option<(u32, u32)>) -> Result<(), InstanceError> {
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

pub fn chown(path: &Path, ids: Option<(u32, u32)>) -> Result<(), InstanceError> {
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io("cannot chown", path))?;
    }
    Ok(())
}

pub fn write_owned(
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
    fn kept_ports_are_never_a_connection_s_source_port() {
        let (low, _) = ephemeral_range();
        for _ in 0..20 {
            let port = free_port().unwrap();
            assert!(port < low, "{port} is in the ephemeral range from {low}");
        }
    }

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
