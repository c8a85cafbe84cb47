//! Who is calling, and from where: for the audit trail.

use axum::extract::FromRequestParts;
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
        Ok(Self {
            who,
            from: crate::auth::client_addr(parts),
        })
    }
}
