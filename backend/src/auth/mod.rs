//! Who may call the API. Standalone, Lifeboat keeps one admin token (from
//! `LIFEBOAT_ADMIN_TOKEN` or a 0600 file it creates at first start) and trades it, or the
//! one-time login URL it logs at start, for a session cookie. Scripts send the token as
//! `Authorization: Bearer <token>`.
//!
//! Cookie sessions must also pass CSRF (a per-session token echoed in `X-CSRF-Token`) and an
//! `Origin` check on every state-changing request; bearer requests are exempt from both.

mod middleware;
pub mod oidc;
mod routes;
pub mod sso;
mod store;

pub use middleware::{AuthContext, AuthMethod, Principal, require_auth};
pub use routes::{client_addr, login_page, router};
pub use store::{Auth, AuthError, NewSession, Via};

/// The session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "lifeboat_session";
/// The CSRF cookie (readable by the page, which echoes it in [`CSRF_HEADER`]).
pub const CSRF_COOKIE: &str = "lifeboat_csrf";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
