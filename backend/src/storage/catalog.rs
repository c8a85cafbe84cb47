//! The catalog: one JSON manifest per backup under `<prefix>/catalog/<id>.json`.
//!
//! A manifest is written last, after its restic snapshot exists, so every manifest names
//! data that is there. Every instance on the bucket reads the same catalog.

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use lifeboat_shared::backup::{BackupManifest, DamagedBackup};
use object_store::{ObjectStore as _, ObjectStoreExt as _, PutPayload};

use super::Target;

/// How many manifests are fetched at once when listing.
const PARALLEL_FETCHES: usize = 32;

/// Why the catalog could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The store failed.
    #[error("cannot read or write the catalog: {0}")]
    Store(#[from] object_store::Error),
    /// A manifest could not be encoded.
    #[error("cannot encode the manifest: {0}")]
    Encode(#[from] serde_json::Error),
    /// Not a catalog id.
    #[error("{0:?} is not a backup id")]
    BadId(String),
    /// The entry is there but cannot be read (truncated, or not a manifest).
    #[error("the catalog entry of backup {id} is damaged ({reason})")]
    Damaged {
        /// The backup.
        id: String,
        /// What the parser said.
        reason: String,
    },
}

/// Whether `id` can name a catalog entry (the shape Lifeboat gives them; nothing that
/// could step outside the catalog folder).
pub fn is_valid_id(id: &str) -> bool {
    check_id(id).is_ok()
}

fn check_id(id: &str) -> Result<(), CatalogError> {
    if !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(CatalogError::BadId(id.to_owned()))
    }
}

/// Writes (or replaces) a manifest.
pub async fn put(target: &Target, manifest: &BackupManifest) -> Result<(), CatalogError> {
    check_id(&manifest.id)?;
    let body = Bytes::from(serde_json::to_vec_pretty(manifest)?);
    target
        .store
        .put(
            &target.key(&format!("catalog/{}.json", manifest.id)),
            PutPayload::from(body),
        )
        .await?;
    Ok(())
}

/// One manifest, if it exists; an entry that cannot be read is [`CatalogError::Damaged`].
pub async fn get(target: &Target, id: &str) -> Result<Option<BackupManifest>, CatalogError> {
    check_id(id)?;
    match fetch(target, &target.key(&format!("catalog/{id}.json"))).await? {
        Entry::Missing => Ok(None),
        Entry::Manifest(m) => Ok(Some(*m)),
        Entry::Unreadable(reason) => Err(CatalogError::Damaged {
            id: id.to_owned(),
            reason,
        }),
    }
}

