//! Where things are on this host: every [`Place`] a command names maps to a folder below
//! Lifeboat's data dir.
//!
//! Each namespace Lifeboat manages has a folder `<data_dir>/instances/<namespace>/`, on
//! both runtimes: pgBackRest's settings (`pgbr/`) and the staging a backup fills
//! (`staging/`) are there; a local instance keeps its Postgres beside them.

use std::path::{Path, PathBuf};

use crate::command::{Place, Volume};

/// The data dir's layout for places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    data_dir: PathBuf,
}

impl Paths {
    /// Places below `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Lifeboat's data dir.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The folder a volume is.
    pub fn volume(&self, volume: &Volume) -> PathBuf {
        match volume {
            Volume::PgbackrestConfig(ns) => pgbr_dir(&self.namespace_dir(ns)),
            Volume::BackupStaging(ns) => backup_staging(&self.namespace_dir(ns)),
            Volume::RestoreStaging(op) => self.restores().join(op),
            Volume::AppData(ns) => app_data(&self.namespace_dir(ns)),
        }
    }

    /// The path a place is.
    pub fn of(&self, place: &Place) -> PathBuf {
        let root = self.volume(&place.volume);
        if place.rel.is_empty() {
            root
        } else {
            root.join(&place.rel)
        }
    }

    /// The folder of namespace `namespace` (`<data_dir>/instances/<namespace>`).
    pub fn namespace_dir(&self, namespace: &str) -> PathBuf {
        namespace_dir(&self.data_dir, namespace)
    }

    /// Where restores fetch their snapshots (`<data_dir>/restores`).
    pub fn restores(&self) -> PathBuf {
        self.data_dir.join("restores")
    }

    /// Where a run's secret files live while it runs.
    pub fn secret_run_dir(&self) -> PathBuf {
        self.data_dir.join("secrets").join("run")
    }
}

/// The folder of namespace `namespace` below `data_dir`.
pub fn namespace_dir(data_dir: &Path, namespace: &str) -> PathBuf {
    data_dir.join("instances").join(namespace)
}

/// pgBackRest's own folder in a namespace's folder (`pgbackrest.conf`, locks, logs).
pub fn pgbr_dir(namespace_dir: &Path) -> PathBuf {
    namespace_dir.join("pgbr")
}

/// The apps' and workspaces' data of a namespace: `files/` and `dumps/` below it.
pub fn app_data(namespace_dir: &Path) -> PathBuf {
    namespace_dir.join("appdata")
}

/// What restic backs up of a namespace: `pgbackrest/` and `config/` below it.
pub fn backup_staging(namespace_dir: &Path) -> PathBuf {
    namespace_dir.join("staging")
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_map_below_the_data_dir() {
        let p = Paths::new(Path::new("/d"));
        let conf = Place::at(Volume::PgbackrestConfig("demo".into()), "pgbackrest.conf");
        assert_eq!(
            p.of(&conf),
            Path::new("/d/instances/demo/pgbr/pgbackrest.conf")
        );
        let fetched = Place::root(Volume::RestoreStaging("op-1".into())).join("pgbackrest");
        assert_eq!(p.of(&fetched), Path::new("/d/restores/op-1/pgbackrest"));
        assert_eq!(
            p.volume(&Volume::BackupStaging("x".into())),
            Path::new("/d/instances/x/staging")
        );
    }
}
