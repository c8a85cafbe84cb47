//! The Kubernetes secret source (`secrets::KubeSecrets`) through a real `kube::Client`,
//! against the real test control plane (`lifeboat_e2e::cluster`: real RBAC, real
//! `stringData` folding, a real audit log to count requests), and against servers that are
//! not an API server at all (a closed port, a silent one, a web page).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lifeboat::secrets::{
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GOOGLE_SERVICE_ACCOUNT_JSON, KubeSecrets,
    RESTIC_PASSPHRASE, SecretError, SecretSource, SecretValues,
};
use lifeboat_e2e::cluster::Cluster;
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

/// Lifeboat's view of the cluster: a service account that may `get` Secrets in [`NS`] only
/// (none in `other`), as the Role in `deploy/` grants.
struct Fixture {
    cluster: Cluster,
    rt: tokio::runtime::Runtime,
    client: kube::Client,
}

const RBAC: &str = "apiVersion: v1
kind: ServiceAccount
metadata: {name: lifeboat, namespace: dash-apps}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: lifeboat-secrets, namespace: dash-apps}
rules:
- apiGroups: [\"\"]
  resources: [secrets]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: lifeboat-secrets, namespace: dash-apps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: lifeboat-secrets}
subjects:
- {kind: ServiceAccount, name: lifeboat, namespace: dash-apps}
";

impl Fixture {
    fn start() -> Self {
        let cluster = Cluster::start().unwrap();
        for ns in [NS, "other"] {
            cluster.kubectl_ok(&["create", "namespace", ns]).unwrap();
        }
        cluster.apply_str(RBAC).unwrap();
        let token = cluster
            .kubectl_ok(&["-n", NS, "create", "token", "lifeboat"])
            .unwrap();
        let kubeconfig = cluster.token_kubeconfig("lifeboat", token.trim()).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let client = rt.block_on(async {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            kube::Client::try_from(config).unwrap()
        });
        Self {
            cluster,
            rt,
            client,
        }
    }

    fn source(&self, namespace: &str) -> KubeSecrets {
        KubeSecrets::new(self.client.clone(), namespace)
    }

    fn read(&self, namespace: &str, name: &str) -> Result<SecretValues, SecretError> {
        self.rt.block_on(self.source(namespace).read(name))
    }

    /// `kubectl apply` of a manifest, as an admin would.
    fn apply(&self, manifest: &serde_json::Value) {
        self.cluster.apply_str(&manifest.to_string()).unwrap();
    }

    fn s3_secret(&self, namespace: &str, name: &str) {
        self.cluster
            .kubectl_ok(&[
                "-n",
                namespace,
                "create",
                "secret",
                "generic",
                name,
                &format!("--from-literal={AWS_ACCESS_KEY_ID}={AKID}"),
                &format!("--from-literal={AWS_SECRET_ACCESS_KEY}={SECRET_KEY}"),
                &format!("--from-literal={RESTIC_PASSPHRASE}={PASSPHRASE}"),
            ])
            .unwrap();
    }

    /// The requests Lifeboat's service account made, as `VERB path-ish` from the audit log.
    fn requests(&self) -> Vec<String> {
        let me = format!("system:serviceaccount:{NS}:lifeboat");
        self.cluster
            .audit_entries()
            .iter()
            .filter(|e| e["user"]["username"] == me.as_str() && e["stage"] == "ResponseComplete")
            .map(|e| {
                format!(
                    "{} {} {}/{} {}",
                    e["verb"].as_str().unwrap_or(""),
                    e["objectRef"]["resource"].as_str().unwrap_or(""),
                    e["objectRef"]["namespace"].as_str().unwrap_or(""),
                    e["objectRef"]["name"].as_str().unwrap_or(""),
                    e["responseStatus"]["code"]
                )
            })
            .collect()
    }

    /// Waits until the audit log has `n` of Lifeboat's requests (it is written a moment
    /// after the response).
    fn wait_requests(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.requests();
            if r.len() >= n || Instant::now() > deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One control plane for every check (starting one takes tens of seconds).
#[test]
fn against_the_real_api_server() {
    let f = Fixture::start();
    reads_keys_and_passphrase_from_data(&f);
    reads_a_secret_applied_with_string_data(&f);
    missing_secret_says_which_kubectl_to_run(&f);
    forbidden_namespace_explains_rbac(&f);
    write_is_read_only_and_sends_nothing(&f);
    bad_names_never_reach_the_server(&f);
    binary_value_names_the_key_not_the_value(&f);
}

fn reads_keys_and_passphrase_from_data(f: &Fixture) {
    f.s3_secret(NS, "lifeboat-s3");
    let before = f.requests().len();
    let values = f.read(NS, "lifeboat-s3").unwrap();
    assert_eq!(values.get(AWS_ACCESS_KEY_ID).unwrap().expose(), AKID);
    assert_eq!(
        values.get(AWS_SECRET_ACCESS_KEY).unwrap().expose(),
        SECRET_KEY
    );
    assert_eq!(values.passphrase().unwrap().expose(), PASSPHRASE);
    assert!(values.has_credentials());
    let creds = values.bucket_credentials();
    assert_eq!(creds.access_key_id.unwrap().expose(), AKID);
    // Exactly one request: a `get` of that Secret in that namespace, allowed.
    let requests = f.wait_requests(before + 1);
    assert_eq!(
        requests[before..],
        ["get secrets dash-apps/lifeboat-s3 200"]
    );
    // Neither the values nor the source print a value.
    let debug = format!("{values:?} {:?}", f.source(NS));
    for v in VALUES {
        assert!(!debug.contains(v), "{debug}");
    }
    assert!(
        debug.contains(AWS_ACCESS_KEY_ID) && debug.contains(NS),
        "{debug}"
    );
}

fn reads_a_secret_applied_with_string_data(f: &Fixture) {
    let gcs_json = r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n"}"#;
    // `kubectl apply` of a manifest with stringData only (the server folds it into data);
    // a value may hold newlines and quotes.
    f.apply(&json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "lifeboat-gcs", "namespace": NS},
        "stringData": {GOOGLE_SERVICE_ACCOUNT_JSON: gcs_json, RESTIC_PASSPHRASE: PASSPHRASE},
    }));
    // Both: stringData wins over data for the same key.
    f.apply(&json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "lifeboat-mixed", "namespace": NS},
        "data": {AWS_ACCESS_KEY_ID: "b2xkLWtleQ==", AWS_SECRET_ACCESS_KEY: "c2VjcmV0"},
        "stringData": {AWS_ACCESS_KEY_ID: "AKIA-STRINGDATA-VALUE"},
    }));
    let gcs = f.read(NS, "lifeboat-gcs").unwrap();
    assert_eq!(
        gcs.get(GOOGLE_SERVICE_ACCOUNT_JSON).unwrap().expose(),
        gcs_json
    );
    assert_eq!(gcs.passphrase().unwrap().expose(), PASSPHRASE);
    assert!(gcs.get(AWS_ACCESS_KEY_ID).is_none());

    let mixed = f.read(NS, "lifeboat-mixed").unwrap();
    assert_eq!(
        mixed.get(AWS_ACCESS_KEY_ID).unwrap().expose(),
        "AKIA-STRINGDATA-VALUE"
    );
    assert_eq!(mixed.get(AWS_SECRET_ACCESS_KEY).unwrap().expose(), "secret");
    assert!(mixed.passphrase().is_none());
}

