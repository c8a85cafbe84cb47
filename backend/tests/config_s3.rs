//! Storage configuration on S3: moto on 127.0.0.1 (authentication on), object_store and
//! restic for real. Wrong key, missing bucket, closed and hanging endpoints, passphrase
//! mismatch.
#![allow(clippy::unwrap_used)]

mod config_support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use config_support::{Fixture, check, closed_port, hanging_endpoint, restic};
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};

fn put(endpoint: &str, bucket: &str, key_id: &str, secret: &str) -> Value {
    json!({
        "config": {
            "provider": {"provider": "s3", "region": "us-east-1", "bucket": bucket, "prefix": "team/lifeboat", "endpoint": endpoint},
            "secret_name": "lifeboat-s3",
        },
        "credentials": {"provider": "s3", "access_key_id": key_id, "secret_access_key": secret},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_verify_then_wrong_key_missing_bucket_and_wrong_passphrase() {
    let moto = Moto::start(&["backups"]).await.unwrap();
    let f = Fixture::new();
    let (s, v) = f
        .put_config(put(
            &moto.endpoint,
            "backups",
            &moto.access_key_id,
            &moto.secret_access_key,
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["verify"]["ok"], true, "{v}");
    assert_eq!(v["verify"]["repository"], "empty");
    assert_eq!(v["config"]["credentials_set"], true);
    for c in v["verify"]["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
    }
    assert!(
        check(&v["verify"], "reachable")["message"]
            .as_str()
            .unwrap()
            .contains("ms")
    );

    // The target others use: restic at <endpoint>/<bucket>/<prefix>/restic.
    let target = f.state.config().current_target().await.unwrap();
    assert_eq!(
        target.restic.repository,
        format!("s3:{}/backups/team/lifeboat/restic", moto.endpoint)
    );

    // Wrong key (verified as a candidate: nothing is saved).
    let report = f
        .verify(Some(put(
            &moto.endpoint,
            "backups",
            "AKIAWRONGWRONGWRONG",
            "wrong-secret",
        )))
        .await;
    assert_eq!(report["ok"], false);
    let c = check(&report, "credentials");
    assert_eq!(c["status"], "failed", "{report}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("access key was refused"),
        "{c}"
    );
    assert_eq!(check(&report, "bucket")["status"], "skipped");

    // Missing bucket.
    let report = f
        .verify(Some(put(
            &moto.endpoint,
            "no-such-bucket",
            &moto.access_key_id,
            &moto.secret_access_key,
        )))
        .await;
    assert_eq!(check(&report, "credentials")["status"], "ok", "{report}");
    let c = check(&report, "bucket");
    assert_eq!(c["status"], "failed", "{report}");
    assert!(c["message"].as_str().unwrap().contains("no bucket"), "{c}");
    assert!(c["hint"].as_str().unwrap().contains("create it"), "{c}");

    // A repository made with another passphrase: mismatch, in words.
    let env = [
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
        ("RESTIC_PASSWORD", "made-with-this-one"),
    ];
    let (ok, _, err) = restic(&target.restic.repository, &env, &["init"]).await;
    assert!(ok, "{err}");
    let mut body = put(
        &moto.endpoint,
        "backups",
        &moto.access_key_id,
        &moto.secret_access_key,
    );
    body["passphrase"] = json!({"action": "set", "passphrase": "but-configured-this"});
    let report = f.verify(Some(body.clone())).await;
    assert_eq!(report["repository"], "passphrase_mismatch", "{report}");
    assert!(
        check(&report, "repository")["message"]
            .as_str()
            .unwrap()
            .contains("passphrase")
    );
    body["passphrase"] = json!({"action": "set", "passphrase": "made-with-this-one"});
    let report = f.verify(Some(body)).await;
    assert_eq!(report["repository"], "ready", "{report}");
    assert_eq!(report["ok"], true);
}

#[tokio::test]
async fn foreign_data_under_the_prefix_is_reported() {
    let moto = Moto::start(&["shared"]).await.unwrap();
    let f = Fixture::new();
    let body = put(
        &moto.endpoint,
        "shared",
        &moto.access_key_id,
        &moto.secret_access_key,
    );
    let (s, _) = f.put_config(body).await;
    assert_eq!(s, StatusCode::OK);
    let target = f.state.config().current_target().await.unwrap();
    use object_store::ObjectStoreExt as _;
    target
        .store
        .put(&target.key("someone-else/data.bin"), b"x".to_vec().into())
        .await
        .unwrap();
    let report = f.verify(None).await;
    assert_eq!(report["repository"], "foreign", "{report}");
    assert_eq!(check(&report, "repository")["status"], "warning");
}

#[tokio::test]
async fn unreachable_endpoint_is_named() {
    let f = Fixture::new();
    let started = Instant::now();
    let ep = format!("http://127.0.0.1:{}", closed_port());
    let report = f.verify(Some(put(&ep, "backups", "AKIA", "secret"))).await;
    let c = check(&report, "reachable");
    assert_eq!(c["status"], "failed", "{report}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{c}"
    );
    assert!(c["hint"].as_str().unwrap().contains("endpoint"), "{c}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn hanging_endpoint_is_reported_within_15_seconds() {
    let (port, server) = hanging_endpoint().await;
    let f = Fixture::new();
    let started = Instant::now();
    let ep = format!("http://127.0.0.1:{port}");
    let report = f.verify(Some(put(&ep, "backups", "AKIA", "secret"))).await;
    let took = started.elapsed();
    server.abort();
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(report["ok"], false);
    assert_eq!(check(&report, "reachable")["status"], "ok", "{report}");
    let c = check(&report, "credentials");
    assert_eq!(c["status"], "failed", "{report}");
    assert!(
        c["message"].as_str().unwrap().contains("did not answer"),
        "{c}"
    );
}
