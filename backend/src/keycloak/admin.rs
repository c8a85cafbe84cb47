//! Keycloak's admin REST API and token endpoint, as far as Lifeboat uses them: sign in as
//! an admin of the `master` realm, see whether a realm exists, create one from its
//! representation, read and change it (the restore tests check realms through this).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::secret::Secret;

/// Why a call to Keycloak failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No answer (not started, wrong port, timed out).
    #[error("cannot reach Keycloak at {url}: {source}")]
    Unreachable {
        /// What was called.
        url: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// An answer other than success.
    #[error("Keycloak refused to {what}: HTTP {status}: {body}")]
    Refused {
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body (Keycloak's error, never a credential).
        body: String,
    },
    /// A success whose body was not what the API documents.
    #[error("Keycloak's answer to {what} was not the JSON expected: {detail}")]
    Unexpected {
        /// What was asked.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
}

/// The tokens of a grant (the access token is what Lifeboat verifies).
#[derive(Deserialize)]
pub struct Tokens {
    /// The access token (a JWT).
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

fn client() -> Result<reqwest::Client, AdminError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .build()
        .map_err(|source| AdminError::Unreachable {
            url: String::new(),
            source,
        })
}

/// The first 300 characters of a refused answer.
async fn refused(what: &str, resp: reqwest::Response) -> AdminError {
    let status = resp.status().as_u16();
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    AdminError::Refused {
        what: what.to_owned(),
        status,
        body,
    }
}

/// A password grant against `realm`'s token endpoint, for `client_id` (a client that
/// allows direct access grants): how scripts and tests get a user's tokens.
pub async fn password_grant(
    base_url: &str,
    realm: &str,
    client_id: &str,
    username: &str,
    password: &Secret,
) -> Result<Tokens, AdminError> {
    let url = format!("{base_url}/realms/{realm}/protocol/openid-connect/token");
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("client_id", client_id)
        .append_pair("username", username)
        .append_pair("password", password.expose())
        .append_pair("scope", "openid")
        .finish();
    let what = format!("sign {username} in to realm {realm}");
    let resp = client()?
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|source| AdminError::Unreachable {
            url: url.clone(),
            source,
        })?;
    if !resp.status().is_success() {
        return Err(refused(&what, resp).await);
    }
    resp.json().await.map_err(|e| AdminError::Unexpected {
        what,
        detail: e.to_string(),
    })
}

/// A signed-in admin of the `master` realm.
#[derive(Debug)]
pub struct Admin {
    http: reqwest::Client,
    base_url: String,
    token: Secret,
}

impl Admin {
    /// Signs in through the `admin-cli` client of the `master` realm.
    pub async fn login(
        base_url: &str,
        username: &str,
        password: &Secret,
    ) -> Result<Self, AdminError> {
        let tokens = password_grant(base_url, "master", "admin-cli", username, password).await?;
        Ok(Self {
            http: client()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: Secret::new(tokens.access_token),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/admin/realms{path}", self.base_url)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, AdminError> {
        let url = self.url(path);
        let mut req = self
            .http
            .request(method, &url)
            .bearer_auth(self.token.expose());
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send()
            .await
            .map_err(|source| AdminError::Unreachable { url, source })
    }

    /// `GET /admin/realms<path>` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, AdminError> {
        let what = format!("read {path}");
        let resp = self.call(reqwest::Method::GET, path, None).await?;
        if !resp.status().is_success() {
            return Err(refused(&what, resp).await);
        }
        resp.json().await.map_err(|e| AdminError::Unexpected {
            what,
            detail: e.to_string(),
        })
    }

    /// `method /admin/realms<path>` with an optional JSON body; the answer's body is
    /// dropped.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(), AdminError> {
        let what = format!("{method} {path}");
        let resp = self.call(method, path, body).await?;
        if !resp.status().is_success() {
            return Err(refused(&what, resp).await);
        }
        Ok(())
    }

    /// Whether `realm` exists.
    pub async fn realm_exists(&self, realm: &str) -> Result<bool, AdminError> {
        let path = format!("/{realm}");
        let resp = self.call(reqwest::Method::GET, &path, None).await?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(refused(&format!("read realm {realm}"), resp).await),
        }
    }

    /// Creates a realm from its full representation (roles, groups, users with their
    /// credentials, clients, identity providers).
    pub async fn create_realm(&self, representation: &Value) -> Result<(), AdminError> {
        self.send(reqwest::Method::POST, "", Some(representation))
            .await
    }
}
