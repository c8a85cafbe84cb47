//! One JSON file per operation, replaced atomically (write a temporary file, sync, rename):
//! a write that fails (a full disk) leaves the previous file whole and no temporary file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use lifeboat_shared::operation::Operation;

/// Why an operation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system refused.
    #[error("cannot write operation {id} under {dir}: {source}")]
    Io {
        /// The operation.
        id: String,
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The disk holding the folder is full.
    #[error(
        "no room to write operation {id}'s record under {dir} ({free}; a record needs about {}): the disk is full",
        crate::disk::human(*.needed)
    )]
    Full {
        /// The operation.
        id: String,
        /// The folder.
        dir: PathBuf,
        /// Free space there, in words.
        free: String,
        /// About what the record needs.
        needed: u64,
    },
    /// An id that is not a file name.
    #[error("refusing to store an operation with id {0:?}")]
    BadId(String),
}

/// The folder of operation files.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// A store in `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Every readable operation; unreadable files are logged and skipped.
    pub fn load_all(&self) -> Vec<Operation> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| match read(&p) {
                Ok(op) => Some(op),
                Err(e) => {
                    tracing::warn!(file = %p.display(), error = %e, "skipping unreadable operation file");
                    None
                }
            })
            .collect()
    }

    /// Writes `op` atomically.
    pub fn save(&self, op: &Operation) -> Result<(), StoreError> {
        if op.id.is_empty()
            || !op
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(StoreError::BadId(op.id.clone()));
        }
        let bytes = serde_json::to_vec_pretty(op).map_err(|e| StoreError::Io {
            id: op.id.clone(),
            dir: self.dir.clone(),
            source: std::io::Error::other(e),
        })?;
        let tmp = self.dir.join(format!(".{}.json.tmp", op.id));
        let written = std::fs::create_dir_all(&self.dir).and_then(|()| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.dir.join(format!("{}.json", op.id)))
        });
        written.map_err(|source| {
            // The previous record stays as it was; a half-written copy would only take room.
            let _ = std::fs::remove_file(&tmp);
            if crate::disk::is_full(&source) {
                StoreError::Full {
                    id: op.id.clone(),
                    dir: self.dir.clone(),
                    free: crate::disk::free_words(crate::disk::available_bytes(&self.dir)),
                    needed: bytes.len() as u64,
                }
            } else {
                StoreError::Io {
                    id: op.id.clone(),
                    dir: self.dir.clone(),
                    source,
                }
            }
        })
    }
}

fn read(path: &Path) -> Result<Operation, std::io::Error> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_garbage_and_temporary_files_and_refuses_odd_ids() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        std::fs::write(dir.path().join("broken.json"), "{").unwrap();
        std::fs::write(dir.path().join(".x.json.tmp"), "{").unwrap();
        assert!(store.load_all().is_empty());
        let mut op = crate::operations::tests::op("../x", "t");
        assert!(matches!(store.save(&op), Err(StoreError::BadId(_))));
        op.id = "op-1".into();
        store.save(&op).unwrap();
        assert_eq!(store.load_all().len(), 1);
    }
}
