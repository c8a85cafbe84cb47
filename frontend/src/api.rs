//! The typed client of the Lifeboat API, over the shared wire types.

use std::rc::Rc;

use lifeboat_shared::backup::{AuditEntry, AuditList, BackupList, StartBackup, StartRestore};
use lifeboat_shared::config::{ConfigView, PutConfig, SaveResult, SchedulePreview, VerifyReport};
use lifeboat_shared::operation::{Operation, OperationList};
use lifeboat_shared::{API_PREFIX, ApiError, Health};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::mount::MountOptions;

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

    /// Whether the server answered `401` because no one is signed in (or the session ended).
    pub fn signed_out(&self) -> bool {
        matches!(self.code(), Some("unauthenticated" | "session_expired"))
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
pub fn segment(s: &str) -> String {
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
    /// The host's token provider (the plugin's `getToken`), asked before every call.
    token: Option<js_sys::Function>,
    /// Standalone: the page signs in with its own form (a plugin signs in through its host).
    pub standalone: bool,
}

impl Api {
    /// A client for the API at `options.api_base` (empty: this page's origin), with the
    /// host's token provider when it gave one.
    pub fn new(options: &MountOptions) -> Self {
        Self {
            base: Rc::from(format!("{}{API_PREFIX}", options.api_base)),
            token: options.get_token.clone(),
            standalone: options.standalone,
        }
    }

    /// Whether every call carries the host's bearer token (no cookies, no event stream:
    /// `EventSource` cannot send the header).
    pub fn bearer(&self) -> bool {
        self.token.is_some()
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
        self.send_json("PUT", "/config", body).await
    }

    /// `POST /api/v1/config/verify`: verifies `candidate`, or the saved configuration.
    pub async fn verify(&self, candidate: Option<&PutConfig>) -> Result<VerifyReport, ApiFailure> {
        match candidate {
            Some(body) => self.send_json("POST", "/config/verify", body).await,
            None => decode(self.call("POST", "/config/verify", None).await?).await,
        }
    }

    /// `GET /api/v1/config/schedule`: a schedule in plain words with its next runs, before
    /// it is saved.
    pub async fn schedule_preview(
        &self,
        cron: &str,
        timezone: &str,
    ) -> Result<SchedulePreview, ApiFailure> {
        let path = format!(
            "/config/schedule?cron={}&timezone={}",
            segment(cron),
            segment(timezone)
        );
        self.get_json(&path).await
    }

    /// `GET /api/v1/backups`, newest first.
    pub async fn backups(&self) -> Result<BackupList, ApiFailure> {
        self.get_json("/backups").await
    }

    /// `POST /api/v1/backups`: starts a backup.
    pub async fn start_backup(&self, body: &StartBackup) -> Result<Operation, ApiFailure> {
        self.send_json("POST", "/backups", body).await
    }

    /// `POST /api/v1/backups/{id}/restore`: starts a restore.
    pub async fn start_restore(
        &self,
        backup_id: &str,
        body: &StartRestore,
    ) -> Result<Operation, ApiFailure> {
        let path = format!("/backups/{}/restore", segment(backup_id));
        self.send_json("POST", &path, body).await
    }

    /// `GET /api/v1/instance`'s `namespace`, the one field the page shows. (Read as one
    /// field: `InstanceInfo`'s deserializer, with its apps, costs the bundle kilobytes.)
    pub async fn instance_namespace(&self) -> Result<String, ApiFailure> {
        let value = json(&self.call("GET", "/instance", None).await?).await;
        value
            .and_then(|v| js_sys::Reflect::get(&v, &"namespace".into()).ok())
            .and_then(|n| n.as_string())
            .ok_or_else(|| ApiFailure::Network("the answer names no namespace".to_owned()))
    }

    /// `GET /api/v1/audit?limit=20&offset=…`: a page of the audit trail, newest first,
    /// sign-ins left out when `hide_sign_ins`. Read field by field rather than through
    /// serde: its deserializer for one more struct costs the bundle several kilobytes, and
    /// every field is a string.
    pub async fn audit(&self, offset: u32, hide_sign_ins: bool) -> Result<AuditList, ApiFailure> {
        let path = format!(
            "/audit?limit=20&offset={offset}{}",
            if hide_sign_ins {
                "&without=session.sign_in"
            } else {
                ""
            }
        );
        let list = json(&self.call("GET", &path, None).await?).await;
        let more = list
            .as_ref()
            .and_then(|l| js_sys::Reflect::get(l, &"more".into()).ok())
            .is_some_and(|m| m.is_truthy());
        let field = |v: &JsValue, key: &str| {
            js_sys::Reflect::get(v, &key.into())
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        };
        let entries = list
            .and_then(|l| js_sys::Reflect::get(&l, &"entries".into()).ok())
            .and_then(|e| e.dyn_into::<js_sys::Array>().ok())
            .ok_or_else(|| ApiFailure::Network("the answer is not an audit list".to_owned()))?;
        Ok(AuditList {
            entries: entries
                .iter()
                .map(|e| AuditEntry {
                    at: field(&e, "at"),
                    who: field(&e, "who"),
                    from: field(&e, "from"),
                    action: field(&e, "action"),
                    detail: field(&e, "detail"),
                    outcome: field(&e, "outcome"),
                })
                .collect(),
            more,
        })
    }

    /// `POST /api/v1/session` `{"token": …}`: trades the admin token for a session cookie.
    pub async fn sign_in(&self, token: &str) -> Result<(), ApiFailure> {
        let body = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&body, &"token".into(), &token.into());
        let text =
            js_sys::JSON::stringify(&body).map_err(|e| ApiFailure::Network(js_message(&e)))?;
        self.call("POST", "/session", Some(text.into()))
            .await
            .map(drop)
    }

    /// `GET /api/v1/bucket`'s `stored_bytes` and `objects`: what the bucket holds below
    /// Lifeboat's prefix, measured by listing it. (Read field by field: no deserializer.)
    pub async fn bucket_stored(&self) -> Result<(f64, f64), ApiFailure> {
        let value = json(&self.call("GET", "/bucket", None).await?).await;
        let num = |k: &str| {
            value
                .as_ref()
                .and_then(|v| js_sys::Reflect::get(v, &k.into()).ok())
                .and_then(|n| n.as_f64())
        };
        num("stored_bytes")
            .zip(num("objects"))
            .ok_or_else(|| ApiFailure::Network("the answer has no stored_bytes".to_owned()))
    }

    /// `GET /api/v1/session`'s `user`: who is signed in. (One field, read as the audit
    /// entries are: no deserializer in the bundle for it.)
    pub async fn session_user(&self) -> Result<String, ApiFailure> {
        let resp = self.call("GET", "/session", None).await?;
        string_field(json(&resp).await, "user")
            .ok_or_else(|| ApiFailure::Network("the answer names no user".to_owned()))
    }

    /// `DELETE /api/v1/session`: signs out; for a Keycloak user (`200`), where the browser
    /// goes next to sign out of Keycloak too (`end_session`).
    pub async fn sign_out(&self) -> Result<Option<String>, ApiFailure> {
        let resp = self.call("DELETE", "/session", None).await?;
        if resp.status() == 204 {
            return Ok(None);
        }
        Ok(string_field(json(&resp).await, "end_session"))
    }

    /// `GET /api/v1/operations`, newest first.
    pub async fn operations(&self) -> Result<OperationList, ApiFailure> {
        self.get_json("/operations").await
    }

    /// `GET /api/v1/operations/{id}`, and the newest lines of its run's log (the `log`
    /// beside the record's fields; read apart, so the live records stay without it).
    pub async fn operation(&self, id: &str) -> Result<(Operation, String), ApiFailure> {
        let resp = self
            .call("GET", &format!("/operations/{}", segment(id)), None)
            .await?;
        let value = json(&resp)
            .await
            .ok_or_else(|| ApiFailure::Network("the answer is not JSON".to_owned()))?;
        let log = js_sys::Reflect::get(&value, &"log".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        let op =
            crate::from_js::from_value(value).map_err(|e| ApiFailure::Network(e.to_string()))?;
        Ok((op, log))
    }

    /// `POST /api/v1/operations/{id}/cancel`.
    pub async fn cancel(&self, id: &str) -> Result<(), ApiFailure> {
        let path = format!("/operations/{}/cancel", segment(id));
        self.call("POST", &path, None).await.map(drop)
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiFailure> {
        decode(self.call("GET", path, None).await?).await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &B,
    ) -> Result<T, ApiFailure> {
        // JSON as serde_json writes it (`None` as `null`, maps as objects), through the
        // browser's own JSON: the bundle carries no JSON parser or printer of its own.
        let value = body
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| ApiFailure::Network(e.to_string()))?;
        let text =
            js_sys::JSON::stringify(&value).map_err(|e| ApiFailure::Network(js_message(&e)))?;
        decode(self.call(method, path, Some(text.into())).await?).await
    }

    /// One `fetch`: the response when it is a 2xx, else the failure (the server's
    /// `ApiError` when it sent one). Not generic, so the bundle has it once.
    async fn call(
        &self,
        method: &str,
        path: &str,
        json_body: Option<JsValue>,
    ) -> Result<web_sys::Response, ApiFailure> {
        let net = |e: JsValue| ApiFailure::Network(js_message(&e));
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        let headers = web_sys::Headers::new().map_err(net)?;
        if let Some(body) = &json_body {
            headers
                .set("Content-Type", "application/json")
                .map_err(net)?;
            init.set_body(body);
        }
        if let Some(get_token) = &self.token {
            // The host's token, asked for on every call (sync or a Promise), so a refreshed
            // one is used; bearer calls need no cookie and no CSRF header.
            let token = JsFuture::from(js_sys::Promise::resolve(
                &get_token.call0(&JsValue::NULL).map_err(net)?,
            ))
            .await
            .map_err(net)?
            .as_string()
            .ok_or_else(|| ApiFailure::Network("getToken gave no token".to_owned()))?;
            headers
                .set("Authorization", &format!("Bearer {token}"))
                .map_err(net)?;
        } else if method != "GET" {
            // The CSRF header every state-changing call needs with cookie sign-in.
            if let Some(token) = csrf_token() {
                headers.set("X-CSRF-Token", &token).map_err(net)?;
            }
        }
        init.set_headers(&headers);
        let window =
            web_sys::window().ok_or_else(|| ApiFailure::Network("no browser window".to_owned()))?;
        let promise = window.fetch_with_str_and_init(&self.url(path), &init);
        let resp: web_sys::Response = JsFuture::from(promise).await.map_err(net)?.unchecked_into();
        if resp.ok() {
            return Ok(resp);
        }
        let status = resp.status();
        Err(match json(&resp).await.map(crate::from_js::from_value) {
            Some(Ok(e)) => ApiFailure::Server(e),
            _ => ApiFailure::Network(format!("HTTP {status} from {path}")),
        })
    }
}

/// The response's body, parsed by the browser; `None` when it is not JSON.
async fn json(resp: &web_sys::Response) -> Option<JsValue> {
    JsFuture::from(resp.json().ok()?).await.ok()
}

/// A string field of a JSON object, if it is one.
fn string_field(value: Option<JsValue>, key: &str) -> Option<String> {
    js_sys::Reflect::get(&value?, &key.into()).ok()?.as_string()
}

/// Reads a 2xx response's JSON body as `T`.
async fn decode<T: DeserializeOwned>(resp: web_sys::Response) -> Result<T, ApiFailure> {
    let value = json(&resp)
        .await
        .ok_or_else(|| ApiFailure::Network("the answer is not JSON".to_owned()))?;
    crate::from_js::from_value(value).map_err(|e| ApiFailure::Network(e.to_string()))
}

/// A thrown JS value in words (an `Error`'s message, else its string form).
fn js_message(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => err.message().into(),
        None => e.as_string().unwrap_or_else(|| "unknown error".to_owned()),
    }
}

/// The session's CSRF token, from the `lifeboat_csrf` cookie the server set at sign-in.
fn csrf_token() -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn path_segments_are_encoded() {
        assert_eq!(
            segment("bk-20261125T110705Z-3f9a"),
            "bk-20261125T110705Z-3f9a"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
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
