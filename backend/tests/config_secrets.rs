//! No secret leaks: known credential and passphrase values go in through the API, a full
//! backup and restore run with them on moto, then every API response, every log line (at
//! TRACE), every object in the bucket and every file under the data dir except the secret
//! store is searched for them.
#![allow(clippy::unwrap_used)]

mod config_support;

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use config_support::{Fixture, local_config};
use lifeboat_e2e::servers::Moto;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_outside_secrets(
    dir: &std::path::Path,
    secrets: &std::path::Path,
    out: &mut Vec<std::path::PathBuf>,
) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.starts_with(secrets) {
            continue;
        }
        if p.is_dir() {
            files_outside_secrets(&p, secrets, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_appear_nowhere_but_the_secret_store() {
    let logs = Capture::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    )
    .unwrap();

    let moto = Moto::start(&["secret-test"]).await.unwrap();
    let f = Fixture::new();
    let pass1 = "Passphrase-One-7f3a9c";
    let pass2 = "Passphrase-Two-b81e44";
    let fake_secret = "FakeSecretValue-d0e1f2a3";
    let azure_key = "QXp1cmVLZXlWYWx1ZS1zZWNyZXQtOTk4ODc3";
    let gcs_key = "-----BEGIN PRIVATE KEY-----GcsKeyValue-55aa";

    let s3 = |key_id: &str, secret: &str| {
        json!({
            "config": {"provider": {"provider": "s3", "region": "us-east-1", "bucket": "secret-test", "endpoint": moto.endpoint}, "secret_name": "s3-creds"},
            "credentials": {"provider": "s3", "access_key_id": key_id, "secret_access_key": secret},
            "passphrase": {"action": "set", "passphrase": pass1},
        })
    };
    // Save with real keys (verify runs restic with them), then a passphrase change.
    let (s, v) = f
        .put_config(s3(&moto.access_key_id, &moto.secret_access_key))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let target = f.state.config().current_target().await.unwrap();
    lifeboat::storage::repository::init(
        f.state.runtime().as_ref(),
        &target.restic,
        &Default::default(),
    )
    .await
    .unwrap();
    let mut change = s3(&moto.access_key_id, &moto.secret_access_key);
    change["passphrase"] = json!({"action": "change", "old": pass1, "new": pass2});
    let (s, v) = f.put_config(change).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["verify"]["repository"], "ready", "{v}");
    // A refused key, a wrong old passphrase, other providers' secrets, bad bodies.
    f.verify(Some(s3("AKIAFAKEFAKEFAKE", fake_secret))).await;
    let mut wrong_old = s3(&moto.access_key_id, &moto.secret_access_key);
    wrong_old["passphrase"] =
        json!({"action": "change", "old": fake_secret, "new": "Another-pass-123"});
    let (s, _) = f.put_config(wrong_old).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    f.verify(Some(json!({
        "config": {"provider": {"provider": "azure", "account": "acct1", "container": "cont"}, "secret_name": "az"},
        "credentials": {"provider": "azure", "account_key": azure_key},
    }))).await;
    let (s, _) = f
        .call(
            Method::POST,
            "/api/v1/config/verify",
            Some(json!({
                "config": {"provider": {"provider": "gcs", "bucket": "b-1"}},
                "credentials": {"provider": "gcs", "service_account_json": gcs_key},
            })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A malformed body quoting a secret must not echo it.
    f.call(
        Method::POST,
        "/api/v1/config/verify",
        Some(json!({"config": local_config(""), "credentials": fake_secret})),
    )
    .await;
    f.call(Method::PUT, "/api/v1/config", Some(json!({"config": local_config(""), "passphrase": {"action": "set", "passphrase": 7, "x": fake_secret}}))).await;
    f.get_config().await;

    // A full backup and restore of the demo instance with those credentials and passphrase.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(f.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    f.state.runtime().instances().start().await.unwrap();
    let wait = |id: String| {
        let state = f.state.clone();
        async move {
            for _ in 0..1800 {
                let op = state.operations().get(&id).unwrap();
                if op.status.is_terminal() {
                    return op;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("operation {id} did not end");
        }
    };
    let (s, op) = f
        .call(
            Method::POST,
            "/api/v1/backups",
            Some(json!({"description": "secret grep"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{op}");
    let op = wait(op["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        op.status,
        lifeboat_shared::operation::OperationStatus::Succeeded,
        "{op:#?}"
    );
    let (_, list) = f.call(Method::GET, "/api/v1/backups", None).await;
    let backup = list["backups"][0]["id"].as_str().unwrap().to_owned();
    let (s, op) = f
        .call(
            Method::POST,
            &format!("/api/v1/backups/{backup}/restore"),
            Some(json!({"confirmation": "restore backup", "target_namespace": "demo"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{op}");
    let op = wait(op["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        op.status,
        lifeboat_shared::operation::OperationStatus::Succeeded,
        "{op:#?}"
    );
    f.call(Method::GET, &format!("/api/v1/operations/{}", op.id), None)
        .await;
    f.call(Method::GET, "/api/v1/audit", None).await;
    let mut bucket_text = String::new();
    {
        use futures::TryStreamExt as _;
        use object_store::ObjectStoreExt as _;
        let target = f.state.config().current_target().await.unwrap();
        let objects: Vec<_> = target.store.list(None).try_collect().await.unwrap();
        assert!(objects.len() > 5, "{objects:?}");
        for o in objects {
            let bytes = target
                .store
                .get(&o.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            bucket_text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    if let Some(i) = f.state.instance() {
        i.stop().await.unwrap();
    }

    let secrets = [
        moto.secret_access_key.as_str(),
        moto.access_key_id.as_str(),
        pass1,
        pass2,
        fake_secret,
        azure_key,
        gcs_key,
    ];
    let responses = f.responses.lock().unwrap().join("\n");
    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("storage configuration saved"),
        "logging was not captured"
    );
    let mut files = Vec::new();
    files_outside_secrets(&f.data_dir(), &f.data_dir().join("secrets"), &mut files);
    assert!(files.iter().any(|p| p.ends_with("config.json")));
    for secret in secrets {
        assert!(
            !responses.contains(secret),
            "an API response contains a secret"
        );
        assert!(!log.contains(secret), "the log contains a secret");
        assert!(
            !bucket_text.contains(secret),
            "a bucket object contains a secret"
        );
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{} contains a secret",
                file.display()
            );
        }
    }
    // The secret store does hold them, privately.
    let stored = std::fs::read_to_string(f.data_dir().join("secrets/s3-creds.json")).unwrap();
    assert!(stored.contains(pass2) && !stored.contains(pass1));
    let _ = std::io::stderr().flush();
}
