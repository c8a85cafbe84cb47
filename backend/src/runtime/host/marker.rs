//! The restore marker: a file, beside an instance's other files on Lifeboat's data dir
//! (its volume on Kubernetes), present while a restore replaces that instance's data and
//! naming the operation. It outlives a crash of Lifeboat or of its pod, so a restart knows
//! not to start a half-restored Postgres. The same on both runtimes.

use std::path::PathBuf;

use crate::runtime::error::InstanceError;

/// One instance's restore marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreMarker {
    path: PathBuf,
}

impl RestoreMarker {
    /// The marker at `path`.
    pub fn at(path: PathBuf) -> Self {
        Self { path }
    }

    /// The operation whose restore did not finish, if one is marked.
    pub fn read(&self) -> Option<String> {
        std::fs::read_to_string(&self.path)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// Marks operation `op` as restoring here: written whole or not at all (a crash while
    /// writing never leaves an empty marker, which would read as no restore).
    pub fn mark(&self, op: &str) -> Result<(), InstanceError> {
        crate::atomic::write_file(&self.path, op.as_bytes(), 0o644).map_err(|source| {
            InstanceError::Io {
                what: "cannot write",
                path: self.path.clone(),
                source,
            }
        })
    }

    /// Removes the marker; one that is not there is already cleared.
    pub fn clear(&self) -> Result<(), InstanceError> {
        match std::fs::remove_file(&self.path) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                Err(InstanceError::Io {
                    what: "cannot remove",
                    path: self.path.clone(),
                    source,
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_names_its_operation_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let marker = RestoreMarker::at(dir.path().join("restoring"));
        assert_eq!(marker.read(), None);
        marker.mark("op-1").unwrap();
        assert_eq!(marker.read().as_deref(), Some("op-1"));
        marker.clear().unwrap();
        assert_eq!(marker.read(), None);
        marker.clear().unwrap();
    }

    #[test]
    fn an_empty_marker_file_is_no_restore() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("restoring"), "\n").unwrap();
        assert_eq!(RestoreMarker::at(dir.path().join("restoring")).read(), None);
    }
}
