//! Where the local runtime keeps things: every [`Place`] a command names maps to a folder
//! below Lifeboat's data dir, and [`LocalStaging`] is a staging area in one of them.

use std::path::{Path, PathBuf};

use super::files::dir_size;
use super::instance::Layout;
use crate::command::{Place, Volume};
use crate::disk::available_bytes;
use crate::runtime::{Staging, StagingError};

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
            Volume::PgbackrestConfig(ns) => Layout::new(&self.data_dir, ns).pgbr_dir(),
            Volume::BackupStaging(ns) => Layout::new(&self.data_dir, ns).staging(),
            Volume::RestoreStaging(op) => self.restores().join(op),
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

    /// Where restores fetch their snapshots (`<data_dir>/restores`).
    pub fn restores(&self) -> PathBuf {
        self.data_dir.join("restores")
    }

    /// Where a run's secret files live while it runs.
    pub fn secret_run_dir(&self) -> PathBuf {
        self.data_dir.join("secrets").join("run")
    }
}

/// A staging area: a folder on this host.
#[derive(Debug, Clone)]
pub struct LocalStaging {
    place: Place,
    dir: PathBuf,
    /// Other folders it will fill too (a restore's fetch then a new data directory): free
    /// space is the least of them.
    shares_with: Vec<PathBuf>,
}

impl LocalStaging {
    /// The staging area at `place`.
    pub fn new(paths: &Paths, place: Place, shares_with: Vec<PathBuf>) -> Self {
        Self {
            dir: paths.of(&place),
            place,
            shares_with,
        }
    }

    fn err(&self, what: &'static str) -> impl FnOnce(std::io::Error) -> StagingError + '_ {
        move |source| StagingError {
            what,
            place: self.dir.display().to_string(),
            source,
        }
    }
}

#[async_trait::async_trait]
impl Staging for LocalStaging {
    fn place(&self) -> Place {
        self.place.clone()
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    async fn reset(&self) -> Result<(), StagingError> {
        super::files::remove_tree(self.dir.clone())
            .await
            .map_err(self.err("clear"))?;
        std::fs::create_dir_all(&self.dir).map_err(self.err("create"))
    }

    async fn size(&self) -> u64 {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || dir_size(&dir))
            .await
            .unwrap_or(0)
    }

    async fn free_bytes(&self) -> Option<u64> {
        std::iter::once(&self.dir)
            .chain(&self.shares_with)
            .filter_map(|p| available_bytes(p))
            .min()
    }

    async fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(rel)).ok()
    }

    async fn has_dir(&self, rel: &str) -> bool {
        self.dir.join(rel).is_dir()
    }

    async fn remove(&self) {
        if let Err(e) = super::files::remove_tree(self.dir.clone()).await {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot remove a staging folder");
        }
    }
}

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

    #[tokio::test]
    async fn staging_resets_measures_reads_and_removes() {
        let d = tempfile::tempdir().unwrap();
        let paths = Paths::new(d.path());
        let s = LocalStaging::new(
            &paths,
            Place::root(Volume::RestoreStaging("op".into())),
            vec![],
        );
        s.reset().await.unwrap();
        std::fs::create_dir_all(d.path().join("restores/op/config")).unwrap();
        std::fs::write(d.path().join("restores/op/a"), "12345").unwrap();
        assert_eq!(s.size().await, 5);
        assert_eq!(s.read("a").await.as_deref(), Some("12345"));
        assert!(s.has_dir("config").await && !s.has_dir("a").await);
        assert!(s.free_bytes().await.is_some());
        s.reset().await.unwrap();
        assert_eq!(s.size().await, 0);
        s.remove().await;
        assert!(!d.path().join("restores/op").exists());
    }
}
