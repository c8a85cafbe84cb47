//! The check every `/api/v1` route but health and login goes through.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::http::{CSRF_HEADER, SESSION_COOKIE, cookie};
use super::store::{Auth, Via};
use crate::error::AppError;

/// Who made a request; handlers read it from the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's name (`admin` for the standalone token).
    pub user: String,
    /// How they proved it.
    pub method: AuthMethod,
}

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Bearer <admin token>`.
    Bearer,
    /// An OIDC access token from App Manager's identity provider.
    Oidc,
    /// A session cookie, started as it says.
    Session(Via),
}

impl AuthMethod {
    /// How the caller proved it, in `GET /api/v1/session`'s words.
    pub fn via(self) -> Via {
        match self {
            Self::Bearer => Via::Token,
            Self::Oidc => Via::Keycloak,
            Self::Session(via) => via,
        }
    }
}

/// What the middleware needs.
#[derive(Debug)]
pub struct AuthContext {
    /// Tokens and sessions.
    pub auth: Auth,
    /// Other origins allowed to send cookie-authenticated changes (App Manager's).
    pub allowed_origins: Vec<HeaderValue>,
    /// App Manager's identity provider, when configured: bearer JWTs are checked against it.
    pub oidc: Option<super::oidc::OidcVerifier>,
    /// "Sign in with Keycloak" through that provider, when configured.
    pub sso: Option<super::sso::Sso>,
}

const SIGN_IN_HINT: &str = "Open the one-time login link printed in Lifeboat's log, or send \
     `Authorization: Bearer <token>` with the admin token from the data dir's `admin-token` file";

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether `Origin` names this server (by its `Host`) or an allowed origin.
fn origin_allowed(headers: &HeaderMap, allowed: &[HeaderValue]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
    });
    matches!((host, origin_host), (Some(h), Some(o)) if h == o)
}

/// Decides who the caller is, or rejects the request with `401`/`403` and a hint.
pub fn authenticate(
    ctx: &AuthContext,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Principal, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        return match token {
            Some(t) if ctx.auth.check_token(t) => Ok(Principal {
                user: "admin".into(),
                method: AuthMethod::Bearer,
            }),
            _ => Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The bearer token was not accepted",
            )
            .with_hint(SIGN_IN_HINT)),
        };
    }
    let Some(session) = cookie(headers, SESSION_COOKIE) else {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign in to use Lifeboat",
        )
        .with_hint(SIGN_IN_HINT));
    };
    let Some((csrf, user, via)) = ctx.auth.session(session) else {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "Your session has ended",
        )
        .with_hint(SIGN_IN_HINT));
    };
    if !is_safe(method) {
        if !origin_allowed(headers, &ctx.allowed_origins) {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "bad_origin",
                "This request came from a page Lifeboat does not trust",
            )
            .with_hint("Use Lifeboat's own page, or start it with --allowed-origin for App Manager's origin"));
        }
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if sent.is_empty() || sent != csrf.expose() {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "The request's CSRF token is missing or wrong",
            )
            .with_hint("Reload the page and try again"));
        }
    }
    Ok(Principal {
        user,
        method: AuthMethod::Session(via),
    })
}

/// The bearer token when it has the shape of a JWT (three dot-separated parts).
fn jwt_bearer(headers: &HeaderMap) -> Option<&str> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    (token.split('.').count() == 3).then_some(token)
}

fn oidc_rejection(e: super::oidc::OidcError) -> AppError {
    use super::oidc::OidcError;
    match e {
        OidcError::MissingRole(role) => AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("Backup and Restore needs the realm role {role}"),
        )
        .with_hint("Ask a Keycloak administrator to grant you the role"),
        OidcError::Jwks(_) => AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "identity_provider_unreachable",
            e.to_string(),
        )
        .with_hint("Check that Lifeboat can reach the identity provider (--oidc-jwks-url)"),
        other => AppError::new(StatusCode::UNAUTHORIZED, "invalid_token", other.to_string())
            .with_hint("Sign in to App Manager again"),
    }
}

/// Axum middleware: authenticates, then stores the [`Principal`] in the request.
pub async fn require_auth(
    State(ctx): State<Arc<AuthContext>>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    // Health is public; signing in and out is how one gets a session.
    let path = req.uri().path();
    if path == "/health" || path == "/session" && req.method() != Method::GET {
        return Ok(next.run(req).await);
    }
    let principal = match (&ctx.oidc, jwt_bearer(req.headers())) {
        (Some(oidc), Some(token)) if !ctx.auth.check_token(token) => {
            let claims = oidc.verify(token).await.map_err(oidc_rejection)?;
            Principal {
                user: claims.user().to_owned(),
                method: AuthMethod::Oidc,
            }
        }
        _ => authenticate(&ctx, req.method(), req.headers())?,
    };
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const TOKEN: &str = "0123456789abcdef0123";

    fn ctx() -> AuthContext {
        AuthContext {
            auth: Auth::with_token(Secret::new(TOKEN)),
            allowed_origins: vec![HeaderValue::from_static("https://appmanager.example")],
            oidc: None,
            sso: None,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn code(r: Result<Principal, AppError>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => e.body.code,
        }
    }

    #[test]
    fn bearer_token() {
        let c = ctx();
        let ok = headers(&[("authorization", &format!("Bearer {TOKEN}"))]);
        assert_eq!(code(authenticate(&c, &Method::POST, &ok)), "ok");
        let bad = headers(&[("authorization", "Bearer nope")]);
        assert_eq!(code(authenticate(&c, &Method::GET, &bad)), "invalid_token");
        assert_eq!(
            code(authenticate(&c, &Method::GET, &headers(&[]))),
            "unauthenticated"
        );
    }

    #[test]
    fn cookie_sessions_need_csrf_and_origin_to_change_things() {
        let c = ctx();
        let s = c.auth.login_with_token(TOKEN).unwrap();
        let cookie = format!("other=1; {SESSION_COOKIE}={}", s.id.expose());
        let base = [("cookie", cookie.as_str()), ("host", "127.0.0.1:8080")];
        assert_eq!(code(authenticate(&c, &Method::GET, &headers(&base))), "ok");
        assert_eq!(
            code(authenticate(&c, &Method::POST, &headers(&base))),
            "bad_origin"
        );
        let mut h = base.to_vec();
        h.push(("origin", "http://127.0.0.1:8080"));
        assert_eq!(code(authenticate(&c, &Method::POST, &headers(&h))), "csrf");
        h.push((CSRF_HEADER, "wrong"));
        assert_eq!(code(authenticate(&c, &Method::POST, &headers(&h))), "csrf");
        h.pop();
        h.push((CSRF_HEADER, s.csrf.expose()));
        assert_eq!(code(authenticate(&c, &Method::POST, &headers(&h))), "ok");
        // Another site's page cannot use the cookie, even with the token.
        let evil = [
            ("cookie", cookie.as_str()),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
            (CSRF_HEADER, s.csrf.expose()),
        ];
        assert_eq!(
            code(authenticate(&c, &Method::PUT, &headers(&evil))),
            "bad_origin"
        );
        let app_manager = [
            ("cookie", cookie.as_str()),
            ("host", "127.0.0.1:8080"),
            ("origin", "https://appmanager.example"),
            (CSRF_HEADER, s.csrf.expose()),
        ];
        assert_eq!(
            code(authenticate(&c, &Method::PUT, &headers(&app_manager))),
            "ok"
        );
        let unknown = format!("{SESSION_COOKIE}=deadbeef");
        assert_eq!(
            code(authenticate(
                &c,
                &Method::GET,
                &headers(&[("cookie", &unknown)])
            )),
            "session_expired"
        );
    }
}
