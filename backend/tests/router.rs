//! Router tests: the real app factory, driven in-process with `oneshot`.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use lifeboat::app::app;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::state::Settings;
use tower::ServiceExt;

struct Fixture {
    _dirs: tempfile::TempDir,
    router: axum::Router,
}

fn fixture() -> Fixture {
    let dirs = tempfile::tempdir().unwrap();
    let static_dir = dirs.path().join("dist");
    std::fs::create_dir_all(static_dir.join("assets")).unwrap();
    std::fs::write(
        static_dir.join("index.html"),
        "<!doctype html><title>Lifeboat</title><script type=\"module\">b()</script>",
    )
    .unwrap();
    std::fs::write(
        static_dir.join("app.js"),
        "console.log('lifeboat');".repeat(20),
    )
    .unwrap();
    std::fs::write(static_dir.join("app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let settings = Settings {
        data_dir: dirs.path().join("data"),
        static_dir,
        allowed_origins: vec!["http://host.example:9000".parse().unwrap()],
    };
    let router = app(lifeboat::cli::local_state(
        settings,
        Toolbox::discover(),
        None,
    ));
    Fixture {
        _dirs: dirs,
        router,
    }
}

async fn get(
    router: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> axum::response::Response {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body_text(resp: axum::response::Response) -> String {
    String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

#[tokio::test]
async fn health_reports_status_and_version() {
    let f = fixture();
    let resp = get(&f.router, "/api/v1/health", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    let health: lifeboat_shared::Health = serde_json::from_str(&body_text(resp).await).unwrap();
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_ne!(health.status, lifeboat_shared::HealthStatus::Unknown);
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s_not_the_page() {
    let f = fixture();
    for uri in ["/api/v1/nope", "/api/v2/health", "/api"] {
        let resp = get(&f.router, uri, &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{uri}");
        let err: lifeboat_shared::ApiError = serde_json::from_str(&body_text(resp).await).unwrap();
        assert_eq!(err.code, "not_found", "{uri}");
    }
}

#[tokio::test]
async fn client_routes_fall_back_to_index_html() {
    let f = fixture();
    let resp = get(&f.router, "/operations/op-1", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body_text(resp).await.contains("<title>Lifeboat</title>"));
}

#[tokio::test]
async fn static_files_have_content_types_and_cache_headers() {
    let f = fixture();
    let resp = get(&f.router, "/app_bg.wasm", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(resp.headers().contains_key(header::LAST_MODIFIED));

    // The page's policy allows its own inline start script (by hash) and the allowed framer.
    let resp = get(&f.router, "/operations/x", &[]).await;
    let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-cf242PFc/kb7xD0Qzhsmd9vvRkc+cWFmbi+k+YvtdKc='"),
        "{csp}"
    );
    assert!(
        csp.contains("frame-ancestors 'self' http://host.example:9000"),
        "{csp}"
    );
    assert_eq!(resp.headers()[header::REFERRER_POLICY], "no-referrer");

    let resp = get(&f.router, "/app.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origin() {
    let f = fixture();
    let resp = get(
        &f.router,
        "/api/v1/health",
        &[("origin", "http://host.example:9000")],
    )
    .await;
    assert_eq!(
        resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://host.example:9000"
    );
    let resp = get(
        &f.router,
        "/api/v1/health",
        &[("origin", "http://evil.example")],
    )
    .await;
    assert!(
        !resp
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let f = fixture();
    let big = format!(
        "{{\"description\": \"{}\"}}",
        "x".repeat(lifeboat::app::API_BODY_LIMIT + 1)
    );
    let resp = f
        .router
        .clone()
        .oneshot(
            axum::http::Request::post("/api/v1/backups")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(big))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let err: lifeboat_shared::ApiError = serde_json::from_str(&body_text(resp).await).unwrap();
    assert_eq!(err.code, "invalid_body");
}

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, lifeboat_shared::ApiError, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/json",
        "{method} {uri}"
    );
    let text = body_text(resp).await;
    let err = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{uri}: {e}: {text}"));
    (status, err, text)
}

#[tokio::test]
async fn every_error_body_is_an_api_error_that_quotes_no_value() {
    let f = fixture();
    // A method the route does not take: axum's empty 405 becomes an ApiError.
    let (status, err, _) = send(&f.router, "PATCH", "/api/v1/backups", "").await;
    assert_eq!(
        (status, err.code.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    // A query string that does not parse.
    let (status, err, _) = send(&f.router, "GET", "/api/v1/audit?limit=abc", "").await;
    assert_eq!(
        (status, err.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    // A value of the wrong type is not quoted back (it may be a secret sent in the wrong field).
    let (status, err, text) = send(
        &f.router,
        "POST",
        "/api/v1/backups",
        r#"{"description": 424242}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err.code, "invalid_body");
    assert!(!text.contains("424242"), "{text}");
    // A 10,000-character id or namespace comes back cut.
    let long = "a".repeat(10_000);
    let (status, _, text) = send(&f.router, "GET", &format!("/api/v1/operations/{long}"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.len() < 500, "{} bytes", text.len());
    let body = format!(
        r#"{{"confirmation":"restore backup","target_namespace":"{long}","replace_existing":false}}"#
    );
    let (_, _, text) = send(
        &f.router,
        "POST",
        "/api/v1/backups/bk-20261125T110705Z-3f9a/restore",
        &body,
    )
    .await;
    assert!(text.len() < 1_000, "{} bytes: {}", text.len(), &text[..200]);
}
