//! The typed client of the Lifeboat API, over the shared wire types.

use std::rc::Rc;

use gloo_net::http::{Request, RequestBuilder, Response};
use lifeboat_shared::backup::{BackupList, InstanceInfo, StartBackup, StartRestore};
use lifeboat_shared::config::{ConfigView, PutConfig, SaveResult, VerifyReport};
use lifeboat_shared::operation::{Operation, OperationList};
use lifeboat_shared::{API_PREFIX, ApiError, Health};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A failed call, in words the page can show.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The server could not be reached (or answered with something that is not our API).
    Network(String),
    /// The server answered with an error.
    Server(ApiError),
}

impl ApiFailure {
    /// The sentence to show.
    pub fn message(&self) -> String {
        match self {
            Self::Network(m) => format!("Cannot reach the Lifeboat server: {m}"),
            Self::Server(e) => e.message.clone(),
        }
    }

    /// What to do about it, when known.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Network(_) => Some("Check that Lifeboat is running, then try again.".to_owned()),
            Self::Server(e) => e.hint.clone(),
        }
    }

    /// The server's error code, when it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Network(_) => None,
            Self::Server(e) => Some(&e.code),
        }
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Network(m) => write!(f, "Cannot reach the Lifeboat server: {m}"),
            Self::Server(e) => write!(f, "{e}"),
        }
    }
}

/// Percent-encodes one path segment (ids are plain, but a URL is never built from raw text).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The API client; cheap to clone, shared through a Yew context.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    base: Rc<str>,
}

impl Api {
    /// A client for the API at `api_base` (empty: this page's origin).
    pub fn new(api_base: &str) -> Self {
        Self {
            base: Rc::from(format!("{api_base}{API_PREFIX}")),
        }
    }

    /// The full URL of an API path such as `/health`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The URL of the operations event stream (server-sent events).
    pub fn events_url(&self) -> String {
        self.url("/operations/events")
    }

    /// `GET /api/v1/health`.
    pub async fn health(&self) -> Result<Health, ApiFailure> {
        self.get_json("/health").await
    }

    /// `GET /api/v1/config`.
    pub async fn config(&self) -> Result<ConfigView, ApiFailure> {
        self.get_json("/config").await
    }

    /// `PUT /api/v1/config`: saves and verifies.
    pub async fn put_config(&self, body: &PutConfig) -> Result<SaveResult, ApiFailure> {
        let req = Request::put(&self.url("/config"));
        self.send_json(req, body, "/config").await
    }

    /// `POST /api/v1/config/verify`: verifies `candidate`, or the saved configuration.
    pub async fn verify(&self, candidate: Option<&PutConfig>) -> Result<VerifyReport, ApiFailure> {
        let req = Request::post(&self.url("/config/verify"));
        match candidate {
            Some(body) => self.send_json(req, body, "/config/verify").await,
            None => Self::read(with_csrf(req).send().await, "/config/verify").await,
        }
    }

    /// `GET /api/v1/backups`, newest first.
    pub async fn backups(&self) -> Result<BackupList, ApiFailure> {
        self.get_json("/backups").await
    }

    /// `POST /api/v1/backups`: starts a backup.
    pub async fn start_backup(&self, body: &StartBackup) -> Result<Operation, ApiFailure> {
        let req = Request::post(&self.url("/backups"));
        self.send_json(req, body, "/backups").await
    }

    /// `POST /api/v1/backups/{id}/restore`: starts a restore.
    pub async fn start_restore(
        &self,
        backup_id: &str,
        body: &StartRestore,
    ) -> Result<Operation, ApiFailure> {
        let path = format!("/backups/{}/restore", segment(backup_id));
        let req = Request::post(&self.url(&path));
        self.send_json(req, body, &path).await
    }

    /// `GET /api/v1/instance`.
    pub async fn instance(&self) -> Result<InstanceInfo, ApiFailure> {
        self.get_json("/instance").await
    }

    /// `GET /api/v1/operations`, newest first.
    pub async fn operations(&self) -> Result<OperationList, ApiFailure> {
        self.get_json("/operations").await
    }

    /// `GET /api/v1/operations/{id}`.
    pub async fn operation(&self, id: &str) -> Result<Operation, ApiFailure> {
        self.get_json(&format!("/operations/{}", segment(id))).await
    }

    /// `POST /api/v1/operations/{id}/cancel`.
    pub async fn cancel(&self, id: &str) -> Result<(), ApiFailure> {
        let path = format!("/operations/{}/cancel", segment(id));
        let resp = with_csrf(Request::post(&self.url(&path)))
            .send()
            .await
            .map_err(|e| ApiFailure::Network(e.to_string()))?;
        if resp.ok() {
            Ok(())
        } else {
            Err(Self::failure(resp, &path).await)
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiFailure> {
        Self::read(Request::get(&self.url(path)).send().await, path).await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        body: &B,
        path: &str,
    ) -> Result<T, ApiFailure> {
        let req = with_csrf(req)
            .json(body)
            .map_err(|e| ApiFailure::Network(e.to_string()))?;
        Self::read(req.send().await, path).await
    }

    async fn read<T: DeserializeOwned>(
        sent: Result<Response, gloo_net::Error>,
        path: &str,
    ) -> Result<T, ApiFailure> {
        let resp = sent.map_err(|e| ApiFailure::Network(e.to_string()))?;
        if resp.ok() {
            resp.json::<T>()
                .await
                .map_err(|e| ApiFailure::Network(e.to_string()))
        } else {
            Err(Self::failure(resp, path).await)
        }
    }

    async fn failure(resp: Response, path: &str) -> ApiFailure {
        let status = resp.status();
        match resp.json::<ApiError>().await {
            Ok(e) => ApiFailure::Server(e),
            Err(_) => ApiFailure::Network(format!("HTTP {status} from {path}")),
        }
    }
}

/// The session's CSRF token, from the `lifeboat_csrf` cookie the server set at sign-in.
fn csrf_token() -> Option<String> {
    use wasm_bindgen::JsCast as _;
    let doc = web_sys::window()?
        .document()?
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?;
    let cookies = doc.cookie().ok()?;
    cookies
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find_map(|(k, v)| (k == "lifeboat_csrf").then(|| v.to_owned()))
}

/// Adds the CSRF header every state-changing call needs with cookie sign-in (bearer callers
/// are exempt server-side, so sending it is always harmless).
fn with_csrf(req: RequestBuilder) -> RequestBuilder {
    match csrf_token() {
        Some(token) => req.header("X-CSRF-Token", &token),
        None => req,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(
            segment("bk-20261125T110705Z-3f9a"),
            "bk-20261125T110705Z-3f9a"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn failures_carry_message_and_hint() {
        let f = ApiFailure::Server(
            ApiError::new("operation_running", "A backup runs").with_hint("Wait"),
        );
        assert_eq!(f.message(), "A backup runs");
        assert_eq!(f.hint().as_deref(), Some("Wait"));
        assert_eq!(f.code(), Some("operation_running"));
        let n = ApiFailure::Network("refused".into());
        assert!(n.message().starts_with("Cannot reach"));
        assert!(n.hint().is_some());
        assert_eq!(n.code(), None);
    }
}
