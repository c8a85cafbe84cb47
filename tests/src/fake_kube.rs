//! A fake Kubernetes API server on 127.0.0.1 for the Kubernetes secret source's tests
//! (`backend/tests/secrets_kube.rs`): an in-process axum server that keeps Secrets in memory
//! per namespace. Point a client at it with `kube::Config::new(fake.url().parse()?)` — plain
//! HTTP, no authentication.
//!
//! What it fakes, answering as a real API server (v1.33) does, byte for byte where it matters
//! to a client:
//! - `GET /api/v1/namespaces/{ns}/secrets/{name}` — `200` with a `v1` `Secret`: `kind`,
//!   `apiVersion`, `metadata` (`name`, `namespace`, `uid`, `resourceVersion`,
//!   `creationTimestamp`), `type: Opaque` and base64 `data` (omitted when empty); never
//!   `stringData`, which the real server folds into `data` on write and never returns.
//! - `404` for a Secret (or namespace) that does not exist and `403` for a namespace made
//!   forbidden, as `v1` `Status` objects (`status: Failure`, `message`, `reason`, `details`
//!   with `name` and `kind: secrets`, `code`), with the real servers' messages. Authorization
//!   comes first, as on a real server: a forbidden namespace answers `403` whether or not the
//!   Secret exists.
//! - Any other path answers `404` `Status` "the server could not find the requested
//!   resource", as for an unknown path; any other method on a Secret's path answers `405`
//!   `MethodNotAllowed`.
//! - Every request is counted and recorded (`METHOD /path?query`).
//!
//! `kube::Api::get` needs no discovery (the path is built from k8s-openapi's static type
//! information), so there are no discovery endpoints.
//!
//! What it does not fake: authentication (any or no token is accepted), TLS, creating,
//! updating, listing, watching or deleting through the API (tests add Secrets with
//! [`FakeKube::add_secret`] or [`FakeKube::apply_secret`]), `resourceVersion` preconditions,
//! field/label selectors, protobuf, `managedFields`, audit headers, and the real
//! `creationTimestamp` (a fixed one is returned).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context as _, bail};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

/// The fixed `creationTimestamp` of every Secret.
pub const CREATION_TIMESTAMP: &str = "2025-01-01T00:00:00Z";

#[derive(Debug)]
struct StoredSecret {
    data: BTreeMap<String, Vec<u8>>,
    uid: String,
    resource_version: u64,
}

#[derive(Debug, Default)]
struct State {
    /// `(namespace, name)` → Secret.
    secrets: BTreeMap<(String, String), StoredSecret>,
    forbidden: BTreeSet<String>,
    requests: Vec<String>,
    /// The last `resourceVersion` handed out (one counter per server, like etcd's revision).
    revision: u64,
}

/// The fake API server; stops when dropped.
#[derive(Debug)]
pub struct FakeKube {
    url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKube {
    /// Starts a server on a free port of 127.0.0.1 (on the current Tokio runtime).
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri| {
            let state = shared.clone();
            async move { handle(&state, &method, &uri) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, state, task })
    }

    /// The server's URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Creates or replaces a Secret with these keys and values, as
    /// `kubectl -n <namespace> create secret generic <name> --from-literal=KEY=VALUE …` does.
    pub fn add_secret<K, V>(
        &self,
        namespace: &str,
        name: &str,
        data: impl IntoIterator<Item = (K, V)>,
    ) where
        K: Into<String>,
        V: AsRef<[u8]>,
    {
        let data = data
            .into_iter()
            .map(|(k, v)| (k.into(), v.as_ref().to_vec()))
            .collect();
        self.store(namespace, name, data);
    }

