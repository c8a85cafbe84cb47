//! Measuring for progress and pre-flight: folder sizes, free disk space, rates and ETAs,
//! and sizes for people.

use std::path::Path;
use std::time::Instant;

use lifeboat_shared::operation::Progress;

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

/// Free bytes on the file system holding `path`, or its nearest existing parent
/// (`None` if it cannot tell).
pub fn available_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let out = std::process::Command::new("df")
        .arg("--output=avail")
        .arg("-B1")
        .arg(existing)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

/// The bytes per second since `started`, once there is something to tell.
pub fn rate(done: u64, started: Instant) -> Option<f64> {
    let secs = started.elapsed().as_secs_f64();
    (secs > 0.5 && done > 0).then(|| done as f64 / secs)
}

/// Fills in the rate since `started` and, with a total, the ETA at that rate.
pub fn rate_and_eta(mut p: Progress, started: Instant) -> Progress {
    p.rate_bytes_per_sec = rate(p.bytes_done, started);
    if let (Some(r), Some(t)) = (p.rate_bytes_per_sec, p.bytes_total) {
        p.eta_seconds = Some(t.saturating_sub(p.bytes_done) as f64 / r);
    }
    p
}

/// An exit code for messages (`killed` for a signal).
pub fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(|| "killed".into(), |c| c.to_string())
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

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(22_992_589), "21.9 MiB");
    }

    #[test]
    fn no_eta_before_there_is_a_rate() {
        let p = rate_and_eta(
            Progress {
                bytes_done: 0,
                bytes_total: Some(10),
                ..Progress::default()
            },
            Instant::now(),
        );
        assert_eq!(p.eta_seconds, None);
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
        assert!(available_bytes(&d.path().join("not/yet")).is_some_and(|b| b > 0));
    }
}
