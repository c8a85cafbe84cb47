//! Load on the API while backups run (issue 15): 200 clients on the live stream and 50
//! reads a second for 5 minutes, while Backup Now runs back to back. A benchmark: it
//! prints the backups' time against idle ones of the same data in the same run (goal:
//! within 10 %), the reads' latency percentiles (goal: p99 under 100 ms) and what the
//! stream clients saw; it asserts behaviour only: every read answered `200`, every backup
//! succeeded, and every client saw every backup's final state. Run:
//!
//! ```bash
//! make bench       # the full load (LIFEBOAT_LOAD_SECONDS=300, 200 clients, 50 reads/s)
//! LIFEBOAT_LOAD_SECONDS=20 LIFEBOAT_LOAD_CLIENTS=20 LIFEBOAT_LOAD_RPS=10 \
//!   cargo test -p lifeboat-e2e --test api_load -- --ignored --nocapture
//! ```

#![allow(clippy::unwrap_used, clippy::print_stdout)] // A benchmark prints; a panic is a failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifeboat_e2e::live::{Seen, follow, percentile};
use lifeboat_e2e::page::{get_json, open_up, wait_instance};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seconds between an operation's creation and its end, from its own timestamps.
fn took(op: &Value) -> f64 {
    let at = |k: &str| {
        time::OffsetDateTime::parse(
            op[k].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    (at("finished_at") - at("created_at")).as_seconds_f64()
}

/// Runs one Backup Now to its end; returns the finished operation.
async fn backup(server: &Lifeboat, http: &reqwest::Client) -> Value {
    loop {
        let r = http
            .post(format!("{}/api/v1/backups", server.url))
            .json(&json!({"description": "under load"}))
            .send()
            .await
            .unwrap();
        if r.status() == 202 {
            let op: Value = r.json().await.unwrap();
            let id = op["id"].as_str().unwrap();
            return lifeboat_e2e::page::wait_operation(server, id, 600)
                .await
                .unwrap();
        }
        // The previous one is still recording its end.
        assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn median(v: &mut [f64]) -> f64 {
    percentile(v, 50.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: minutes of backups under 200 stream clients and 50 reads a second; prints figures"]
async fn backups_under_api_load() {
    let seconds = setting("LIFEBOAT_LOAD_SECONDS", 300);
    let clients = setting("LIFEBOAT_LOAD_CLIENTS", 200);
    let rps = setting("LIFEBOAT_LOAD_RPS", 50);
    let rows = setting("LIFEBOAT_LOAD_ROWS", 400_000);
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path()).unwrap();
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    wait_instance(&server).await.unwrap();
    let instance = get_json(&server, "/instance").await.unwrap();
    let demo = lifeboat_e2e::instance::Instance::from_json(&instance).unwrap();
    demo.psql(
        "keycloak",
        &format!(
            "CREATE TABLE ballast AS SELECT g, repeat(md5(g::text), 16) AS pad FROM generate_series(1, {rows}) g"
        ),
    )
    .await
    .unwrap();
    demo.psql("keycloak", "CHECKPOINT").await.unwrap();
    let http = server.api();

    // Idle: three backups of the same data.
    let mut idle: Vec<f64> = Vec::new();
    for _ in 0..3 {
        let op = backup(&server, &http).await;
        assert_eq!(op["status"], "succeeded", "{op:#}");
        idle.push(took(&op));
    }

    // Loaded: the stream clients, the readers, and backups back to back.
    let window = Duration::from_secs(seconds);
    let followers: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(follow(
                http.clone(),
                server.url.clone(),
                window + Duration::from_secs(20),
            ))
        })
        .collect();
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let readers = {
        let (http, base) = (http.clone(), server.url.clone());
        let (latencies, failures) = (latencies.clone(), failures.clone());
        tokio::spawn(async move {
            let paths = ["/operations", "/backups", "/instance", "/health", "/config"];
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rps as f64));
            let end = tokio::time::Instant::now() + window;
            let mut n = 0_usize;
            let mut inflight = Vec::new();
            while tokio::time::Instant::now() < end {
                tick.tick().await;
                let url = format!("{base}/api/v1{}", paths[n % paths.len()]);
                n += 1;
                let (http, latencies, failures) =
                    (http.clone(), latencies.clone(), failures.clone());
                inflight.push(tokio::spawn(async move {
                    let started = Instant::now();
                    match http.get(&url).send().await {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            latencies
                                .lock()
                                .unwrap()
                                .push(started.elapsed().as_secs_f64() * 1000.0);
                        }
                        Ok(r) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{url}: {}", r.status())),
                        Err(e) => failures.lock().unwrap().push(format!("{url}: {e}")),
                    }
                }));
            }
            for t in inflight {
                let _ = t.await;
            }
        })
    };
    let started = Instant::now();
    let mut loaded: Vec<f64> = Vec::new();
    let mut ids = Vec::new();
    while started.elapsed() < window {
        let op = backup(&server, &http).await;
        assert_eq!(op["status"], "succeeded", "{op:#}");
        loaded.push(took(&op));
        ids.push((
            op["id"].as_str().unwrap().to_owned(),
            op["revision"].as_u64().unwrap(),
        ));
    }
    readers.await.unwrap();
    let mut seen: Vec<Seen> = Vec::new();
    for f in followers {
        seen.push(f.await.unwrap());
    }

    let missed: Vec<String> = seen
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            ids.iter().filter_map(move |(id, rev)| match s.ops.get(id) {
                Some((r, status)) if r == rev && status == "succeeded" => None,
                other => Some(format!("client {i}: {id} last seen as {other:?}")),
            })
        })
        .collect();
    let failures = failures.lock().unwrap().clone();
    let mut lat = latencies.lock().unwrap().clone();
    let (idle_m, loaded_m) = (median(&mut idle), median(&mut loaded));
    println!(
        "API load: {clients} stream clients, {rps} reads/s for {seconds} s, local folder bucket"
    );
    println!(
        "  backups idle   {:>2} runs, median {idle_m:.2} s ({idle:.2?})",
        idle.len()
    );
    println!(
        "  backups loaded {:>2} runs, median {loaded_m:.2} s ({loaded:.2?})",
        loaded.len()
    );
    println!(
        "  ratio loaded / idle: {:.3} (goal <= 1.10)",
        loaded_m / idle_m
    );
    println!(
        "  reads: {} answered, {} failed; p50 {:.1} ms, p99 {:.1} ms (goal < 100), max {:.1} ms",
        lat.len(),
        failures.len(),
        percentile(&mut lat, 50.0),
        percentile(&mut lat, 99.0),
        percentile(&mut lat, 100.0)
    );
    println!(
        "  stream: {} clients, {} events read, {} reconnects, {} updates missed",
        seen.len(),
        seen.iter().map(|s| s.events).sum::<u64>(),
        seen.iter().map(|s| s.reconnects).sum::<u64>(),
        missed.len()
    );
    assert!(failures.is_empty(), "reads failed: {failures:#?}");
    assert!(
        missed.is_empty(),
        "clients left without updates: {missed:#?}"
    );
    server.stop().await.unwrap();
}
