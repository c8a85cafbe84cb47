//! Sign-in attempts are in the audit trail (the Activity card): the token form and the
//! one-time link, accepted or refused, with where they came from, and never the token.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lifeboat::app::app;
use lifeboat::auth::{Auth, AuthContext};
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::secret::Secret;
use lifeboat::state::{AppState, Settings};
use tower::ServiceExt;

const TOKEN: &str = "audit-test-admin-token";

async fn send(state: &AppState, req: Request<Body>) -> StatusCode {
    app(state.clone()).oneshot(req).await.unwrap().status()
}

fn token_form(token: &str) -> Request<Body> {
    Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .header("x-forwarded-for", "203.0.113.7")
        .body(Body::from(format!(r#"{{"token":"{token}"}}"#)))
        .unwrap()
}

#[tokio::test]
async fn every_sign_in_attempt_is_recorded_without_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().join("data"),
        static_dir: dir.path().join("dist"),
        allowed_origins: vec![],
    };
    std::fs::create_dir_all(&settings.data_dir).unwrap();
    let state = lifeboat::cli::local_state(settings, Toolbox::discover(), None);
    assert!(state.set_auth(Arc::new(AuthContext {
        auth: Auth::with_token(Secret::new(TOKEN)),
        allowed_origins: vec![],
        oidc: None,
        sso: None,
    })));

    assert_eq!(
        send(&state, token_form("wrong-guess")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(&state, token_form(TOKEN)).await, StatusCode::OK);
    let link = Request::get("/login?code=not-a-code")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&state, link).await, StatusCode::UNAUTHORIZED);

    let entries = state.audit().list(10).unwrap();
    let rows: Vec<(String, String, String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e.who.clone(),
                e.from.clone(),
                e.action.clone(),
                e.detail.clone(),
                e.outcome.clone(),
            )
        })
        .collect();
    let row = |who: &str, from: &str, how: &str, outcome: &str| {
        (
            who.to_owned(),
            from.to_owned(),
            "session.sign_in".to_owned(),
            how.to_owned(),
            outcome.to_owned(),
        )
    };
    assert_eq!(
        rows,
        vec![
            row("unknown", "unknown", "one-time sign-in link", "refused"),
            row("admin", "203.0.113.7", "admin token", "accepted"),
            row("unknown", "203.0.113.7", "admin token", "refused"),
        ],
        "newest first"
    );
    let all = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).unwrap();
    assert!(!all.contains(TOKEN) && !all.contains("wrong-guess") && !all.contains("not-a-code"));

    // The API pages the trail and leaves sign-ins out when asked.
    let page = |query: &'static str| {
        let state = state.clone();
        async move {
            let r = lifeboat::app::app(state)
                .oneshot(
                    Request::get(format!("/api/v1/audit?{query}"))
                        .header("authorization", format!("Bearer {TOKEN}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        }
    };
    let second = page("limit=1&offset=1").await;
    assert_eq!(second["entries"][0]["who"], "admin", "{second}");
    assert_eq!(second["more"], true, "{second}");
    let last = page("limit=1&offset=2").await;
    assert_eq!(last["more"], false, "{last}");
    let none = page("without=session.sign_in").await;
    assert_eq!(none["entries"], serde_json::json!([]), "{none}");
}
