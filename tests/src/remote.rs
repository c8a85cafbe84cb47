//! A Lifeboat's API by its address and admin token: one in its pod on the test cluster as
//! well as one the harness started on this host.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::server::Lifeboat;

/// The API of one Lifeboat.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The HTTP client (requests time out after 30 s).
    pub http: reqwest::Client,
    /// e.g. `http://127.0.0.5:8080`
    pub url: String,
    /// The admin bearer token.
    pub token: String,
}

impl Remote {
    /// The Lifeboat at `url`, signed in with `token`.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            // Building a client with a timeout only fails without a TLS backend; then the
            // default client (no timeout) is better than none.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            url: url.into(),
            token: token.into(),
        }
    }

    /// The Lifeboat the harness started.
    pub fn of(server: &Lifeboat) -> Self {
        Self::new(server.url.clone(), server.token.clone())
    }

    /// `method /api/v1<path>` with an optional JSON body: the status and the JSON answer
    /// (`null` when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// The operation `id` once it is no longer pending or running (at most `secs`).
    pub async fn wait(&self, id: &str, secs: u64) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            // A failed answer (a restarting Lifeboat, a 5xx) is asked again, not an end.
            let answer = self
                .call(reqwest::Method::GET, &format!("/operations/{id}"), None)
                .await;
            if let Ok((200, op)) = &answer
                && !matches!(op["status"].as_str(), Some("pending" | "running"))
            {
                return Ok(op.clone());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("operation {id} did not end within {secs} s: {answer:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Starts an operation with `POST /api/v1<path>` (it must be accepted with `202`) and
    /// waits for its end (at most `secs`); returns the operation and the wall time.
    pub async fn run(
        &self,
        path: &str,
        body: Value,
        secs: u64,
    ) -> anyhow::Result<(Value, Duration)> {
        let started = tokio::time::Instant::now();
        let (status, op) = self.call(reqwest::Method::POST, path, Some(body)).await?;
        if status != 202 {
            bail!("POST {path}: {status} {op}");
        }
        let id = op["id"].as_str().context("no operation id")?.to_owned();
        let op = self.wait(&id, secs).await?;
        Ok((op, started.elapsed()))
    }
}

/// Whether an operation ended well (with or without warnings).
pub fn succeeded(op: &Value) -> bool {
    matches!(
        op["status"].as_str(),
        Some("succeeded" | "succeeded_with_warnings")
    )
}

/// The detail of step `id` of an operation (empty when it has none).
pub fn step_detail(op: &Value, id: &str) -> String {
    op["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["id"] == id)
        .and_then(|s| s["detail"].as_str())
        .unwrap_or_default()
        .to_owned()
}
