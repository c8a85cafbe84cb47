//! Who may call the API. Standalone, Lifeboat keeps one admin token (from
//! `LIFEBOAT_ADMIN_TOKEN` or a 0600 file it creates at first start) and trades it, or the
//! one-time login URL it logs at start, for a session cookie. Scripts send the token as
//! `Authorization: Bearer <token>`.
//!
//! Cookie sessions must also pass CSRF (a per-session token echoed in `X-CSRF-Token`) and an
//! `Origin` check on every state-changing request; bearer requests are exempt from both.

mod http;
mod middleware;
pub mod oidc;
mod routes;
pub mod sso;
pub mod sso_routes;
mod store;

pub use http::{CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, client_addr};
pub use middleware::{AuthContext, AuthMethod, Principal, require_auth};
pub use routes::{login_page, router};
pub use store::{Auth, AuthError, NewSession, Via};
