//! Folder trees on this host: their size, a copy and a removal. Used by the local instances,
//! the local staging folders and the kubernetes instance's staging repository (free space
//! is [`crate::disk`]'s).

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

/// The bytes of the regular files below `path` (0 when it does not exist).
pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
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
