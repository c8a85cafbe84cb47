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

use base64::Engine as _;
use serde::Deserialize;

use crate::secret::Secret;

/// How long a started sign-in may take.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// At most this many sign-ins in flight (the oldest are dropped).
const MAX_PENDING: usize = 256;
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

/// A sign-in in flight: what its callback needs back.
#[derive(Debug)]
pub struct Pending {
    /// The PKCE code verifier.
    pub verifier: Secret,
    /// Where to go once signed in.
    pub return_to: String,
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
    pub fn begin(
        &self,
        redirect_uri: &str,
        return_to: String,
    ) -> Result<(String, String), SsoError> {
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
    pub fn take(&self, state: &str) -> Option<Pending> {
        let p = self.pending.lock().ok()?.remove(state)?;
        (p.started.elapsed() < PENDING_TTL).then_some(p)
    }

    /// Trades `code` (with the verifier) for an access token.
    pub async fn exchange(
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
}
