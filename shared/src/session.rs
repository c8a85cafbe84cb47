//! Who is signed in (`GET /api/v1/session`), and where a Keycloak user goes to sign out of
//! Keycloak too (`DELETE /api/v1/session`).

use serde::{Deserialize, Serialize};

/// `GET /api/v1/session`: who is signed in, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The user (`admin` for the admin token and the sign-in link).
    pub user: String,
    /// How they proved it.
    pub via: SignInVia,
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInVia {
    /// Signed in with Keycloak (a session), or App Manager's Keycloak token.
    Keycloak,
    /// The one-time sign-in link from the start-up log.
    LoginLink,
    /// The admin token: traded for a session, or sent as a bearer token.
    Token,
    /// A way this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

/// `DELETE /api/v1/session`'s answer for a Keycloak user (`200`; others get `204`): the
/// browser goes there to end Keycloak's session too (OpenID Connect RP-initiated logout;
/// Keycloak asks the user to confirm and sends them back to Lifeboat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOut {
    /// Keycloak's end-session URL.
    pub end_session: String,
}
