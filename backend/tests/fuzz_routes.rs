//! Property test: malformed methods, paths, headers and bodies thrown at every API route
//! (with and without valid credentials) never panic the server and never get a `500`. The
//! only 5xx allowed are the documented ones with their codes: `502 storage_unavailable` (the
//! configured bucket cannot be read) and `503 instance_starting`. Every error under `/api`
//! is an `ApiError` body, and none quotes a long input back whole.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use lifeboat::app::app;
use lifeboat::auth::{Auth, AuthContext};
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::secret::Secret;
use lifeboat::state::Settings;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tower::ServiceExt;

const TOKEN: &str = "fuzz-admin-token";
/// Repeated 10,000 times as a path segment or a body value: no error may quote it whole.
const LONG_SEGMENT: &str = "q";
const LONG_VALUE: &str = "v";

/// Every route, with `{}` where an id goes.
const ROUTES: &[&str] = &[
    "/api/v1/health",
    "/api/v1/config",
    "/api/v1/config/verify",
    "/api/v1/config/schedule",
    "/api/v1/backups",
    "/api/v1/backups/{}",
    "/api/v1/backups/{}/restore",
    "/api/v1/operations",
    "/api/v1/operations/{}",
    "/api/v1/operations/{}/cancel",
    "/api/v1/instance",
    "/api/v1/instances",
    "/api/v1/audit",
    "/api/v1/session",
    "/api/v1/nope/{}",
    "/login",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just("%2e%2e%2fetc%2fpasswd".to_owned()),
        Just("bk-20261125T110705Z-3f9a".to_owned()),
        Just("op-x".to_owned()),
        Just("%00".to_owned()),
        Just("a%2Fb".to_owned()),
        Just(LONG_SEGMENT.repeat(10_000)),
        "[a-zA-Z0-9._~-]{0,40}",
        "(%[0-9A-F]{2}){1,8}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let fragments = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("\"confirmation\":\"restore backup\",".to_owned()),
        Just("\"target_namespace\":\"demo\"".to_owned()),
        Just("\"description\":".to_owned()),
        Just("\"config\":{\"provider\":{\"provider\":\"local\"}}".to_owned()),
        Just("\"passphrase\":{\"action\":\"set\",\"passphrase\":7}".to_owned()),
        Just("\"token\":".to_owned()),
        Just("null".to_owned()),
        Just("[1,2,".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        "\"[^\"\\\\]{0,30}\"",
        "-?[0-9]{1,25}",
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(fragments, 0..8).prop_map(|f| f.join(",").into_bytes()),
        proptest::collection::vec(fragments_for_object(), 0..6).prop_map(|f| format!(
            "{{{}}}",
            f.join(",")
        )
        .into_bytes()),
    ]
}

fn fragments_for_object() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("description"),
            Just("confirmation"),
            Just("target_namespace"),
            Just("replace_existing"),
            Just("config"),
            Just("credentials"),
            Just("passphrase"),
            Just("token"),
            Just("unknown_field"),
        ],
        prop_oneof![
            Just("\"restore backup\"".to_owned()),
            Just("true".to_owned()),
            Just("{}".to_owned()),
            Just("{\"provider\":\"s3\"}".to_owned()),
            "\"[ -~]{0,40}\"",
            "[0-9]{1,6}",
            Just(format!("\"{}\"", LONG_VALUE.repeat(10_000))),
        ],
    )
        .prop_map(|(k, v)| format!("\"{k}\":{v}"))
}

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    auth: Option<String>,
    content_type: Option<&'static str>,
    origin: Option<&'static str>,
    body: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just(Method::GET),
            Just(Method::POST),
            Just(Method::PUT),
            Just(Method::DELETE),
            Just(Method::PATCH),
            Just(Method::OPTIONS),
        ],
        proptest::sample::select(ROUTES),
        segment(),
        "(\\?[a-z]{1,8}=[^#]{0,20})?",
        prop_oneof![
            Just(None),
            Just(Some(format!("Bearer {TOKEN}"))),
            Just(Some("Bearer ".to_owned())),
            Just(Some("Basic YWRtaW46YWRtaW4=".to_owned())),
            "Bearer [ -~]{0,60}".prop_map(Some),
        ],
        prop_oneof![
            Just(None),
            Just(Some("application/json")),
            Just(Some("text/plain")),
            Just(Some("application/json; charset=latin1")),
            Just(Some("multipart/form-data; boundary=x")),
        ],
        prop_oneof![
            Just(None),
            Just(Some("http://evil.example")),
            Just(Some("null"))
        ],
        body(),
    )
        .prop_map(
            |(method, route, seg, query, auth, content_type, origin, body)| {
                let path = format!("{}{query}", route.replace("{}", &seg));
                Case {
                    method,
                    path,
                    auth,
                    content_type,
                    origin,
                    body,
                }
            },
        )
}

