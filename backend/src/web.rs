//! Serves the built single-page app: real files with their content type and cache headers,
//! and `index.html` for any other non-API path so that client-side routes survive a reload.
//! Every response carries the security headers; the Content-Security-Policy allows exactly
//! the start script Trunk writes inline (by its hash) and the wasm it loads.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use base64::Engine as _;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

/// Asset names are stable (the plugin entry point must be), so browsers revalidate every
/// time; `Last-Modified` makes that a cheap `304`.
const CACHE_CONTROL: &str = "no-cache";

/// The static routes: everything not under `/api`. `frame_ancestors` are the origins that
/// may frame the page besides Lifeboat's own (the allowed App Manager origins).
pub fn router(static_dir: &Path, frame_ancestors: &[HeaderValue]) -> Router<AppState> {
    let index = static_dir.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap_or_default();
    let csp = content_security_policy(&html, frame_ancestors);
    let page: std::sync::Arc<str> = html.clone().into();
    let fallback = move |uri: axum::http::Uri| {
        let page = page.clone();
        async move { client_route(uri.path(), &page) }
    };
    let serve = ServeDir::new(static_dir).fallback(
        axum::handler::HandlerWithoutStateExt::into_service(fallback),
    );
    let mut router = Router::new()
        .fallback_service(serve)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if let Ok(value) = HeaderValue::from_str(&csp) {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            value,
        ));
    }
    router
}

/// What a path that is no file gets: the page for its client routes (`/`,
/// `/operations/<id>`); for any other path the page too, which says "Page not found", but
/// with a `404` so that the address is not taken for a page; and a file that is not there
/// (`/favicon.ico`, a mistyped asset) is a plain `404`, never the page under its name.
fn client_route(path: &str, page: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    let known = path == "/"
        || path
            .strip_prefix("/operations/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    let status = if known {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.to_owned(),
    )
        .into_response()
}

/// The page's policy: scripts from here plus the inline ones of `index_html` by hash, wasm
/// compilation, inline styles (the page injects its scoped stylesheet), connections and
/// images from here only, and framing by this origin and `frame_ancestors` only.
pub fn content_security_policy(index_html: &str, frame_ancestors: &[HeaderValue]) -> String {
    let hashes: String = inline_scripts(index_html)
        .into_iter()
        .map(|s| {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
            )
        })
        .collect();
    let ancestors: String = frame_ancestors
        .iter()
        .filter_map(|o| o.to_str().ok())
        .map(|o| format!(" {o}"))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'self'{ancestors}"
    )
}

/// The contents of every `<script>` without a `src`, as written (what the browser hashes).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body[..close]);
        }
        rest = &body[close..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_hashes_inline_scripts_only_and_names_the_allowed_framers() {
        let html = "<head><script type=\"module\">\nimport init from '/x.js';\n</script>\
                    <script src=\"/a.js\"></script><script>b()</script></head>";
        assert_eq!(
            inline_scripts(html),
            vec!["\nimport init from '/x.js';\n", "b()"]
        );
        let csp = content_security_policy(
            html,
            &[HeaderValue::from_static("https://appmanager.example.com")],
        );
        // echo -n 'b()' | openssl dgst -sha256 -binary | base64
        assert!(
            csp.contains("'sha256-cf242PFc/kb7xD0Qzhsmd9vvRkc+cWFmbi+k+YvtdKc='"),
            "{csp}"
        );
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert!(csp.ends_with("frame-ancestors 'self' https://appmanager.example.com"));
        assert_eq!(csp.matches("'sha256-").count(), 2);
    }
}
