//! Measuring for progress and pre-flight: folder sizes, free disk space, rates and ETAs,
//! and sizes for people.

use std::time::Instant;

use lifeboat_shared::operation::Progress;

pub use crate::disk::human;

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

/// Turns pgBackRest's `DETAIL: backup|restore file … (size, pct%)` lines into progress:
/// bytes done, and the total from `known_total` or else estimated as done ÷ pct (empty
/// files always say 100 %, so only sized files count).
#[derive(Debug)]
pub struct PgbackrestProgress {
    started: Instant,
    done: u64,
    total: Option<u64>,
    known_total: bool,
}

impl PgbackrestProgress {
    /// A tracker starting now.
    pub fn new(known_total: Option<u64>) -> Self {
        Self {
            started: Instant::now(),
            done: 0,
            total: known_total.filter(|t| *t > 0),
            known_total: known_total.is_some_and(|t| t > 0),
        }
    }

    /// The progress after `line`, if it is a file line.
    pub fn line(&mut self, line: &str) -> Option<Progress> {
        let f = crate::pgbackrest::parse_detail_line(line)?;
        self.done += f.size_bytes;
        if !self.known_total && f.size_bytes > 0 && f.percent > 0.0 {
            self.total = Some((self.done as f64 * 100.0 / f.percent) as u64);
        }
        Some(rate_and_eta(
            Progress {
                bytes_done: self.done,
                bytes_total: self.total.map(|t| t.max(self.done)),
                current: Some(readable_item(&f.path)),
                ..Progress::default()
            },
            self.started,
        ))
    }

    /// Bytes seen so far.
    pub fn done(&self) -> u64 {
        self.done
    }
}

/// What a tool is working on, for people, from the path it printed: never a path on the
/// server (which says nothing to an admin and tells a stranger where the data lives), but
/// what the file is and the part of the path that names it. PostgreSQL keeps a table as
/// `base/<database>/<file>`; the databases every cluster has are named, the others counted
/// by their number, and catalog files (numbers under 16384) are called what they are.
pub fn readable_item(path: &str) -> String {
    const PG_DIRS: [&str; 4] = ["base/", "global/", "pg_wal/", "pg_xact/"];
    let start = PG_DIRS
        .iter()
        .filter_map(|d| {
            path.rfind(&format!("/{d}"))
                .map(|i| i + 1)
                .or_else(|| path.starts_with(d).then_some(0))
        })
        .min();
    if let Some(i) = start {
        let rel = &path[i..];
        let mut parts = rel.split('/');
        let what = match (parts.next(), parts.next(), parts.next()) {
            (Some("base"), Some(db), Some(file)) => {
                let db = match db {
                    "1" => "template1".to_owned(),
                    "4" => "template0".to_owned(),
                    "5" => "postgres".to_owned(),
                    n => format!("database {n}"),
                };
                let number: Option<u32> = file
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok());
                match number {
                    Some(n) if n < 16_384 => format!("system catalog of {db}"),
                    _ => format!("table data of {db}"),
                }
            }
            (Some("global"), ..) => "cluster-wide catalog".to_owned(),
            (Some("pg_wal"), ..) => "write-ahead log".to_owned(),
            _ => "transaction status".to_owned(),
        };
        return format!("{what} ({rel})");
    }
    if let Some(i) = path.rfind("/config/").map(|i| i + 1) {
        return format!("configuration file {}", &path[i + "config/".len()..]);
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    format!("pgBackRest file {name}")
}

/// An exit code for messages (`killed` for a signal).
pub fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(|| "killed".into(), |c| c.to_string())
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
    fn items_are_named_without_server_paths() {
        let data = "/srv/lifeboat/data/instances/demo/pg";
        assert_eq!(
            readable_item(&format!("{data}/base/4/1255")),
            "system catalog of template0 (base/4/1255)"
        );
        assert_eq!(
            readable_item(&format!("{data}/base/16384/16397_fsm")),
            "table data of database 16384 (base/16384/16397_fsm)"
        );
        assert_eq!(
            readable_item("/x/staging/pgbackrest/backup/system/20261201F/pg_data/global/1262"),
            "cluster-wide catalog (global/1262)"
        );
        assert_eq!(
            readable_item("/x/staging/config/apps/dash.yaml"),
            "configuration file apps/dash.yaml"
        );
        assert_eq!(
            readable_item("/x/staging/pgbackrest/backup/system/backup.info"),
            "pgBackRest file backup.info"
        );
        assert_eq!(
            readable_item("base/5/1"),
            "system catalog of postgres (base/5/1)"
        );
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
    fn pgbackrest_lines_give_bytes_and_a_total() {
        let line = |size: &str, pct: &str| {
            format!("P01 DETAIL: backup file /pg/base/5/1 ({size}, {pct}%) checksum x")
        };
        let mut estimated = PgbackrestProgress::new(None);
        assert!(estimated.line("P00 INFO: backup start").is_none());
        let p = estimated.line(&line("1KB", "10.00")).unwrap();
        assert_eq!((p.bytes_done, p.bytes_total), (1024, Some(10240)));
        // An empty file says 100 % and must not end the estimate.
        let p = estimated.line(&line("0B", "100.00")).unwrap();
        assert_eq!(p.bytes_total, Some(10240));
        let mut known = PgbackrestProgress::new(Some(4096));
        let p = known.line(&line("1KB", "50.00")).unwrap();
        assert_eq!((p.bytes_done, p.bytes_total), (1024, Some(4096)));
        assert_eq!(known.done(), 1024);
    }
}
