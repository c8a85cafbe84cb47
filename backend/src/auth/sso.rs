//! "Sign in with Keycloak" on the standalone page: the authorization code flow with PKCE
//! (S256), as App Manager's users sign in, carried out by Lifeboat itself so the page never
//! holds a token.
//!
//! `GET /auth/keycloak` makes a `state` and a code verifier, remembers them for ten minutes
//! (and the state in a cookie of this browser, so a sign-in started elsewhere cannot be
//! finished here) and sends the browser to the realm's authorization endpoint.
//! `GET /auth/keycloak/callback` takes the code, trades it with the verifier at the token
//! endpoint, verifies the access token like any bearer token, and, when the user holds the
//! required realm role, starts a session as that user. A user without the role gets a page
//! that says who they are and which role they lack.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::routes::{ClientAddr, over_tls, set_cookies};
use crate::audit::AuditLog;
use crate::secret::Secret;

/// How long a started sign-in may take.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// At most this many sign-ins in flight (the oldest are dropped).
const MAX_PENDING: usize = 256;
/// The cookie binding a sign-in to the browser that started it.
const STATE_COOKIE: &str = "lifeboat_sso";
/// Where Keycloak sends the browser back.
pub const CALLBACK_PATH: &str = "/auth/keycloak/callback";
/// Where the page's "Sign in with Keycloak" points.
pub const START_PATH: &str = "/auth/keycloak";

/// Why the code could not be traded for tokens.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// No randomness for the state or verifier.
    #[error("no randomness: {0}")]
    Random(String),
    /// The token endpoint did not answer.
    #[error("cannot reach Keycloak's token endpoint: {0}")]
    Unreachable(String),
    /// It answered with an error.
    #[error("Keycloak refused the sign-in code: HTTP {status}: {body}")]
    Refused {
        /// Its status.
        status: u16,
        /// The start of its error.
        body: String,
    },
}

struct Pending {
    verifier: Secret,
    return_to: String,
    started: Instant,
}

/// The sign-ins in flight for one issuer and client.
pub struct Sso {
    issuer: String,
    client_id: String,
    pending: Mutex<HashMap<String, Pending>>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn random_b64(bytes: usize) -> Result<String, SsoError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| SsoError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// PKCE's S256 challenge of `verifier`.
fn challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

impl Sso {
    /// Sign-in through `issuer` (a Keycloak realm URL) with the public client `client_id`.
    pub fn new(issuer: &str, client_id: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Keycloak's end-session endpoint (OpenID Connect RP-initiated logout), coming back to
    /// `back_to` (a URL of this site, which the realm's `lifeboat` client allows). Without
    /// an ID token to hint with (Lifeboat keeps none), Keycloak asks the user to confirm.
    pub fn end_session_url(&self, back_to: &str) -> String {
        format!(
            "{}/protocol/openid-connect/logout?{}",
            self.issuer,
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &self.client_id)
                .append_pair("post_logout_redirect_uri", back_to)
                .finish()
        )
    }

    /// Remembers a new sign-in; returns its state and the authorization URL.
    fn begin(&self, redirect_uri: &str, return_to: String) -> Result<(String, String), SsoError> {
        let state = random_b64(24)?;
        let verifier = random_b64(32)?;
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid")
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        let url = format!(
            "{}/protocol/openid-connect/auth?{}",
            self.issuer,
            query.finish()
        );
        if let Ok(mut p) = self.pending.lock() {
            p.retain(|_, v| v.started.elapsed() < PENDING_TTL);
            if p.len() >= MAX_PENDING
                && let Some(oldest) = p
                    .iter()
                    .min_by_key(|(_, v)| v.started)
                    .map(|(k, _)| k.clone())
            {
                p.remove(&oldest);
            }
            p.insert(
                state.clone(),
                Pending {
                    verifier: Secret::new(verifier),
                    return_to,
                    started: Instant::now(),
                },
            );
        }
        Ok((state, url))
    }

    /// The sign-in `state` names, spent, if it is still valid.
    fn take(&self, state: &str) -> Option<Pending> {
        let p = self.pending.lock().ok()?.remove(state)?;
        (p.started.elapsed() < PENDING_TTL).then_some(p)
    }

