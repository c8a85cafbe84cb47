//! The local runtime's secret store: one 0600 JSON file per secret under
//! `<data_dir>/secrets/` (the directory is 0700).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::source::{SecretError, SecretSource, SecretValues};
use crate::atomic;
use crate::secret::Secret;

/// Secrets kept in files on this host.
#[derive(Debug, Clone)]
pub struct LocalSecrets {
    dir: PathBuf,
}

impl LocalSecrets {
    /// The store in `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Where the secret files live.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf, SecretError> {
        let ok = !name.is_empty()
            && name.len() <= 253
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !name.starts_with('.');
        if !ok {
            return Err(SecretError::BadName(name.to_owned()));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }
}

#[async_trait::async_trait]
impl SecretSource for LocalSecrets {
    async fn read(&self, name: &str) -> Result<SecretValues, SecretError> {
        let path = self.path(name)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SecretValues::default());
            }
            Err(source) => {
                return Err(SecretError::Io {
                    action: "read",
                    name: name.to_owned(),
                    source,
                });
            }
        };
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| SecretError::Damaged(name.to_owned()))?;
        Ok(SecretValues(
            map.into_iter().map(|(k, v)| (k, Secret::new(v))).collect(),
        ))
    }

    async fn write(&self, name: &str, values: &SecretValues) -> Result<(), SecretError> {
        let path = self.path(name)?;
        let map: BTreeMap<&str, &str> = values
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect();
        let bytes = serde_json::to_vec(&map).map_err(|_| SecretError::Damaged(name.to_owned()))?;
        let dir = self.dir.clone();
        let io = |source| SecretError::Io {
            action: "write",
            name: name.to_owned(),
            source,
        };
        tokio::task::spawn_blocking(move || {
            atomic::ensure_dir(&dir, 0o700)?;
            atomic::write_file(&path, &bytes, 0o600)
        })
        .await
        .map_err(|e| io(std::io::Error::other(e.to_string())))?
        .map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[tokio::test]
    async fn round_trip_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalSecrets::new(dir.path().join("secrets"));
        assert_eq!(
            store.read("s3-creds").await.unwrap(),
            SecretValues::default()
        );
        let mut v = SecretValues::default();
        v.set_passphrase(Some("pw"));
        store.write("s3-creds", &v).await.unwrap();
        assert_eq!(store.read("s3-creds").await.unwrap(), v);
        let m = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(m(dir.path().join("secrets")), 0o700);
        assert_eq!(m(dir.path().join("secrets/s3-creds.json")), 0o600);
        assert!(store.read("../etc").await.is_err());
    }
}
