//! Measuring for progress and pre-flight: folder sizes, free disk space, rates and ETAs,
//! and sizes for people.

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
}
