//! Who is calling, and from where: for the audit trail.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// The authenticated user and the client's address.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user (`admin` when the API runs without authentication, in handler tests).
    pub who: String,
    /// `X-Forwarded-For`'s first address behind a proxy, else the peer's, else `unknown`.
    pub from: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let who = parts
            .extensions
            .get::<crate::auth::Principal>()
            .map_or_else(|| "admin".to_owned(), |p| p.user.clone());
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| {
                v.trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect::<String>()
            })
            .filter(|v| !v.is_empty());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(Self {
            who,
            from: forwarded.or(peer).unwrap_or_else(|| "unknown".into()),
        })
    }
}
