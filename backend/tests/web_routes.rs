//! The page's own paths: its client routes get the page, any other path the page with a
//! `404` (it says "Page not found"), and a file that is not there (`/favicon.ico`) a plain
//! `404`, never the page under that name.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lifeboat::app::app;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::state::Settings;
use tower::ServiceExt;

#[tokio::test]
async fn client_routes_get_the_page_and_nothing_else_does() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>page</title>",
    )
    .unwrap();
    std::fs::write(dist.join("plugin.js"), "export {}").unwrap();
    let settings = Settings {
        data_dir: dir.path().join("data"),
        static_dir: dist,
        allowed_origins: vec![],
    };
    let state = lifeboat::cli::local_state(settings, Toolbox::discover(), None);
    for (path, status, page) in [
        ("/", StatusCode::OK, true),
        ("/operations/op-20261201T101010Z-1a2b", StatusCode::OK, true),
        ("/plugin.js", StatusCode::OK, false),
        ("/settings/elsewhere", StatusCode::NOT_FOUND, true),
        ("/operations/", StatusCode::NOT_FOUND, true),
        ("/favicon.ico", StatusCode::NOT_FOUND, false),
        ("/missing.wasm", StatusCode::NOT_FOUND, false),
    ] {
        let r = app(state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
        let html = r
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        assert_eq!(html, page, "{path}: the page or not");
    }
}
