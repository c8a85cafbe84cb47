//! Watching a running Lifeboat from outside, for the load test and the soak: clients of its
//! live stream (`GET /api/v1/operations/events`) that remember what each operation last
//! looked like, and its process' resident memory and open files over time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

/// What one stream client saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Each operation's newest revision and status.
    pub ops: HashMap<String, (u64, String)>,
    /// Events read.
    pub events: u64,
    /// Times the stream ended and the client connected again (a lagging client is
    /// dropped by the server and resyncs from a new snapshot, as the page does).
    pub reconnects: u64,
}

impl Seen {
    fn saw(&mut self, op: &Value) {
        let (Some(id), Some(rev)) = (op["id"].as_str(), op["revision"].as_u64()) else {
            return;
        };
        let status = op["status"].as_str().unwrap_or_default().to_owned();
        let entry = self.ops.entry(id.to_owned()).or_insert((0, String::new()));
        if rev >= entry.0 {
            *entry = (rev, status);
        }
    }

    /// Reads one SSE block (`event:` and `data:` lines).
    fn block(&mut self, block: &str) {
        let data: String = block
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect();
        let Ok(event) = serde_json::from_str::<Value>(&data) else {
            return; // a keep-alive comment
        };
        self.events += 1;
        match event["type"].as_str() {
            Some("snapshot") => {
                for op in event["operations"].as_array().into_iter().flatten() {
                    self.saw(op);
                }
            }
            Some("upsert") => self.saw(&event["operation"]),
            _ => {}
        }
    }
}

/// Follows the stream of the Lifeboat at `base` (with `http`'s credentials) for `within`,
/// connecting again whenever it ends; returns what it saw.
pub async fn follow(http: reqwest::Client, base: String, within: Duration) -> Seen {
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + within;
    let url = format!("{base}/api/v1/operations/events");
    let mut first = true;
    while tokio::time::Instant::now() < deadline {
        if !first {
            seen.reconnects += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        first = false;
        let read = async {
            let mut resp = http.get(&url).send().await?.error_for_status()?;
            let mut buf = String::new();
            while let Some(chunk) = resp.chunk().await? {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    seen.block(&block);
                }
            }
            anyhow::Ok(())
        };
        let _ = tokio::time::timeout_at(deadline, read).await;
    }
    seen
}

/// One sample of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since sampling began.
    pub at: f64,
    /// Resident memory, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: u64,
}

/// Samples process `pid` every `every` until `stop` resolves.
pub async fn sample(pid: u32, every: Duration, stop: impl Future<Output = ()>) -> Vec<Sample> {
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok());
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count() as u64);
        if let (Some(rss_kib), Ok(fds)) = (rss_kib, fds) {
            samples.push(Sample {
                at: started.elapsed().as_secs_f64(),
                rss_kib,
                fds,
            });
        }
        tokio::select! {
            () = &mut stop => return samples,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// The least-squares slope of `(x, y)` points, in y per unit of x (0 with fewer than two).
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

/// The `p`-th percentile (0–100) of `values` (sorted here), nearest rank.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_snapshots_and_upserts_keeping_the_newest_revision() {
        let mut seen = Seen::default();
        seen.block("event: snapshot\ndata: {\"type\":\"snapshot\",\"operations\":[{\"id\":\"a\",\"revision\":3,\"status\":\"running\"}]}\n\n");
        seen.block("event: upsert\ndata: {\"type\":\"upsert\",\"operation\":{\"id\":\"a\",\"revision\":2,\"status\":\"pending\"}}\n\n");
        seen.block(": keep-alive\n\n");
        seen.block("event: upsert\ndata: {\"type\":\"upsert\",\"operation\":{\"id\":\"a\",\"revision\":4,\"status\":\"succeeded\"}}\n\n");
        assert_eq!(seen.ops["a"], (4, "succeeded".to_owned()));
        assert_eq!(seen.events, 3);
    }

    #[test]
    fn slopes_and_percentiles() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-9);
        assert_eq!(slope(&[(0.0, 1.0)]), 0.0);
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert_eq!(percentile(&mut v, 50.0), 50.0);
    }
}
