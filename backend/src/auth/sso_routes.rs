//! Signing in with Keycloak: `GET /auth/keycloak` starts an authorization-code sign-in
//! with PKCE, `GET /auth/keycloak/callback` ends it with a session (or a refusal page).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::http::{ClientAddr, cookie, origin, over_tls, set_cookies};
use super::middleware::AuthContext;
use super::sso::{CALLBACK_PATH, START_PATH};
use crate::audit::AuditLog;

/// The cookie binding a sign-in to the browser that started it.
const STATE_COOKIE: &str = "lifeboat_sso";

/// `http(s)://<Host>/auth/keycloak/callback`, or `None` for a Host that is not a plain
/// host name or address with an optional port.
fn redirect_uri(headers: &HeaderMap) -> Option<String> {
    origin(headers).map(|o| format!("{o}{CALLBACK_PATH}"))
}

/// Only a path of this site (`/…`, never `//host`) is somewhere to come back to.
fn safe_return(r: Option<&str>) -> String {
    match r {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// A page of its own (a refusal, a failed sign-in), in the page's style: its stylesheet and
/// its card.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Lifeboat: {t}</title><link rel=\"stylesheet\" href=\"/lifeboat.css\">\
             <body class=\"lb\"><main class=\"lb-page\"><section class=\"lb-card\" data-testid=\"auth-page\">\
             <h1 class=\"lb-title\">{t}</h1>{body}<p><a href=\"/\">Back to Lifeboat</a></p>\
             </section></main></body></html>",
            t = escape(title)
        )),
    )
        .into_response()
}

type AuthState = State<Option<std::sync::Arc<AuthContext>>>;

/// `?return=` of the start.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    /// Where to go once signed in (a path of this site).
    #[serde(default, rename = "return")]
    pub return_to: Option<String>,
}

/// `GET /auth/keycloak`.
pub async fn start(
    State(auth): AuthState,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Response {
    let Some(sso) = auth.as_ref().and_then(|a| a.sso.as_ref()) else {
        return page(
            StatusCode::NOT_FOUND,
            "Keycloak sign-in is not set up",
            "<p>This Lifeboat trusts no Keycloak realm (start it with <code>--oidc-issuer</code>, or run the demo with its Keycloak).</p>",
        );
    };
    let Some(redirect) = redirect_uri(&headers) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Cannot sign in from this address",
            "<p>The request's Host header is not a plain host name.</p>",
        );
    };
    match sso.begin(&redirect, safe_return(q.return_to.as_deref())) {
        Ok((state, url)) => {
            let mut resp = Redirect::to(&url).into_response();
            let cookie = format!(
                "{STATE_COOKIE}={state}; HttpOnly; SameSite=Lax; Path=/auth/keycloak; Max-Age=600"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot start the sign-in",
            &format!("<p>{}</p>", escape(&e.to_string())),
        ),
    }
}

/// What Keycloak sends back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state Lifeboat sent.
    #[serde(default)]
    pub state: Option<String>,
    /// Keycloak's error code, when the sign-in did not happen.
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /auth/keycloak/callback`.
pub async fn callback(
    State(auth): AuthState,
    State(audit): State<AuditLog>,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let (Some(ctx), Some(redirect)) = (auth.as_ref(), redirect_uri(&headers)) else {
        return page(StatusCode::NOT_FOUND, "Keycloak sign-in is not set up", "");
    };
    let (Some(sso), Some(oidc)) = (ctx.sso.as_ref(), ctx.oidc.as_ref()) else {
        return page(StatusCode::NOT_FOUND, "Keycloak sign-in is not set up", "");
    };
    let refused = |what: &str| {
        audit.record("unknown", &from, "session.sign_in", "keycloak", "refused");
        page(
            StatusCode::UNAUTHORIZED,
            "Sign-in with Keycloak failed",
            &format!(
                "<p>{}</p><p><a href=\"{START_PATH}\">Try again</a></p>",
                escape(what)
            ),
        )
    };
    if let Some(e) = &q.error {
        return refused(&format!("Keycloak did not sign you in ({e})."));
    }
    let (Some(code), Some(state)) = (q.code.as_deref(), q.state.as_deref()) else {
        return refused("Keycloak's answer lacks the code or the state.");
    };
    if cookie(&headers, STATE_COOKIE) != Some(state) {
        return refused("This sign-in was not started in this browser.");
    }
    let Some(pending) = sso.take(state) else {
        return refused("This sign-in has expired or was already used.");
    };
    let token = match sso.exchange(code, &pending.verifier, &redirect).await {
        Ok(t) => t,
        Err(e) => return refused(&e.to_string()),
    };
    let claims = match oidc.verify_identity(token.expose()).await {
        Ok(c) => c,
        Err(e) => return refused(&e.to_string()),
    };
    let user = claims.user().to_owned();
    if !oidc.has_role(&claims) {
        audit.record(&user, &from, "session.sign_in", "keycloak", "refused: role");
        return page(
            StatusCode::FORBIDDEN,
            "You do not have access to Backup and Restore",
            &format!(
                "<p>You are signed in to Keycloak as <strong>{0}</strong>, but Lifeboat needs \
                 the realm role <strong>{1}</strong>, which this user does not have.</p>\
                 <p>Ask an administrator of the realm to grant it, or sign in as another user \
                 (Keycloak signs <strong>{0}</strong> out first, then asks who signs in).</p>\
                 <p><a class=\"lb-btn lb-btn-primary\" href=\"{other}\" \
                 data-testid=\"signin-other\">Sign in as another user</a></p>",
                escape(&user),
                escape(oidc.required_role()),
                other = escape(&sso.end_session_url(&format!(
                    "{}{START_PATH}?return={}",
                    origin(&headers).unwrap_or_default(),
                    url::form_urlencoded::byte_serialize(pending.return_to.as_bytes())
                        .collect::<String>()
                ))),
            ),
        );
    }
    let Some(session) = ctx.auth.login_as(&user) else {
        return refused("Lifeboat could not start a session.");
    };
    audit.record(&user, &from, "session.sign_in", "keycloak", "accepted");
    let mut resp = Redirect::to(&pending.return_to).into_response();
    set_cookies(&mut resp, &session, over_tls(&headers));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path=/auth/keycloak; Max-Age=0"
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_returned_to() {
        assert_eq!(safe_return(Some("/operations/op-1")), "/operations/op-1");
        for bad in ["//evil.example", "https://evil.example", "\\\\evil", "evil"] {
            assert_eq!(safe_return(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return(None), "/");
    }

    #[test]
    fn the_callback_is_built_from_a_plain_host_only() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(
            redirect_uri(&h).unwrap(),
            "http://127.0.0.1:8080/auth/keycloak/callback"
        );
        h.insert(header::HOST, HeaderValue::from_static("evil/x?"));
        assert!(redirect_uri(&h).is_none());
    }

    #[test]
    fn user_names_are_escaped_in_pages() {
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