    /// Trades `code` (with the verifier) for an access token.
    async fn exchange(
        &self,
        code: &str,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<Secret, SsoError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("client_id", &self.client_id)
            .append_pair("code_verifier", verifier.expose())
            .finish();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| SsoError::Unreachable(e.to_string()))?;
        let resp = http
            .post(format!("{}/protocol/openid-connect/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| SsoError::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if status != 200 {
            return Err(SsoError::Refused {
                status,
                body: text.chars().take(200).collect(),
            });
        }
        #[derive(Deserialize)]
        struct Tokens {
            access_token: String,
        }
        serde_json::from_str::<Tokens>(&text)
            .map(|t| Secret::new(t.access_token))
            .map_err(|e| SsoError::Refused {
                status,
                body: e.to_string(),
            })
    }
}

/// `http(s)://<Host>/auth/keycloak/callback`, or `None` for a Host that is not a plain
/// host name or address with an optional port.
fn redirect_uri(headers: &HeaderMap) -> Option<String> {
    origin(headers).map(|o| format!("{o}{CALLBACK_PATH}"))
}

/// This site's origin as the browser reached it (`http://127.0.0.1:8080`), from a plain
/// `Host` header only.
pub(super) fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    let scheme = if over_tls(headers) { "https" } else { "http" };
    plain.then(|| format!("{scheme}://{host}"))
}

/// Only a path of this site (`/…`, never `//host`) is somewhere to come back to.
fn safe_return(r: Option<&str>) -> String {
    match r {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// A page of its own (a refusal, a failed sign-in), in the page's style: its stylesheet and
/// its card.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Lifeboat: {t}</title><link rel=\"stylesheet\" href=\"/lifeboat.css\">\
             <body class=\"lb\"><main class=\"lb-page\"><section class=\"lb-card\" data-testid=\"auth-page\">\
             <h1 class=\"lb-title\">{t}</h1>{body}<p><a href=\"/\">Back to Lifeboat</a></p>\
             </section></main></body></html>",
            t = escape(title)
        )),
    )
        .into_response()
}

type AuthState = State<Option<std::sync::Arc<super::AuthContext>>>;

/// `?return=` of the start.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    /// Where to go once signed in (a path of this site).
    #[serde(default, rename = "return")]
    pub return_to: Option<String>,
}

/// `GET /auth/keycloak`.
pub async fn start(
    State(auth): AuthState,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Response {
    let Some(sso) = auth.as_ref().and_then(|a| a.sso.as_ref()) else {
        return page(
            StatusCode::NOT_FOUND,
            "Keycloak sign-in is not set up",
            "<p>This Lifeboat trusts no Keycloak realm (start it with <code>--oidc-issuer</code>, or run the demo with its Keycloak).</p>",
        );
    };
    let Some(redirect) = redirect_uri(&headers) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Cannot sign in from this address",
            "<p>The request's Host header is not a plain host name.</p>",
        );
    };
    match sso.begin(&redirect, safe_return(q.return_to.as_deref())) {
        Ok((state, url)) => {
            let mut resp = Redirect::to(&url).into_response();
            let cookie = format!(
                "{STATE_COOKIE}={state}; HttpOnly; SameSite=Lax; Path=/auth/keycloak; Max-Age=600"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot start the sign-in",
            &format!("<p>{}</p>", escape(&e.to_string())),
        ),
    }
}

