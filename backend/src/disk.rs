//! Disk space, asked of the file system itself (`statvfs`, no `df` process): how much is
//! free where a path lives, whether an I/O error says the disk is full, and sizes in words. Used wherever
//! Lifeboat writes: its operation records, the local staging folders and data directories.

use std::path::Path;

/// Bytes an unprivileged writer may still use on the file system holding `path`, or its
/// nearest existing parent (`None` when it cannot tell).
pub fn available_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let stats = rustix::fs::statvfs(existing).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Bytes for people, e.g. `21.9 MiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Free space in words for an error message: `12.0 KiB free` (or `free space unknown`).
pub fn free_words(free: Option<u64>) -> String {
    free.map_or_else(
        || "free space unknown".to_owned(),
        |b| format!("{} free", human(b)),
    )
}

/// Whether `e` says the disk (or the user's quota on it) is full.
pub fn is_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// Whether a tool's words say it ran out of space (`No space left on device`, as the C
/// library words `ENOSPC`; pgBackRest and restic both pass it on).
pub fn says_full(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("no space left on device") || t.contains("disk quota exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_read_for_a_path_not_made_yet() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available_bytes(&dir.path().join("not/yet/there")).is_some_and(|b| b > 0));
        assert_eq!(available_bytes(Path::new("")), None, "no path, no answer");
    }

    #[test]
    fn a_full_disk_is_told_from_other_errors() {
        assert!(is_full(&std::io::Error::from_raw_os_error(28)));
        assert!(is_full(&std::io::Error::from_raw_os_error(122)));
        assert!(!is_full(&std::io::Error::from_raw_os_error(13)));
        assert!(says_full(
            "ERROR: [039]: unable to write '/x/base/1/1259': [28] No space left on device"
        ));
        assert!(!says_full("ERROR: [056]: unable to find primary cluster"));
    }
}
