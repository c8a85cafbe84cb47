//! GCS without a server: no emulator works with object_store here (see the toolchain guide),
//! so these tests check the configuration at the request level — validation, the restic
//! repository string and its key file, and the requests object_store sends, caught by a
//! stub HTTP server on 127.0.0.1 (`gcs_base_url` in a test-only service account key).
#![allow(clippy::unwrap_used)]

mod config_support;

use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, Uri};
use config_support::{Fixture, check};
use serde_json::json;

async fn stub_gcs() -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen2 = seen.clone();
    let app = axum::Router::new().fallback(move |method: axum::http::Method, uri: Uri| {
        let seen = seen2.clone();
        async move {
            seen.lock().unwrap().push(format!("{method} {uri}"));
            (
                StatusCode::FORBIDDEN,
                r#"{"error":{"code":403,"message":"lifeboat@p.iam.gserviceaccount.com does not have storage.objects.list access","errors":[{"reason":"forbidden"}]}}"#,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, seen, task)
}

fn key_json(base: &str) -> String {
    json!({
        "gcs_base_url": base, "disable_oauth": true, "client_email": "lifeboat@p.iam.gserviceaccount.com",
        "private_key": "", "private_key_id": "", "project_id": "demo-project",
    })
    .to_string()
}

#[tokio::test]
async fn gcs_requests_target_the_bucket_and_prefix_and_restic_gets_a_private_key_file() {
    let (base, seen, server) = stub_gcs().await;
    let f = Fixture::new();
    let body = json!({
        "config": {"provider": {"provider": "gcs", "bucket": "lifeboat-backups", "prefix": "/prod/"}, "secret_name": "lifeboat-gcs"},
        "credentials": {"provider": "gcs", "service_account_json": key_json(&base)},
    });
    let (s, v) = f.put_config(body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Reachability is checked against storage.googleapis.com, which this machine cannot reach
    // (only package registries are); take the bucket listing verdict from a direct verify of
    // the target instead.
    let target = f.state.config().current_target().await.unwrap();
    assert_eq!(target.restic.repository, "gs:lifeboat-backups:/prod/restic");
    assert_eq!(target.prefix.as_ref(), "prod");
    let env: Vec<(&str, String)> = target
        .restic
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose().to_owned()))
        .collect();
    // The key reaches restic as a file the runtime writes 0600 for each run and removes
    // after it (see `runtime::host::process`), never in its environment or arguments.
    let key_file = target
        .restic
        .env_files
        .iter()
        .find(|(k, _)| k == "GOOGLE_APPLICATION_CREDENTIALS")
        .map(|(_, v)| v.expose().to_owned())
        .unwrap();
    let parsed = |j: &str| serde_json::from_str::<serde_json::Value>(j).unwrap();
    assert_eq!(parsed(&key_file), parsed(&key_json(&base)));
    assert!(!env.iter().any(|(k, _)| k.starts_with("GOOGLE_APPLICATION")));
    assert!(env.contains(&("GOOGLE_PROJECT_ID", "demo-project".into())));

    // The listing object_store sends: the XML API, the bucket, the prefix.
    use object_store::ObjectStore as _;
    let err = target
        .store
        .list_with_delimiter(Some(&target.prefix))
        .await
        .unwrap_err();
    let failure = lifeboat::storage::verify::classify(&err);
    assert_eq!(
        failure,
        lifeboat::storage::verify::Failure::Permission,
        "{err}"
    );
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /lifeboat%2Dbackups?list-type=2")
                && r.contains("prefix=prod%2F")),
        "{requests:?}"
    );
    // And a probe write goes to the XML API under <prefix>/probes/.
    use object_store::ObjectStoreExt as _;
    let _ = target
        .store
        .put(&target.key("probes/x"), b"x".to_vec().into())
        .await;
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| *r == "PUT /lifeboat%2Dbackups/prod%2Fprobes%2Fx"),
        "{requests:?}"
    );
    server.abort();
}

#[tokio::test]
async fn gcs_verify_without_credentials_says_what_is_missing() {
    let f = Fixture::new();
    let report = f
        .verify(Some(json!({"config": {"provider": {"provider": "gcs", "bucket": "lifeboat-backups"}, "secret_name": "nothing-here"}})))
        .await;
    assert_eq!(report["ok"], false);
    // Either the endpoint is unreachable from this sandbox, or the missing key is named.
    let reach = check(&report, "reachable");
    if reach["status"] == "ok" {
        let c = check(&report, "credentials");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("GOOGLE_SERVICE_ACCOUNT_JSON"),
            "{c}"
        );
    } else {
        assert!(reach["hint"].is_string());
    }
}