#[test]
fn no_route_panics_or_fails_internally_on_malformed_input() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    backup_support::open_up(dir.path());
    let state = lifeboat::cli::local_state(
        Settings {
            data_dir: dir.path().join("data"),
            static_dir: dir.path().join("dist"),
            allowed_origins: vec![],
        },
        Toolbox::discover(),
        None,
    );
    assert!(state.set_auth(Arc::new(AuthContext {
        auth: Auth::with_token(Secret::new(TOKEN)),
        allowed_origins: vec![],
        oidc: None,
        sso: None,
    })));
    rt.block_on(state.runtime().instances().start()).unwrap();
    let router = app(state.clone());
    let mut runner = TestRunner::new(Config {
        cases: 1500,
        failure_persistence: None,
        ..Config::default()
    });
    let seen = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let result = runner.run(&case(), |c| {
        let Ok(uri) = c.path.parse::<axum::http::Uri>() else {
            return Ok(()); // Not a request a client could send.
        };
        let mut req = Request::builder().method(c.method.clone()).uri(uri);
        if let Some(a) = &c.auth {
            req = req.header("authorization", a.as_str());
        }
        if let Some(t) = c.content_type {
            req = req.header("content-type", t);
        }
        if let Some(o) = c.origin {
            req = req.header("origin", o);
        }
        let req = req.body(Body::from(c.body.clone())).unwrap();
        let (status, body) = rt.block_on(async {
            let resp = router.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            // Event streams never end: a status is all there is to check.
            if resp
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
            {
                return (status, Vec::new());
            }
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, bytes.to_vec())
        });
        *seen.lock().unwrap().entry(status.as_u16()).or_default() += 1;
        if status.is_server_error() {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let code = v["code"].as_str().unwrap_or("");
            prop_assert!(
                matches!(
                    (status.as_u16(), code),
                    (502, "storage_unavailable") | (503, "instance_starting")
                ),
                "{} {} -> {status} {}",
                c.method,
                c.path,
                String::from_utf8_lossy(&body)
            );
        }
        let text = String::from_utf8_lossy(&body);
        if status.as_u16() >= 400 && c.path.starts_with("/api") {
            prop_assert!(
                serde_json::from_slice::<lifeboat_shared::ApiError>(&body).is_ok(),
                "{} {} -> {status}, not an ApiError: {text}",
                c.method,
                c.path.chars().take(80).collect::<String>()
            );
        }
        for long in [LONG_SEGMENT, LONG_VALUE] {
            prop_assert!(
                !text.contains(&long.repeat(100)),
                "{} {} -> {status} quotes a long input back ({} bytes)",
                c.method,
                c.path.chars().take(80).collect::<String>(),
                text.len()
            );
        }
        // Nothing the client sent comes back as an internal error, and a secret-looking
        // value sent in a body is never echoed.
        prop_assert!(
            !String::from_utf8_lossy(&body).contains(TOKEN),
            "the token was echoed: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(())
    });
    // Let any backup a valid request started finish before the instance goes away.
    rt.block_on(async {
        state
            .jobs()
            .shutdown(std::time::Duration::from_secs(60))
            .await;
        for i in state.instances() {
            i.stop().await.unwrap();
        }
    });
    result.unwrap();
    // The generator reaches the handlers, not only the authentication in front of them.
    let seen = seen.into_inner().unwrap();
    eprintln!("statuses: {seen:?}");
    for want in [200, 401, 404] {
        assert!(seen.contains_key(&want), "no {want} in {seen:?}");
    }
    assert!(
        seen.keys()
            .any(|s| matches!(s, 400 | 405 | 413 | 415 | 422)),
        "no handler-level rejection in {seen:?}"
    );
}