/// What Keycloak sends back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state Lifeboat sent.
    #[serde(default)]
    pub state: Option<String>,
    /// Keycloak's error code, when the sign-in did not happen.
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /auth/keycloak/callback`.
pub async fn callback(
    State(auth): AuthState,
    State(audit): State<AuditLog>,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let (Some(ctx), Some(redirect)) = (auth.as_ref(), redirect_uri(&headers)) else {
        return page(StatusCode::NOT_FOUND, "Keycloak sign-in is not set up", "");
    };
    let (Some(sso), Some(oidc)) = (ctx.sso.as_ref(), ctx.oidc.as_ref()) else {
        return page(StatusCode::NOT_FOUND, "Keycloak sign-in is not set up", "");
    };
    let refused = |what: &str| {
        audit.record("unknown", &from, "session.sign_in", "keycloak", "refused");
        page(
            StatusCode::UNAUTHORIZED,
            "Sign-in with Keycloak failed",
            &format!(
                "<p>{}</p><p><a href=\"{START_PATH}\">Try again</a></p>",
                escape(what)
            ),
        )
    };
    if let Some(e) = &q.error {
        return refused(&format!("Keycloak did not sign you in ({e})."));
    }
    let (Some(code), Some(state)) = (q.code.as_deref(), q.state.as_deref()) else {
        return refused("Keycloak's answer lacks the code or the state.");
    };
    if super::middleware::cookie(&headers, STATE_COOKIE) != Some(state) {
        return refused("This sign-in was not started in this browser.");
    }
    let Some(pending) = sso.take(state) else {
        return refused("This sign-in has expired or was already used.");
    };
    let token = match sso.exchange(code, &pending.verifier, &redirect).await {
        Ok(t) => t,
        Err(e) => return refused(&e.to_string()),
    };
    let claims = match oidc.verify_identity(token.expose()).await {
        Ok(c) => c,
        Err(e) => return refused(&e.to_string()),
    };
    let user = claims.user().to_owned();
    if !oidc.has_role(&claims) {
        audit.record(&user, &from, "session.sign_in", "keycloak", "refused: role");
        return page(
            StatusCode::FORBIDDEN,
            "You do not have access to Backup and Restore",
            &format!(
                "<p>You are signed in to Keycloak as <strong>{0}</strong>, but Lifeboat needs \
                 the realm role <strong>{1}</strong>, which this user does not have.</p>\
                 <p>Ask an administrator of the realm to grant it, or sign in as another user \
                 (Keycloak signs <strong>{0}</strong> out first, then asks who signs in).</p>\
                 <p><a class=\"lb-btn lb-btn-primary\" href=\"{other}\" \
                 data-testid=\"signin-other\">Sign in as another user</a></p>",
                escape(&user),
                escape(oidc.required_role()),
                other = escape(&sso.end_session_url(&format!(
                    "{}{START_PATH}?return={}",
                    origin(&headers).unwrap_or_default(),
                    url::form_urlencoded::byte_serialize(pending.return_to.as_bytes())
                        .collect::<String>()
                ))),
            ),
        );
    }
    let Some(session) = ctx.auth.login_as(&user) else {
        return refused("Lifeboat could not start a session.");
    };
    audit.record(&user, &from, "session.sign_in", "keycloak", "accepted");
    let mut resp = Redirect::to(&pending.return_to).into_response();
    set_cookies(&mut resp, &session, over_tls(&headers));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path=/auth/keycloak; Max-Age=0"
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_sign_in_is_spent_once_and_its_url_asks_for_pkce() {
        let sso = Sso::new("http://kc/auth/realms/dash/", "lifeboat");
        let (state, url) = sso
            .begin("http://lb/auth/keycloak/callback", "/ops/1".into())
            .unwrap();
        assert!(url.starts_with("http://kc/auth/realms/dash/protocol/openid-connect/auth?"));
        for want in [
            "code_challenge_method=S256",
            "client_id=lifeboat",
            "response_type=code",
        ] {
            assert!(url.contains(want), "{want} in {url}");
        }
        assert_eq!(sso.take(&state).unwrap().return_to, "/ops/1");
        assert!(sso.take(&state).is_none());
    }

    #[test]
    fn signing_out_goes_through_keycloaks_end_session_and_back() {
        let sso = Sso::new("http://kc/auth/realms/dash", "lifeboat");
        assert_eq!(
            sso.end_session_url("http://127.0.0.1:8080/"),
            "http://kc/auth/realms/dash/protocol/openid-connect/logout?client_id=lifeboat\
             &post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2F"
        );
    }

    #[test]
    fn only_paths_of_this_site_are_returned_to() {
        assert_eq!(safe_return(Some("/operations/op-1")), "/operations/op-1");
        for bad in ["//evil.example", "https://evil.example", "\\\\evil", "evil"] {
            assert_eq!(safe_return(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return(None), "/");
    }

    #[test]
    fn the_callback_is_built_from_a_plain_host_only() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(
            redirect_uri(&h).unwrap(),
            "http://127.0.0.1:8080/auth/keycloak/callback"
        );
        h.insert(header::HOST, HeaderValue::from_static("evil/x?"));
        assert!(redirect_uri(&h).is_none());
    }

    #[test]
    fn user_names_are_escaped_in_pages() {
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
