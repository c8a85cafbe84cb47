//! Folder trees on this host: their size, a copy, a removal, and a removal in the
//! background. Used by the local instances, the local staging folders and the kubernetes
//! instance's staging repository (free space is [`crate::disk`]'s).

use std::path::{Path, PathBuf};

/// Removes a folder tree, if it is there, on a blocking thread: a staging repository of a
/// few hundred MB takes the better part of a second, which an async worker must not spend.
pub async fn remove_tree(path: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        done => done,
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Moves the tree at `path` (if any) aside, to a hidden sibling, and removes it on a
/// blocking thread in the background, with any an earlier call left there (Lifeboat stopped
/// before it was done). Returns once the rename is done: a restore puts the fetched
/// repository in place with Postgres down, and must not wait for the old one's delete.
pub async fn discard_tree(path: &Path) -> std::io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return remove_tree(path.to_path_buf()).await;
    };
    let prefix = format!(".{}{DISCARDED}", name.to_string_lossy());
    // What an earlier Lifeboat left aside; not finding it is no reason to fail this one.
    let mut discarded: Vec<PathBuf> = match std::fs::read_dir(parent) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect(),
        Err(e) => {
            tracing::warn!(path = %parent.display(), error = %e, "cannot look for folders discarded earlier");
            Vec::new()
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let aside = parent.join(format!("{prefix}{nanos}"));
    match std::fs::rename(path, &aside) {
        Ok(()) => discarded.push(aside),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if !discarded.is_empty() {
        tokio::task::spawn_blocking(move || {
            for p in discarded {
                match std::fs::remove_dir_all(&p) {
                    // Another discard removes it too.
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        tracing::warn!(path = %p.display(), error = %e, "cannot remove a discarded folder");
                    }
                    _ => {}
                }
            }
        });
    }
    Ok(())
}

/// What marks a tree [`discard_tree`] put aside: `.<name>.discarded-<nanos>`.
const DISCARDED: &str = ".discarded-";

/// Whether a folder entry is a tree [`discard_tree`] put aside (not counted in sizes: it
/// is on its way out).
fn is_discarded(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name.contains(DISCARDED)
}

/// The bytes of the regular files below `path` (0 when it does not exist), trees being
/// discarded left out.
pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| !is_discarded(&e.file_name()))
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Copies a folder tree (regular files and folders); returns (files, bytes).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<(u64, u64)> {
    std::fs::create_dir_all(to)?;
    let (mut files, mut bytes) = (0, 0);
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = e.file_type()?;
        let dest = to.join(e.file_name());
        if t.is_dir() {
            let (f, b) = copy_dir(&e.path(), &dest)?;
            files += f;
            bytes += b;
        } else if t.is_file() {
            bytes += std::fs::copy(e.path(), &dest)?;
            files += 1;
        }
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn removes_a_tree_and_a_missing_one_is_no_error() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("repo");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/file"), b"x").unwrap();
        remove_tree(tree.clone()).await.unwrap();
        assert!(!tree.exists());
        remove_tree(tree.clone()).await.unwrap();
    }

    #[tokio::test]
    async fn a_discarded_tree_is_gone_at_once_and_removed_in_the_background() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("pgbackrest");
        std::fs::create_dir_all(tree.join("archive/system")).unwrap();
        std::fs::write(tree.join("archive/system/seg"), b"x").unwrap();
        // What a Lifeboat stopped mid-removal left.
        let left = d.path().join(".pgbackrest.discarded-1");
        std::fs::create_dir_all(left.join("backup")).unwrap();
        let other = d.path().join("config");
        std::fs::create_dir_all(&other).unwrap();
        discard_tree(&tree).await.unwrap();
        assert!(!tree.exists());
        // What is on its way out is not counted.
        assert_eq!(dir_size(d.path()), 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let entries = || -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(d.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        while entries() != ["config"] {
            assert!(std::time::Instant::now() < deadline, "{:?}", entries());
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // Nothing there is no error.
        discard_tree(&tree).await.unwrap();
    }

    #[test]
    fn sizes_and_copies_trees() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("a/x"), b"12345").unwrap();
        std::fs::write(d.path().join("a/b/y"), b"123").unwrap();
        assert_eq!(dir_size(&d.path().join("a")), 8);
        assert_eq!(
            copy_dir(&d.path().join("a"), &d.path().join("c")).unwrap(),
            (2, 8)
        );
        assert_eq!(dir_size(&d.path().join("c")), 8);
    }
}
