//! A resolved bucket: the configured provider plus its credentials, ready for both clients
//! that talk to it — `object_store` (catalog, locks, probes) and restic (the data).
//!
//! Everything above this module sees a bucket only as a [`Target`].

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;

use crate::secret::Secret;

/// Why a bucket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The local folder cannot be created or used.
    #[error("cannot use the local folder {path}: {source}")]
    LocalFolder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The object store client rejected the settings.
    #[error("cannot open the bucket: {0}")]
    Client(#[from] object_store::Error),
}

/// How restic reaches the same bucket: the repository string and the environment it needs
/// (credentials, the passphrase). Secrets go through the environment, never arguments.
#[derive(Debug, Clone)]
pub struct ResticRepository {
    /// e.g. `/data/bucket/restic`, `s3:http://127.0.0.1:9000/bucket/prefix/restic`,
    /// `azure:container:/prefix/restic`, `gs:bucket:/prefix/restic`.
    pub repository: String,
    /// Variables for the restic process, e.g. `AWS_ACCESS_KEY_ID`, `RESTIC_PASSWORD`.
    pub env: Vec<(String, Secret)>,
}

/// A bucket Lifeboat can use.
#[derive(Debug, Clone)]
pub struct Target {
    /// The object store client, rooted at the bucket.
    pub store: Arc<dyn ObjectStore>,
    /// The configured prefix inside the bucket (may be empty). Lifeboat's objects live
    /// below it: `<prefix>/catalog/…`, `<prefix>/locks/…`, `<prefix>/restic/…`.
    pub prefix: ObjectPath,
    /// How restic reaches the repository below the prefix.
    pub restic: ResticRepository,
}

impl Target {
    /// A folder on this host standing in for a bucket (the embedded default).
    /// `passphrase` is restic's; `None` uses Lifeboat's built-in unencrypted-mode key
    /// (see `restic` module), which is not a secret.
    pub fn local(root: PathBuf, passphrase: Option<Secret>) -> Result<Self, TargetError> {
        std::fs::create_dir_all(&root).map_err(|source| TargetError::LocalFolder {
            path: root.clone(),
            source,
        })?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&root)?;
        let mut env = Vec::new();
        if let Some(p) = passphrase {
            env.push(("RESTIC_PASSWORD".to_owned(), p));
        }
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::default(),
            restic: ResticRepository {
                repository: root.join("restic").to_string_lossy().into_owned(),
                env,
            },
        })
    }

    /// The path of an object below the prefix, e.g. `key("catalog/x.json")`.
    pub fn key(&self, relative: &str) -> ObjectPath {
        self.prefix
            .parts()
            .chain(ObjectPath::from(relative).parts())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_live_below_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Target::local(dir.path().join("b"), None).unwrap();
        assert_eq!(t.key("catalog/a.json").as_ref(), "catalog/a.json");
        t.prefix = ObjectPath::from("team/de");
        assert_eq!(t.key("catalog/a.json").as_ref(), "team/de/catalog/a.json");
        assert!(t.restic.repository.ends_with("/b/restic"));
        assert!(t.restic.env.is_empty());
    }
}
