//! What the bucket holds below Lifeboat's prefix, counted by listing it: the bytes the
//! provider bills (restic's packs after compression, deduplication and encryption, plus the
//! catalog and locks) and how many objects. A backup's `bytes_added` is the difference it
//! made to this.

use futures::TryStreamExt as _;

use super::Target;

/// Why the bucket could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// Listing the prefix failed.
    #[error("cannot list the bucket: {0}")]
    List(#[from] object_store::Error),
}

/// What the bucket holds below the prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The bytes of every object.
    pub stored_bytes: u64,
    /// How many objects.
    pub objects: u64,
}

/// Lists every object below `target`'s prefix and adds up their sizes.
pub async fn measure(target: &Target) -> Result<Usage, UsageError> {
    let prefix = (!target.prefix.as_ref().is_empty()).then_some(&target.prefix);
    let mut listing = target.store.list(prefix);
    let mut usage = Usage::default();
    while let Some(object) = listing.try_next().await? {
        usage.stored_bytes += object.size;
        usage.objects += 1;
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_every_object_below_the_prefix_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path().join("bucket");
        for (file, len) in [
            ("restic/data/ab/abcd", 1000),
            ("restic/config", 155),
            ("catalog/bk-1.json", 45),
        ] {
            let path = bucket.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, vec![7_u8; len]).unwrap();
        }
        // Beside the bucket's folder: not counted.
        std::fs::write(dir.path().join("elsewhere"), [0_u8; 99]).unwrap();
        let target = Target::local(bucket, None).unwrap();
        assert_eq!(
            measure(&target).await.unwrap(),
            Usage {
                stored_bytes: 1200,
                objects: 3
            }
        );
        let empty = Target::local(dir.path().join("empty"), None).unwrap();
        assert_eq!(measure(&empty).await.unwrap(), Usage::default());
    }
}
