//! Verifying App Manager's users: Keycloak-issued OIDC access tokens (bearer JWTs), checked
//! against the issuer's JWKS (signature, issuer, audience, expiry with leeway), and a
//! required realm role.
//!
//! Keys are fetched on first use and cached; a token signed with a key id the cache does not
//! know triggers one refetch (key rotation), at most once per `min_refetch`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use tokio::sync::RwLock;

/// How Lifeboat trusts the identity provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The `iss` claim, e.g. `https://dash.example.com/auth/realms/dash`.
    pub issuer: String,
    /// The `aud` claim Lifeboat requires.
    pub audience: String,
    /// The JWKS URL; Keycloak's is `<issuer>/protocol/openid-connect/certs`.
    pub jwks_url: String,
    /// The realm role a caller needs.
    pub required_role: String,
    /// Allowed clock skew.
    pub leeway: Duration,
    /// The least time between two JWKS fetches (an unknown key id triggers one).
    pub min_refetch: Duration,
}

impl OidcConfig {
    /// Keycloak defaults for an issuer: its JWKS path, role `admin`, 60 s leeway.
    pub fn keycloak(issuer: &str, audience: &str) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        Self {
            jwks_url: format!("{issuer}/protocol/openid-connect/certs"),
            issuer,
            audience: audience.to_owned(),
            required_role: "admin".into(),
            leeway: Duration::from_secs(60),
            min_refetch: Duration::from_secs(30),
        }
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Not a JWT, or an algorithm we do not accept.
    #[error("the token is not a signed JWT Lifeboat accepts")]
    Malformed,
    /// No key in the issuer's JWKS has the token's key id.
    #[error("the token was signed with a key the identity provider does not publish")]
    UnknownKey,
    /// Expired (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// Wrong `iss`.
    #[error("the token was issued by another identity provider")]
    WrongIssuer,
    /// Wrong `aud`.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// Signature or other claim check failed.
    #[error("the token's signature or claims are invalid")]
    Invalid,
    /// Valid, but the user lacks the role.
    #[error("the user lacks the realm role {0}")]
    MissingRole(String),
    /// The JWKS could not be fetched or read.
    #[error("cannot fetch the identity provider's keys: {0}")]
    Jwks(String),
}

/// The claims Lifeboat reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// Keycloak's user name.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Keycloak's realm roles.
    #[serde(default)]
    pub realm_access: Option<RealmAccess>,
}

/// `realm_access` of a Keycloak token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RealmAccess {
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Claims {
    /// The name to record in the audit trail.
    pub fn user(&self) -> &str {
        self.preferred_username.as_deref().unwrap_or(&self.sub)
    }
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
}

/// Verifies bearer JWTs.
pub struct OidcVerifier {
    config: OidcConfig,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OidcVerifier {
    /// A verifier; nothing is fetched until the first token arrives.
    pub fn new(config: OidcConfig) -> Result<Self, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Jwks(e.to_string()))?;
        Ok(Self {
            config,
            http,
            cache: RwLock::new(KeyCache::default()),
        })
    }

    async fn refresh(&self) -> Result<(), OidcError> {
        let mut cache = self.cache.write().await;
        if cache
            .fetched_at
            .is_some_and(|t| t.elapsed() < self.config.min_refetch)
        {
            return Ok(());
        }
        cache.fetched_at = Some(Instant::now());
        let set: JwkSet = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| OidcError::Jwks(e.to_string()))?
            .json()
            .await
            .map_err(|e| OidcError::Jwks(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk))
            else {
                continue;
            };
            let alg = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                _ => Algorithm::RS256,
            };
            keys.insert(kid, (key, alg));
        }
        cache.keys = keys;
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), OidcError> {
        if let Some(k) = self.cache.read().await.keys.get(kid) {
            return Ok(k.clone());
        }
        self.refresh().await?;
        self.cache
            .read()
            .await
            .keys
            .get(kid)
            .cloned()
            .ok_or(OidcError::UnknownKey)
    }

    /// Verifies a token and the role; returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, OidcError> {
        let claims = self.verify_identity(token).await?;
        if !self.has_role(&claims) {
            return Err(OidcError::MissingRole(self.config.required_role.clone()));
        }
        Ok(claims)
    }

    /// The realm role a caller needs.
    pub fn required_role(&self) -> &str {
        &self.config.required_role
    }

    /// Whether verified `claims` carry the required realm role.
    pub fn has_role(&self, claims: &Claims) -> bool {
        claims
            .realm_access
            .as_ref()
            .is_some_and(|r| r.roles.iter().any(|x| x == &self.config.required_role))
    }

    /// Verifies a token (signature, issuer, audience, expiry) whatever its roles.
    pub async fn verify_identity(&self, token: &str) -> Result<Claims, OidcError> {
        let header = decode_header(token).map_err(|_| OidcError::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(OidcError::Malformed);
        }
        let kid = header.kid.ok_or(OidcError::Malformed)?;
        let (key, alg) = self.key(&kid).await?;
        if alg != header.alg {
            return Err(OidcError::Invalid);
        }
        let mut v = Validation::new(alg);
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&[&self.config.audience]);
        v.leeway = self.config.leeway.as_secs();
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Claims>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => OidcError::Expired,
                ErrorKind::InvalidIssuer => OidcError::WrongIssuer,
                ErrorKind::InvalidAudience => OidcError::WrongAudience,
                _ => OidcError::Invalid,
            }
        })?;
        Ok(data.claims)
    }
}
