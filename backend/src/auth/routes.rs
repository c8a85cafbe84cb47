//! Signing in and out: the one-time login link and the token form.

use axum::Router;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;

use lifeboat_shared::session::{SessionInfo, SignedOut};

use super::http::{
    ClientAddr, SESSION_COOKIE, clear_cookies, cookie, origin, over_tls, set_cookies,
};
use super::middleware::{AuthContext, Principal};
use super::store::Via;
use crate::audit::AuditLog;
use crate::error::{AppError, Json};

/// Records a sign-in attempt (never the token or code, only how it was tried).
fn record_sign_in(audit: &AuditLog, from: &str, how: &str, accepted: bool) {
    let (who, outcome) = if accepted {
        ("admin", "accepted")
    } else {
        ("unknown", "refused")
    };
    audit.record(who, from, "session.sign_in", how, outcome);
}

/// What these handlers need of the application's state: its authentication (if installed).
type AuthState = State<Option<std::sync::Arc<AuthContext>>>;

/// `POST /api/v1/session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenLogin {
    /// The admin token.
    pub token: String,
}

/// The `?code=` of the login link.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// The one-time code.
    #[serde(default)]
    pub code: String,
}

/// `GET /login?code=…`: the one-time link from the startup log.
pub async fn login_page(
    State(auth): AuthState,
    State(audit): State<AuditLog>,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let session = auth.and_then(|ctx| ctx.auth.redeem_login_code(&q.code));
    record_sign_in(&audit, &from, "one-time sign-in link", session.is_some());
    match session {
        Some(s) => {
            let mut resp = Redirect::to("/").into_response();
            set_cookies(&mut resp, &s, over_tls(&headers));
            resp
        }
        None => (
            StatusCode::UNAUTHORIZED,
            Html(
                "<!doctype html><title>Lifeboat: sign-in link not valid</title>\
                 <p>This sign-in link was already used or has expired.</p>\
                 <p>Open <a href=\"/\">Lifeboat</a> and sign in with the admin token \
                 (the <code>admin-token</code> file in Lifeboat's data dir), or restart Lifeboat \
                 for a new link.</p>",
            ),
        )
            .into_response(),
    }
}

async fn login(
    State(auth): AuthState,
    State(audit): State<AuditLog>,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<TokenLogin>,
) -> Result<Response, AppError> {
    let s = auth.and_then(|ctx| ctx.auth.login_with_token(body.token.trim()));
    record_sign_in(&audit, &from, "admin token", s.is_some());
    let s = s.ok_or_else(|| {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "That token was not accepted",
        )
        .with_hint("Copy the token from the admin-token file in Lifeboat's data dir")
    })?;
    let mut resp = Json(SessionInfo {
        user: "admin".into(),
        via: Via::Token,
    })
    .into_response();
    set_cookies(&mut resp, &s, over_tls(&headers));
    Ok(resp)
}

/// `GET /api/v1/session` (authenticated by the middleware like the rest of the API).
async fn current(Extension(p): Extension<Principal>) -> Json<SessionInfo> {
    Json(SessionInfo {
        user: p.user,
        via: p.method.via(),
    })
}

/// `DELETE /api/v1/session`: ends Lifeboat's session; for a Keycloak user, also says where
/// to end Keycloak's (`200` with [`SignedOut`]), else `204`.
async fn logout(State(auth): AuthState, headers: HeaderMap) -> Response {
    let mut end_session = None;
    if let (Some(ctx), Some(id)) = (auth, cookie(&headers, SESSION_COOKIE)) {
        if let (Some((_, _, Via::Keycloak)), Some(sso)) = (ctx.auth.session(id), &ctx.sso) {
            end_session = origin(&headers).map(|o| sso.end_session_url(&format!("{o}/")));
        }
        ctx.auth.logout(id);
    }
    let mut resp = match end_session {
        Some(url) => Json(SignedOut { end_session: url }).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    };
    clear_cookies(&mut resp);
    resp
}

/// The session routes, relative to `/api/v1` (signing in and out exempt from
/// authentication; `GET` behind it).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Option<std::sync::Arc<AuthContext>>: axum::extract::FromRef<S>,
    AuditLog: axum::extract::FromRef<S>,
{
    Router::new().route("/session", post(login).delete(logout).get(current))
}
