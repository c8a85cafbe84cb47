//! Authentication through the real router: every `/api/v1` route but health and sign-in
//! needs the admin token or a session; the one-time link and the token form set cookies.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lifeboat::app::app;
use lifeboat::auth::{Auth, AuthContext};
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::secret::Secret;
use lifeboat::state::{AppState, Settings};
use tower::ServiceExt;

const TOKEN: &str = "router-test-admin-token";

fn fixture() -> (tempfile::TempDir, AppState, Arc<AuthContext>) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().join("data"),
        static_dir: dir.path().join("dist"),
        allowed_origins: vec![],
    };
    let state = lifeboat::cli::local_state(settings, Toolbox::discover(), None);
    let ctx = Arc::new(AuthContext {
        auth: Auth::with_token(Secret::new(TOKEN)),
        allowed_origins: vec![],
        oidc: None,
        sso: None,
    });
    assert!(state.set_auth(ctx.clone()));
    (dir, state, ctx)
}

async fn send(state: &AppState, req: Request<Body>) -> axum::response::Response {
    app(state.clone()).oneshot(req).await.unwrap()
}

#[tokio::test]
async fn api_routes_need_credentials_but_health_does_not() {
    let (_d, state, _) = fixture();
    let health = send(
        &state,
        Request::get("/api/v1/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(health.status(), StatusCode::OK);
    for uri in ["/api/v1/config", "/api/v1/backups", "/api/v1/operations"] {
        let r = send(&state, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{uri}");
        let r = send(
            &state,
            Request::get(uri)
                .header("authorization", "Bearer wrong")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{uri}");
        let r = send(
            &state,
            Request::get(uri)
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_ne!(r.status(), StatusCode::UNAUTHORIZED, "{uri}");
    }
    // A change without credentials is refused before it reaches the handler.
    let r = send(
        &state,
        Request::post("/api/v1/backups")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn one_time_link_and_token_form_set_session_cookies() {
    let (_d, state, ctx) = fixture();
    let code = ctx.auth.issue_login_code().unwrap();
    let r = send(
        &state,
        Request::get(format!("/login?code={}", code.expose()))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<String> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("lifeboat_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    // The link works once.
    let again = send(
        &state,
        Request::get(format!("/login?code={}", code.expose()))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    let cookie = session.split(';').next().unwrap().to_owned();
    let r = send(
        &state,
        Request::get("/api/v1/config")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_ne!(r.status(), StatusCode::UNAUTHORIZED);

    let bad = send(
        &state,
        Request::post("/api/v1/session")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"token":"nope"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let good = send(
        &state,
        Request::post("/api/v1/session")
            .header("content-type", "application/json")
            .body(Body::from(format!(r#"{{"token":"{TOKEN}"}}"#)))
            .unwrap(),
    )
    .await;
    assert_eq!(good.status(), StatusCode::OK);
    assert!(
        good.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("lifeboat_csrf="))
    );
    // Behind a TLS-terminating proxy both cookies are `Secure`.
    let tls = send(
        &state,
        Request::post("/api/v1/session")
            .header("content-type", "application/json")
            .header("x-forwarded-proto", "https")
            .body(Body::from(format!(r#"{{"token":"{TOKEN}"}}"#)))
            .unwrap(),
    )
    .await;
    let cookies: Vec<String> = tls
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2);
    assert!(
        cookies.iter().all(|c| c.ends_with("; Secure")),
        "{cookies:?}"
    );
}

/// `GET /api/v1/session` with `headers`: its status and JSON body.
async fn session_of(state: &AppState, headers: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
    let mut req = Request::get("/api/v1/session");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = send(state, req.body(Body::empty()).unwrap()).await;
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test]
async fn the_session_says_who_and_how_and_signing_out_ends_it() {
    let (_d, state, ctx) = fixture();
    let (status, body) = session_of(&state, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = session_of(&state, &[("authorization", &bearer)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"user": "admin", "via": "token"}));

    // A session from the one-time link says so; signing out ends it (`204`: no Keycloak
    // session to end).
    let s = ctx
        .auth
        .redeem_login_code(ctx.auth.issue_login_code().unwrap().expose())
        .unwrap();
    let csrf = s.csrf.expose().to_owned();
    let cookie = format!("lifeboat_session={}; lifeboat_csrf={csrf}", s.id.expose());
    let (status, body) = session_of(&state, &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!({"user": "admin", "via": "login_link"})
    );
    let out = send(
        &state,
        Request::delete("/api/v1/session")
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("origin", "http://localhost")
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let (status, _) = session_of(&state, &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
