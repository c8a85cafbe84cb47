//! Shared by the `config_*` tests: the real app factory over a temporary data dir, driven
//! in-process with `oneshot`, recording every response for the secret-grep test.
#![allow(dead_code, clippy::unwrap_used)] // Each test binary uses part of it.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use lifeboat::app::app;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::state::{AppState, Settings};
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub router: axum::Router,
    pub responses: Arc<Mutex<Vec<String>>>,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().join("data"),
            static_dir: dir.path().join("dist"),
            allowed_origins: vec![],
        };
        std::fs::create_dir_all(&settings.data_dir).unwrap();
        let state = lifeboat::cli::local_state(settings, Toolbox::discover(), None);
        let router = app(state.clone());
        Self {
            dir,
            state,
            router,
            responses: Arc::default(),
        }
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.state.settings().data_dir.clone()
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        let req = match body {
            Some(b) => req.body(Body::from(b.to_string())).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.responses.lock().unwrap().push(text.clone());
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get_config(&self) -> Value {
        let (s, v) = self.call(Method::GET, "/api/v1/config", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    pub async fn put_config(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, "/api/v1/config", Some(body)).await
    }

    pub async fn verify(&self, body: Option<Value>) -> Value {
        let (s, v) = self.call(Method::POST, "/api/v1/config/verify", body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }
}

/// The check with `id` in a verify report.
pub fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report}"))
}

pub fn local_config(path: &str) -> Value {
    json!({"provider": {"provider": "local", "path": path}})
}

/// Runs restic with `env` and returns (success, stdout, stderr).
pub async fn restic(repo: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new("restic")
        .args(args)
        .env("RESTIC_REPOSITORY", repo)
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A TCP listener on 127.0.0.1 that accepts connections and never answers.
pub async fn hanging_endpoint() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (port, task)
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
