//! The Kubernetes secret source (`secrets::KubeSecrets`) through a real `kube::Client`
//! against `lifeboat_e2e::fake_kube`, an in-memory API server on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lifeboat::secrets::{
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GOOGLE_SERVICE_ACCOUNT_JSON, KubeSecrets,
    RESTIC_PASSPHRASE, SecretError, SecretSource, SecretValues,
};
use lifeboat_e2e::fake_kube::FakeKube;
use serde_json::json;

const NS: &str = "dash-apps";
const AKID: &str = "AKIAFAKEKUBE0000VALUE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYKUBEVALUE";
const PASSPHRASE: &str = "correct horse battery staple kube";

/// Every value a test puts in a Secret: none may show in an error or `Debug` output.
const VALUES: [&str; 4] = [AKID, SECRET_KEY, PASSPHRASE, "AKIA-STRINGDATA-VALUE"];

fn client(url: &str) -> kube::Client {
    kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap()
}

fn source(url: &str) -> KubeSecrets {
    KubeSecrets::new(client(url), NS)
}

/// The error's `Display` and `Debug`, checked to hold no value, and returned for asserts.
fn shown(e: &SecretError) -> String {
    let text = format!("{e} | {e:?}");
    for v in VALUES {
        assert!(!text.contains(v), "a value leaked: {text}");
    }
    text
}

fn s3_secret(fake: &FakeKube, name: &str) {
    fake.add_secret(
        NS,
        name,
        [
            (AWS_ACCESS_KEY_ID, AKID),
            (AWS_SECRET_ACCESS_KEY, SECRET_KEY),
            (RESTIC_PASSPHRASE, PASSPHRASE),
        ],
    );
}

#[tokio::test]
async fn reads_keys_and_passphrase_from_data() {
    let fake = FakeKube::start().await.unwrap();
    s3_secret(&fake, "lifeboat-s3");
    let secrets = source(fake.url());

    let values = secrets.read("lifeboat-s3").await.unwrap();
    assert_eq!(values.get(AWS_ACCESS_KEY_ID).unwrap().expose(), AKID);
    assert_eq!(
        values.get(AWS_SECRET_ACCESS_KEY).unwrap().expose(),
        SECRET_KEY
    );
    assert_eq!(values.passphrase().unwrap().expose(), PASSPHRASE);
    assert!(values.has_credentials());
    let creds = values.bucket_credentials();
    assert_eq!(creds.access_key_id.unwrap().expose(), AKID);

    // Exactly one request, on the path a real API server serves.
    assert_eq!(
        fake.requests(),
        ["GET /api/v1/namespaces/dash-apps/secrets/lifeboat-s3"]
    );
    // Neither the values nor the source print a value.
    let debug = format!("{values:?} {secrets:?}");
    for v in VALUES {
        assert!(!debug.contains(v), "{debug}");
    }
    assert!(
        debug.contains(AWS_ACCESS_KEY_ID) && debug.contains(NS),
        "{debug}"
    );
}

#[tokio::test]
async fn reads_a_secret_applied_with_string_data() {
    let fake = FakeKube::start().await.unwrap();
    let gcs_json = r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n"}"#;
    // `kubectl apply` of a manifest with stringData only (the server folds it into data);
    // a value may hold newlines and quotes.
    fake.apply_secret(
        NS,
        &json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "lifeboat-gcs"},
            "stringData": {GOOGLE_SERVICE_ACCOUNT_JSON: gcs_json, RESTIC_PASSPHRASE: PASSPHRASE},
        }),
    )
    .unwrap();
    // Both: stringData wins over data for the same key.
    fake.apply_secret(
        NS,
        &json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "lifeboat-mixed", "namespace": NS},
            "data": {AWS_ACCESS_KEY_ID: "b2xkLWtleQ==", AWS_SECRET_ACCESS_KEY: "c2VjcmV0"},
            "stringData": {AWS_ACCESS_KEY_ID: "AKIA-STRINGDATA-VALUE"},
        }),
    )
    .unwrap();
    let secrets = source(fake.url());

    let gcs = secrets.read("lifeboat-gcs").await.unwrap();
    assert_eq!(
        gcs.get(GOOGLE_SERVICE_ACCOUNT_JSON).unwrap().expose(),
        gcs_json
    );
    assert_eq!(gcs.passphrase().unwrap().expose(), PASSPHRASE);
    assert!(gcs.get(AWS_ACCESS_KEY_ID).is_none());

    let mixed = secrets.read("lifeboat-mixed").await.unwrap();
    assert_eq!(
        mixed.get(AWS_ACCESS_KEY_ID).unwrap().expose(),
        "AKIA-STRINGDATA-VALUE"
    );
    assert_eq!(mixed.get(AWS_SECRET_ACCESS_KEY).unwrap().expose(), "secret");
    assert!(mixed.passphrase().is_none());
}

#[tokio::test]
async fn missing_secret_says_which_kubectl_to_run() {
    let fake = FakeKube::start().await.unwrap();
    s3_secret(&fake, "lifeboat-s3");
    // The same name in another namespace does not count.
    fake.add_secret("other", "lifeboat-azure", [(AWS_ACCESS_KEY_ID, AKID)]);
    let secrets = source(fake.url());

    let e = secrets.read("lifeboat-azure").await.unwrap_err();
    let text = shown(&e);
    assert!(
        matches!(&e, SecretError::NotFound { namespace, name } if namespace == NS && name == "lifeboat-azure"),
        "{text}"
    );
    assert!(
        text.contains("kubectl -n dash-apps create secret generic lifeboat-azure"),
        "{text}"
    );
    assert!(text.contains("AZURE_ACCOUNT_KEY") && text.contains(RESTIC_PASSPHRASE));

    // Deleted after a successful read: not found again.
    secrets.read("lifeboat-s3").await.unwrap();
    fake.delete_secret(NS, "lifeboat-s3");
    assert!(matches!(
        secrets.read("lifeboat-s3").await,
        Err(SecretError::NotFound { .. })
    ));
}

