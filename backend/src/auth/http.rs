//! A session's HTTP edges, shared by the sign-in routes and the middleware: the cookie
//! names, reading and setting cookies, the client's address, TLS behind a proxy, and this
//! site's origin.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::store::NewSession;

/// The session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "lifeboat_session";
/// The CSRF cookie (readable by the page, which echoes it in [`CSRF_HEADER`]).
pub const CSRF_COOKIE: &str = "lifeboat_csrf";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Reads a cookie from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// The client's address, for the audit trail ([`client_addr`], which `api::Caller` uses too).
#[derive(Debug)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(parts)))
    }
}

/// `X-Forwarded-For`'s first address behind a proxy (at most 64 characters, no control
/// characters), else the peer's, else `unknown`.
pub fn client_addr(parts: &axum::http::request::Parts) -> String {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| {
            let v = v.trim().chars().filter(|c| !c.is_control());
            v.take(64).collect::<String>()
        })
        .filter(|v| !v.is_empty());
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    forwarded.or(peer).unwrap_or_else(|| "unknown".into())
}

/// Whether the client reached Lifeboat over TLS: Lifeboat itself speaks plain HTTP on
/// loopback, so TLS means a terminating proxy that says so in `X-Forwarded-Proto`.
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

pub fn set_cookies(resp: &mut Response, s: &NewSession, secure: bool) {
    let flags = if secure {
        "Path=/; SameSite=Strict; Secure"
    } else {
        "Path=/; SameSite=Strict"
    };
    let session = format!("{SESSION_COOKIE}={}; HttpOnly; {flags}", s.id.expose());
    let csrf = format!("{CSRF_COOKIE}={}; {flags}", s.csrf.expose());
    for c in [session, csrf] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

pub fn clear_cookies(resp: &mut Response) {
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        if let Ok(v) =
            HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0; SameSite=Strict"))
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// This site's origin as the browser reached it (`http://127.0.0.1:8080`), from a plain
/// `Host` header only.
pub fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    let scheme = if over_tls(headers) { "https" } else { "http" };
    plain.then(|| format!("{scheme}://{host}"))
}