fn missing_secret_says_which_kubectl_to_run(f: &Fixture) {
    // The same name in another namespace does not count.
    f.s3_secret("other", "lifeboat-azure");
    let e = f.read(NS, "lifeboat-azure").unwrap_err();
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
    f.s3_secret(NS, "lifeboat-gone");
    f.read(NS, "lifeboat-gone").unwrap();
    f.cluster
        .kubectl_ok(&["-n", NS, "delete", "secret", "lifeboat-gone"])
        .unwrap();
    assert!(matches!(
        f.read(NS, "lifeboat-gone"),
        Err(SecretError::NotFound { .. })
    ));
}

fn forbidden_namespace_explains_rbac(f: &Fixture) {
    // The service account may read Secrets only in its own namespace: 403 in `other`
    // whether or not the Secret exists (authorization comes first).
    for name in ["lifeboat-azure", "lifeboat-missing"] {
        let e = f.read("other", name).unwrap_err();
        let text = shown(&e);
        assert!(matches!(e, SecretError::Forbidden { .. }), "{text}");
        assert!(text.contains("service account"), "{text}");
        assert!(text.contains("`get` on `secrets`"), "{text}");
        assert!(text.contains("RBAC") && text.contains("other"), "{text}");
    }
    let refused: Vec<String> = f
        .wait_requests(0)
        .into_iter()
        .filter(|r| r.starts_with("get secrets other/"))
        .collect();
    assert_eq!(
        refused,
        [
            "get secrets other/lifeboat-azure 403",
            "get secrets other/lifeboat-missing 403"
        ]
    );
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

fn write_is_read_only_and_sends_nothing(f: &Fixture) {
    let before = f.requests().len();
    let mut values = SecretValues::default();
    values.set_passphrase(Some(PASSPHRASE));
    let e =
        f.rt.block_on(f.source(NS).write("lifeboat-s3", &values))
            .unwrap_err();
    let text = shown(&e);
    assert!(matches!(e, SecretError::ReadOnly), "{text}");
    assert!(text.contains("kubectl"), "{text}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(f.requests().len(), before, "nothing was sent");
}

fn bad_names_never_reach_the_server(f: &Fixture) {
    let before = f.requests().len();
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
        let e = f.read(NS, bad).unwrap_err();
        assert!(matches!(e, SecretError::BadName(_)), "{bad:?}: {e}");
    }
    // A namespace that is not a DNS-1123 label is refused too.
    let e = f.read("../kube-system", "lifeboat-s3").unwrap_err();
    assert!(matches!(e, SecretError::Unavailable { .. }), "{e}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(f.requests().len(), before, "no bad name reached the server");

    // A dotted subdomain name is fine.
    f.s3_secret(NS, "lifeboat.s3-2");
    assert!(f.read(NS, "lifeboat.s3-2").unwrap().has_credentials());
    assert_eq!(f.wait_requests(before + 1).len(), before + 1);
}

fn binary_value_names_the_key_not_the_value(f: &Fixture) {
    let mut bytes = SECRET_KEY.as_bytes().to_vec();
    bytes.push(0xff);
    let file = std::env::temp_dir().join(format!("lifeboat-binary-{}", std::process::id()));
    std::fs::write(&file, bytes).unwrap();
    f.cluster
        .kubectl_ok(&[
            "-n",
            NS,
            "create",
            "secret",
            "generic",
            "lifeboat-binary",
            &format!("--from-literal={AWS_ACCESS_KEY_ID}={AKID}"),
            &format!("--from-file={AWS_SECRET_ACCESS_KEY}={}", file.display()),
        ])
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let e = f.read(NS, "lifeboat-binary").unwrap_err();
    let text = shown(&e);
    assert!(
        matches!(&e, SecretError::NotText { key, .. } if key == AWS_SECRET_ACCESS_KEY),
        "{text}"
    );
}
