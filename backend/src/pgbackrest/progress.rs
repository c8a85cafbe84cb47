//! pgBackRest's per-file progress, from its detail log lines:
//! `… P01 DETAIL: backup file /pg/base/5/1255 (768KB, 3.42%) checksum …`.
//!
//! The percent is of the whole backup (cumulative), the size is the file's. pgBackRest 2.45
//! has no other progress (its `info` only says a backup is running).

/// One copied file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileProgress {
    /// The file in the data directory.
    pub path: String,
    /// Its size in bytes (as printed, so rounded to pgBackRest's unit).
    pub size_bytes: u64,
    /// How much of the whole backup is done, `0.0..=100.0`.
    pub percent: f64,
}

/// Parses a `backup file` or `restore file` detail line; anything else is `None`.
pub fn parse_detail_line(line: &str) -> Option<FileProgress> {
    let (_, rest) = line.split_once("DETAIL: ")?;
    let rest = rest
        .strip_prefix("backup file ")
        .or_else(|| rest.strip_prefix("restore file "))?;
    let open = rest.rfind(" (")?;
    let path = &rest[..open];
    let inner = &rest[open + 2..];
    let inner = &inner[..inner.find(')')?];
    let mut parts = inner.split(", ");
    let size_bytes = parse_size(parts.next()?)?;
    let percent = parts
        .filter_map(|p| p.strip_suffix('%'))
        .find_map(|p| p.parse::<f64>().ok())?;
    Some(FileProgress {
        path: path.to_owned(),
        size_bytes,
        percent: percent.clamp(0.0, 100.0),
    })
}

/// `0B`, `768KB`, `384.2MB`, `1.5GB`, `2TB` → bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit {
        "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &str = include_str!("testdata/backup-detail.log");

    #[test]
    fn parses_captured_backup_output() {
        let files: Vec<FileProgress> = CAPTURED.lines().filter_map(parse_detail_line).collect();
        assert_eq!(files.len(), 13, "{files:?}");
        assert!(files.iter().all(|f| f.path.starts_with("/tmp/cap/pg/")));
        // Empty files always say 100.00%; for the others the percent only grows.
        let sized: Vec<&FileProgress> = files.iter().filter(|f| f.size_bytes > 0).collect();
        assert!(sized.windows(2).all(|w| w[0].percent <= w[1].percent));
        assert!(
            files
                .iter()
                .filter(|f| f.size_bytes == 0)
                .all(|f| f.percent == 100.0)
        );
        // Non-file lines, including `DETAIL: wrote 'backup_label'`, are ignored.
        assert!(parse_detail_line(CAPTURED.lines().last().unwrap()).is_none());
        assert!(CAPTURED.lines().any(|l| l.contains("DETAIL: wrote")));
    }

    #[test]
    fn reads_sizes_and_percent() {
        let f = parse_detail_line(
            "2026-11-25 11:36:30.137 P01 DETAIL: backup file /d/pg/base/5/16400 (384.2MB, 81.61%) checksum abc",
        )
        .unwrap();
        assert_eq!(f.path, "/d/pg/base/5/16400");
        assert_eq!(f.size_bytes, (384.2 * 1024.0 * 1024.0_f64).round() as u64);
        assert!((f.percent - 81.61).abs() < 1e-9);
        let z =
            parse_detail_line("P02 DETAIL: backup file /d/pg/global/6243 (0B, 100.00%)").unwrap();
        assert_eq!((z.size_bytes, z.percent), (0, 100.0));
        let r = parse_detail_line(
            "P01 DETAIL: restore file /d/pg/base/1/1255 (768KB, 3.42%) checksum x",
        )
        .unwrap();
        assert_eq!(r.size_bytes, 768 * 1024);
        assert!(parse_detail_line("P00 DETAIL: backup file /x (garbage)").is_none());
        assert!(parse_detail_line("P00   INFO: new backup label = 20261125-113629F").is_none());
    }
}
