//! WAL segment names in pgBackRest's archive, and the gaps between them.
//!
//! pgBackRest stores each segment as `<24 hex name>-<sha1>[.<ext>]` under
//! `archive/<stanza>/<pg version>-<id>/<first 16 hex>/`. A segment missing between two
//! archived ones (pgBackRest dropped it when its queue was full) is a hole in the window:
//! no restore can replay past it.

use std::path::Path;

/// Segments per 4 GiB "log" file number at 16 MiB segments: `00000000000000FF` is the last.
const SEGMENTS_PER_LOG: u64 = 0x100;

/// One archived segment: its timeline, its position, and when it was archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The timeline (first 8 hex digits).
    pub timeline: u32,
    /// Its position in the timeline's WAL (log × 256 + segment).
    pub number: u64,
    /// When it was archived (the file's modification time), seconds since the epoch.
    pub archived_at: i64,
}

/// Parses a segment file's name (`000000010000000000000003-<sha1>.lz4`); `None` for
/// anything else (history files, `.backup` files, temporary files).
pub fn parse(file_name: &str) -> Option<(u32, u64)> {
    let name = file_name.get(..24)?;
    if !name.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let rest = &file_name[24..];
    if !rest.starts_with('-') || rest.contains(".tmp") {
        return None;
    }
    let timeline = u32::from_str_radix(&name[..8], 16).ok()?;
    let log = u64::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u64::from_str_radix(&name[16..24], 16).ok()?;
    Some((timeline, log * SEGMENTS_PER_LOG + seg))
}

/// Every archived segment below `archive` (the stanza's archive folder), in order.
pub fn list(archive: &Path) -> std::io::Result<Vec<Segment>> {
    let mut out = Vec::new();
    let mut stack = vec![archive.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
                continue;
            }
            let Some((timeline, number)) = parse(&entry.file_name().to_string_lossy()) else {
                continue;
            };
            let archived_at = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64);
            out.push(Segment {
                timeline,
                number,
                archived_at,
            });
        }
    }
    out.sort_by_key(|s| (s.timeline, s.number));
    out.dedup_by_key(|s| (s.timeline, s.number));
    Ok(out)
}

/// A run of missing segments: archived before it at `from`, the next after it at `to`
/// (seconds since the epoch), and how many are missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// When the last segment before the gap was archived.
    pub from: i64,
    /// When the first segment after it was archived.
    pub to: i64,
    /// Segments missing.
    pub missing: u64,
}

/// The gaps in each timeline's run of segments (`segments` in order, as [`list`] gives).
pub fn gaps(segments: &[Segment]) -> Vec<Gap> {
    segments
        .windows(2)
        .filter(|w| w[0].timeline == w[1].timeline && w[1].number > w[0].number + 1)
        .map(|w| Gap {
            from: w[0].archived_at,
            to: w[1].archived_at,
            missing: w[1].number - w[0].number - 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(timeline: u32, number: u64, at: i64) -> Segment {
        Segment {
            timeline,
            number,
            archived_at: at,
        }
    }

    #[test]
    fn names_parse_to_timeline_and_position() {
        assert_eq!(
            parse("000000010000000000000003-7a1c0f8e3b0d3b6f8c2a1e9d0b7c6a5f4e3d2c1b.lz4"),
            Some((1, 3))
        );
        assert_eq!(
            parse("0000000200000001000000FF-7a1c0f8e3b0d3b6f8c2a1e9d0b7c6a5f4e3d2c1b"),
            Some((2, 0x1FF))
        );
        assert_eq!(parse("00000002.history"), None);
        assert_eq!(
            parse("000000010000000000000003.00000028.backup"),
            None,
            "a backup's label file is no segment"
        );
        assert_eq!(
            parse("000000010000000000000003-abc.lz4.pgbackrest.tmp"),
            None
        );
        assert_eq!(parse("archive.info"), None);
    }

    #[test]
    fn a_missing_run_of_segments_is_a_gap_from_the_one_before_to_the_one_after() {
        let s = [
            seg(1, 1, 100),
            seg(1, 2, 160),
            seg(1, 6, 400),
            seg(1, 7, 460),
            // A new timeline starts where it starts: no gap across timelines.
            seg(2, 9, 500),
            seg(2, 10, 560),
        ];
        assert_eq!(
            gaps(&s),
            vec![Gap {
                from: 160,
                to: 400,
                missing: 3
            }]
        );
        assert!(gaps(&s[..2]).is_empty());
    }

    #[test]
    fn the_archive_folder_is_read_recursively_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("system/15-1/0000000100000000");
        std::fs::create_dir_all(&sub).unwrap();
        for name in [
            "000000010000000000000004-aa.lz4",
            "000000010000000000000002-bb.lz4",
            "000000010000000000000002-bb.lz4.pgbackrest.tmp",
        ] {
            std::fs::write(sub.join(name), b"x").unwrap();
        }
        std::fs::write(dir.path().join("system/archive.info"), b"x").unwrap();
        let listed = list(dir.path()).unwrap();
        assert_eq!(
            listed.iter().map(|s| s.number).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(gaps(&listed).len(), 1);
    }
}