/// Removes a manifest (missing is fine).
pub async fn delete(target: &Target, id: &str) -> Result<(), CatalogError> {
    check_id(id)?;
    match target
        .store
        .delete(&target.key(&format!("catalog/{id}.json")))
        .await
    {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A catalog object, as read.
enum Entry {
    Missing,
    Manifest(Box<BackupManifest>),
    /// Truncated, not JSON, or not a manifest: what the parser said.
    Unreadable(String),
}

async fn fetch(target: &Target, path: &object_store::path::Path) -> Result<Entry, CatalogError> {
    let bytes = match target.store.get(path).await {
        Ok(r) => r.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(Entry::Missing),
        Err(e) => return Err(e.into()),
    };
    Ok(match serde_json::from_slice(&bytes) {
        Ok(m) => Entry::Manifest(Box::new(m)),
        Err(e) => Entry::Unreadable(e.to_string()),
    })
}

/// The catalog as the Backups table shows it: the entries that can be restored, newest
/// first, and those that cannot (unreadable, or naming a restic snapshot that is not in the
/// bucket's repository), with why. Costs one listing of the repository's snapshot files
/// beside the catalog's (file names only: no passphrase needed).
pub async fn list_checked(
    target: &Target,
) -> Result<(Vec<BackupManifest>, Vec<DamagedBackup>), CatalogError> {
    let entries = entries(target).await?;
    let snapshots: Vec<String> = target
        .store
        .list(Some(&target.key("restic/snapshots")))
        .map_ok(|meta| meta.location.filename().unwrap_or_default().to_owned())
        .try_collect()
        .await?;
    let mut good = Vec::new();
    let mut damaged = Vec::new();
    for (path, entry) in entries {
        match entry {
            Entry::Missing => {}
            Entry::Unreadable(reason) => {
                let id = path
                    .filename()
                    .unwrap_or_default()
                    .trim_end_matches(".json")
                    .to_owned();
                tracing::warn!(object = %path, %reason, "a catalog entry is damaged");
                damaged.push(DamagedBackup {
                    problem: format!("its catalog entry cannot be read ({reason})"),
                    id,
                    started_at: None,
                    description: None,
                });
            }
            Entry::Manifest(m) => {
                let missing: Vec<&str> = m
                    .components
                    .iter()
                    .map(|c| c.snapshot_id.as_str())
                    .filter(|id| !id.is_empty() && !snapshots.iter().any(|s| s.starts_with(id)))
                    .collect();
                if missing.is_empty() {
                    good.push(*m);
                } else {
                    tracing::warn!(backup = %m.id, ?missing, "a backup's data is not in the bucket");
                    damaged.push(DamagedBackup {
                        problem: format!(
                            "its data (restic snapshot {}) is not in the bucket",
                            missing.join(", ")
                        ),
                        id: m.id,
                        started_at: Some(m.started_at),
                        description: Some(m.description).filter(|d| !d.is_empty()),
                    });
                }
            }
        }
    }
    newest_first(&mut good);
    damaged.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((good, damaged))
}

/// Every backup in the bucket, newest first (entries that cannot be read are left out:
/// [`list_checked`] reports them).
pub async fn list(target: &Target) -> Result<Vec<BackupManifest>, CatalogError> {
    let mut manifests: Vec<BackupManifest> = entries(target)
        .await?
        .into_iter()
        .filter_map(|(_, e)| match e {
            Entry::Manifest(m) => Some(*m),
            Entry::Missing | Entry::Unreadable(_) => None,
        })
        .collect();
    newest_first(&mut manifests);
    Ok(manifests)
}

/// Every object under `<prefix>/catalog/` ending in `.json`, read (a few at a time).
async fn entries(target: &Target) -> Result<Vec<(object_store::path::Path, Entry)>, CatalogError> {
    let paths: Vec<object_store::path::Path> = target
        .store
        .list(Some(&target.key("catalog")))
        .map_ok(|meta| meta.location)
        .try_filter(|p| std::future::ready(p.as_ref().ends_with(".json")))
        .try_collect()
        .await?;
    futures::stream::iter(paths)
        .map(|p| async move { fetch(target, &p).await.map(|e| (p, e)) })
        .buffer_unordered(PARALLEL_FETCHES)
        .try_collect()
        .await
}

fn newest_first(manifests: &mut [BackupManifest]) {
    manifests.sort_by_cached_key(|m| {
        std::cmp::Reverse((
            crate::operations::clock::sort_key(&m.started_at),
            m.id.clone(),
        ))
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use lifeboat_shared::backup::{Component, SourceInstance};
    use lifeboat_shared::operation::Trigger;

    use super::*;

    pub(crate) fn manifest(id: &str, started: &str) -> BackupManifest {
        BackupManifest {
            backup_type: Default::default(),
            depends_on: None,
            id: id.into(),
            started_at: started.into(),
            finished_at: started.into(),
            trigger: Trigger::Manual { by: "admin".into() },
            description: String::new(),
            source: SourceInstance {
                instance_id: "i".into(),
                namespace: "demo".into(),
            },
            platform_version: "local".into(),
            lifeboat_version: "0.1.0".into(),
            postgres_major: 15,
            components: vec![Component {
                name: "postgres".into(),
                snapshot_id: "abcd".into(),
                pgbackrest_label: None,
                size_bytes: 1,
                path: None,
                method: None,
                duration_ms: None,
            }],
            bytes_added: 1,
            size_bytes: 1,
            encrypted: false,
            key_fingerprint: None,
            counts: Default::default(),
            wal_until: None,
            consistent_at: None,
        }
    }

    #[tokio::test]
    async fn lists_newest_first_and_skips_garbage() {
        let d = tempfile::tempdir().unwrap();
        let t = Target::local(d.path().join("b"), None).unwrap();
        assert!(list(&t).await.unwrap().is_empty());
        put(&t, &manifest("bk-1", "2026-11-25T10:00:00Z"))
            .await
            .unwrap();
        put(&t, &manifest("bk-3", "2026-11-25T12:00:00Z"))
            .await
            .unwrap();
        put(&t, &manifest("bk-2", "2026-11-25T11:00:00Z"))
            .await
            .unwrap();
        std::fs::write(d.path().join("b/catalog/junk.json"), "{").unwrap();
        let ids: Vec<String> = list(&t).await.unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, vec!["bk-3", "bk-2", "bk-1"]);
        assert_eq!(get(&t, "bk-2").await.unwrap().unwrap().id, "bk-2");
        assert!(get(&t, "bk-9").await.unwrap().is_none());
        assert!(matches!(get(&t, "../x").await, Err(CatalogError::BadId(_))));
        delete(&t, "bk-2").await.unwrap();
        assert_eq!(list(&t).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn lists_a_thousand_manifests_quickly() {
        let d = tempfile::tempdir().unwrap();
        let t = Target::local(d.path().join("b"), None).unwrap();
        for i in 0..1000 {
            put(
                &t,
                &manifest(
                    &format!("bk-{i:04}"),
                    &format!("2026-11-25T10:00:00.{i:04}Z"),
                ),
            )
            .await
            .unwrap();
        }
        let started = std::time::Instant::now();
        let all = list(&t).await.unwrap();
        let took = started.elapsed();
        assert_eq!(all.len(), 1000);
        assert_eq!(all[0].id, "bk-0999");
        // Generous: the point is "not seconds", on a loaded 2-core machine.
        assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    }
}
