//! Helpers for the tests that drive the real `lifeboat` binary over HTTP.

use std::time::Duration;

use serde_json::Value;

/// GET `url`: status and JSON body (`null` when not JSON).
pub async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// POST `body` to `url`: status and JSON body.
pub async fn post(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let r = http.post(url).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits until `GET /api/v1/instance` answers 200.
pub async fn wait_instance(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if get(http, &format!("{base}/api/v1/instance")).await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the instance did not come up");
}

/// Polls `url` until `done` says yes.
pub async fn wait_until(
    http: &reqwest::Client,
    url: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (_, op) = get(http, url).await;
        if done(&op) {
            return op;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {op:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether an operation (as JSON) has ended.
pub fn ended(op: &Value) -> bool {
    !matches!(op["status"].as_str(), Some("pending" | "running"))
}

/// Whether step `id` of an operation (as JSON) is running.
pub fn step_running(op: &Value, id: &str) -> bool {
    op["steps"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s["id"] == id && s["status"] == "running"))
}