    /// Creates or replaces a Secret from a manifest, as `kubectl apply -f` sends it: base64
    /// `data` and/or plain `stringData` (which wins per key and is folded into `data`, as the
    /// API server does). `metadata.name` names it; the manifest's namespace, if any, must be
    /// `namespace`.
    pub fn apply_secret(&self, namespace: &str, manifest: &Value) -> anyhow::Result<()> {
        if manifest["kind"] != "Secret" || manifest["apiVersion"] != "v1" {
            bail!("not a v1 Secret manifest");
        }
        let name = manifest["metadata"]["name"]
            .as_str()
            .context("the manifest has no metadata.name")?;
        if let Some(ns) = manifest["metadata"]["namespace"].as_str()
            && ns != namespace
        {
            bail!("the manifest's namespace {ns:?} is not {namespace:?}");
        }
        let mut data = BTreeMap::new();
        if let Some(map) = manifest["data"].as_object() {
            for (k, v) in map {
                let text = v.as_str().context("a data value is not a string")?;
                let bytes = BASE64
                    .decode(text)
                    .with_context(|| format!("data[{k:?}] is not base64"))?;
                data.insert(k.clone(), bytes);
            }
        }
        if let Some(map) = manifest["stringData"].as_object() {
            for (k, v) in map {
                let text = v.as_str().context("a stringData value is not a string")?;
                data.insert(k.clone(), text.as_bytes().to_vec());
            }
        }
        self.store(namespace, name, data);
        Ok(())
    }

    fn store(&self, namespace: &str, name: &str, data: BTreeMap<String, Vec<u8>>) {
        let mut state = self.state();
        state.revision += 1;
        let resource_version = state.revision;
        let key = (namespace.to_owned(), name.to_owned());
        let uid = match state.secrets.get(&key) {
            Some(old) => old.uid.clone(),
            None => format!("6c1f0c2e-0000-4000-8000-{resource_version:012x}"),
        };
        state.secrets.insert(
            key,
            StoredSecret {
                data,
                uid,
                resource_version,
            },
        );
    }

    /// Deletes a Secret, as `kubectl delete secret` does.
    pub fn delete_secret(&self, namespace: &str, name: &str) {
        self.state()
            .secrets
            .remove(&(namespace.to_owned(), name.to_owned()));
    }

    /// Makes every request in `namespace` answer `403 Forbidden`, as when the caller's
    /// service account has no Role granting it.
    pub fn forbid_namespace(&self, namespace: &str) {
        self.state().forbidden.insert(namespace.to_owned());
    }

    /// How many requests the server has answered.
    pub fn request_count(&self) -> usize {
        self.state().requests.len()
    }

    /// The requests answered so far, oldest first, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn handle(state: &Mutex<State>, method: &Method, uri: &Uri) -> Response {
    let mut state = lock(state);
    state.requests.push(format!(
        "{method} {}",
        uri.path_and_query().map_or(uri.path(), |pq| pq.as_str())
    ));
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let ["api", "v1", "namespaces", namespace, "secrets", name] = segments[..] else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
            json!({}),
        );
    };
    let details = json!({"name": name, "kind": "secrets"});
    if state.forbidden.contains(namespace) {
        let verb = if method == Method::GET {
            "get"
        } else {
            "access"
        };
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "secrets \"{name}\" is forbidden: User \"system:serviceaccount:{namespace}:lifeboat\" \
                 cannot {verb} resource \"secrets\" in API group \"\" in the namespace \"{namespace}\""
            ),
            details,
        );
    }
    if method != Method::GET {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("the fake API server does not implement {method} on secrets"),
            details,
        );
    }
    match state.secrets.get(&(namespace.to_owned(), name.to_owned())) {
        None => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("secrets \"{name}\" not found"),
            details,
        ),
        Some(secret) => {
            let mut body = json!({
                "kind": "Secret",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": secret.uid,
                    "resourceVersion": secret.resource_version.to_string(),
                    "creationTimestamp": CREATION_TIMESTAMP,
                },
                "type": "Opaque",
            });
            if !secret.data.is_empty() {
                let data: serde_json::Map<String, Value> = secret
                    .data
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(BASE64.encode(v))))
                    .collect();
                body["data"] = Value::Object(data);
            }
            json_response(StatusCode::OK, &body)
        }
    }
}

/// A `v1` `Status` failure, as the API server sends for every error.
fn status(code: StatusCode, reason: &str, message: &str, details: Value) -> Response {
    json_response(
        code,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details,
            "code": code.as_u16(),
        }),
    )
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
