//! A staging area on this host: a folder below Lifeboat's data dir (a restore's fetched
//! snapshot, a backup's staging), as both runtimes hand them to jobs.

use std::path::{Path, PathBuf};

use super::files::{dir_size, remove_tree};
use super::paths::Paths;
use crate::command::Place;
use crate::disk::available_bytes;
use crate::runtime::{InstanceError, Staging, StagingError};

/// A staging area: a folder on this host.
#[derive(Debug, Clone)]
pub struct FolderStaging {
    place: Place,
    dir: PathBuf,
    /// Other folders it will fill too (a restore's fetch then a new data directory): free
    /// space is the least of them.
    shares_with: Vec<PathBuf>,
}

impl FolderStaging {
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
impl Staging for FolderStaging {
    fn place(&self) -> Place {
        self.place.clone()
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    async fn reset(&self) -> Result<(), StagingError> {
        remove_tree(self.dir.clone())
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

    async fn wal_segments(&self) -> Vec<crate::runtime::host::segments::Segment> {
        let archive = self.dir.join("pgbackrest/archive");
        tokio::task::spawn_blocking(move || crate::runtime::host::segments::list(&archive))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    async fn has_dir(&self, rel: &str) -> bool {
        self.dir.join(rel).is_dir()
    }

    async fn remove(&self) {
        if let Err(e) = remove_tree(self.dir.clone()).await {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot remove a staging folder");
        }
    }
}

/// Makes the repository a restore fetched to `fetched` the instance's staging repository
/// `repo`, on both runtimes: refused before anything is touched when nothing was fetched
/// there; else the old repository goes and the fetched one takes its place (a rename, or a
/// copy when the two are on different file systems).
pub async fn install_repository(fetched: &Path, repo: &Path) -> Result<(), InstanceError> {
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| InstanceError::Io { what, path, source }
    };
    if !fetched.is_dir() {
        return Err(io("there is no fetched repository at", fetched)(
            std::io::ErrorKind::NotFound.into(),
        ));
    }
    super::files::discard_tree(repo)
        .await
        .map_err(io("cannot move aside", repo))?;
    match std::fs::rename(fetched, repo) {
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let (from, to) = (fetched.to_path_buf(), repo.to_path_buf());
            tokio::task::spawn_blocking(move || {
                super::files::copy_dir(&from, &to).and_then(|_| std::fs::remove_dir_all(&from))
            })
            .await
            .map_err(|e| {
                io("cannot copy the fetched repository to", repo)(std::io::Error::other(e))
            })?
            .map_err(io("cannot copy the fetched repository to", repo))
        }
        moved => moved.map_err(io("cannot move the fetched repository to", repo)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Volume;

    #[tokio::test]
    async fn staging_resets_measures_reads_and_removes() {
        let d = tempfile::tempdir().unwrap();
        let paths = Paths::new(d.path());
        let s = FolderStaging::new(
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