#[tokio::test]
async fn forbidden_namespace_explains_rbac() {
    let fake = FakeKube::start().await.unwrap();
    s3_secret(&fake, "lifeboat-s3");
    fake.forbid_namespace(NS);
    let secrets = source(fake.url());

    // 403 whether or not the Secret exists (authorization comes first).
    for name in ["lifeboat-s3", "lifeboat-missing"] {
        let e = secrets.read(name).await.unwrap_err();
        let text = shown(&e);
        assert!(matches!(e, SecretError::Forbidden { .. }), "{text}");
        assert!(text.contains("service account"), "{text}");
        assert!(text.contains("`get` on `secrets`"), "{text}");
        assert!(text.contains("RBAC") && text.contains(NS), "{text}");
    }
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn closed_port_is_unavailable_within_seconds() {
    let port = lifeboat_e2e::servers::free_port().unwrap();
    // https too: the rustls client config builds (both crypto providers are in the tree).
    for scheme in ["http", "https"] {
        let secrets = source(&format!("{scheme}://127.0.0.1:{port}"));
        let started = Instant::now();
        let e = secrets.read("lifeboat-s3").await.unwrap_err();
        let text = shown(&e);
        assert!(started.elapsed() < Duration::from_secs(5), "{text}");
        assert!(matches!(e, SecretError::Unavailable { .. }), "{text}");
        assert!(text.contains("cannot reach the API server"), "{text}");
        assert!(text.contains("lifeboat-s3") && text.contains(NS), "{text}");
    }
}

#[tokio::test]
async fn silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let secrets = source(&url).with_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let e = secrets.read("lifeboat-s3").await.unwrap_err();
    let text = shown(&e);
    assert!(started.elapsed() < Duration::from_secs(3), "{text}");
    assert!(matches!(e, SecretError::Unavailable { .. }), "{text}");
    assert!(text.contains("did not answer within 0.5 s"), "{text}");
    drop(listener);
}

#[tokio::test]
async fn a_web_page_instead_of_the_api_is_unavailable() {
    // A wrong URL that reaches some web server (an ingress's HTML page, 200).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(|| async { axum::response::Html("<html><body>Welcome to nginx!</body></html>") });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let e = source(&url).read("lifeboat-s3").await.unwrap_err();
    let text = shown(&e);
    assert!(matches!(e, SecretError::Unavailable { .. }), "{text}");
    assert!(text.contains("not a Secret"), "{text}");
    server.abort();
}

#[tokio::test]
async fn write_is_read_only_and_sends_nothing() {
    let fake = FakeKube::start().await.unwrap();
    let secrets = source(fake.url());
    let mut values = SecretValues::default();
    values.set_passphrase(Some(PASSPHRASE));
    let e = secrets.write("lifeboat-s3", &values).await.unwrap_err();
    let text = shown(&e);
    assert!(matches!(e, SecretError::ReadOnly), "{text}");
    assert!(text.contains("kubectl"), "{text}");
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn bad_names_never_reach_the_server() {
    let fake = FakeKube::start().await.unwrap();
    s3_secret(&fake, "lifeboat-s3");
    let secrets = source(fake.url());
    let long = "a".repeat(254);
    for bad in [
        "",
        "Lifeboat-S3",
        "../lifeboat-s3",
        "lifeboat-s3/..",
        "lifeboat_s3",
        "-lifeboat",
        "lifeboat.",
        "a..b",
        "lifeboat-s3?watch=1",
        "lifeboat%2Fs3",
        long.as_str(),
    ] {
        let e = secrets.read(bad).await.unwrap_err();
        assert!(matches!(e, SecretError::BadName(_)), "{bad:?}: {e}");
    }
    // A namespace that is not a DNS-1123 label is refused too.
    let e = KubeSecrets::new(client(fake.url()), "../kube-system")
        .read("lifeboat-s3")
        .await
        .unwrap_err();
    assert!(matches!(e, SecretError::Unavailable { .. }), "{e}");
    assert_eq!(fake.request_count(), 0);

    // A dotted subdomain name is fine.
    fake.add_secret(NS, "lifeboat.s3-2", [(AWS_ACCESS_KEY_ID, AKID)]);
    assert!(
        secrets
            .read("lifeboat.s3-2")
            .await
            .unwrap()
            .has_credentials()
    );
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn binary_value_names_the_key_not_the_value() {
    let fake = FakeKube::start().await.unwrap();
    let mut bytes = SECRET_KEY.as_bytes().to_vec();
    bytes.push(0xff);
    fake.add_secret(
        NS,
        "lifeboat-s3",
        [
            (AWS_ACCESS_KEY_ID, AKID.as_bytes().to_vec()),
            (AWS_SECRET_ACCESS_KEY, bytes),
        ],
    );
    let e = source(fake.url()).read("lifeboat-s3").await.unwrap_err();
    let text = shown(&e);
    assert!(
        matches!(&e, SecretError::NotText { key, .. } if key == AWS_SECRET_ACCESS_KEY),
        "{text}"
    );
}
