//! The kubernetes runtime on the real control plane: Lifeboat in its pod of a Dash
//! Enterprise-shaped namespace, configured from a Secret made with the README's
//! `kubectl create secret generic`, backs up the system Postgres over pgBackRest's TLS
//! protocol (no `kubectl exec`) and the platform's configuration objects into moto, and
//! is never refused anything by the API server while doing it.
//!
//! Needs the cluster binaries (`scripts/install.sh cluster`), moto, PostgreSQL, pgBackRest,
//! restic and `target/debug/lifeboat`: `make test` provides all of them.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_e2e::cluster::Cluster;
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn wait(&self, id: &str, secs: u64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let (_, op) = self
                .call(reqwest::Method::GET, &format!("/operations/{id}"), None)
                .await;
            if !matches!(op["status"].as_str(), Some("pending" | "running")) {
                return op;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still running: {op}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The folder of a claim's volume on the node.
fn claim_dir(cluster: &Cluster, ns: &str, claim: &str) -> PathBuf {
    let pv = cluster
        .kubectl_ok(&[
            "-n",
            ns,
            "get",
            "pvc",
            claim,
            "-o",
            "jsonpath={.spec.volumeName}",
        ])
        .unwrap();
    let path = cluster
        .kubectl_ok(&[
            "get",
            "pv",
            pv.trim(),
            "-o",
            "jsonpath={.spec.hostPath.path}",
        ])
        .unwrap();
    PathBuf::from(path.trim())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_now_in_a_namespace_over_pgbackrest_tls() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::start)
            .await
            .unwrap()
            .unwrap(),
    );
    let moto = Moto::start(&["backups"]).await.unwrap();
    let c = cluster.clone();
    let ns = tokio::task::spawn_blocking(move || c.dash_namespace("dash"))
        .await
        .unwrap()
        .unwrap();
    let ip = cluster.pod_ip("dash", "app=lifeboat").unwrap();
    let api = Api {
        http: reqwest::Client::new(),
        url: format!("http://{ip}:8080"),
        token: ns.lifeboat_token.clone(),
    };

    // The README's command (with the name Lifeboat's Role lets it read).
    let passphrase = "k8s-backup-passphrase";
    cluster
        .kubectl_ok(&[
            "-n",
            "dash",
            "create",
            "secret",
            "generic",
            "lifeboat-storage",
            &format!("--from-literal=AWS_ACCESS_KEY_ID={}", moto.access_key_id),
            &format!(
                "--from-literal=AWS_SECRET_ACCESS_KEY={}",
                moto.secret_access_key
            ),
            &format!("--from-literal=RESTIC_PASSPHRASE={passphrase}"),
        ])
        .unwrap();
    let (status, view) = api.call(reqwest::Method::GET, "/config", None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["managed_secret"]["name"], "lifeboat-storage", "{view}");
    assert_eq!(
        view["managed_secret"]["keys"],
        json!([
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "RESTIC_PASSPHRASE"
        ]),
        "{view}"
    );
    assert!(
        !view.to_string().contains(&moto.secret_access_key),
        "{view}"
    );
    assert!(!view.to_string().contains(passphrase), "{view}");

    let s3 = json!({"provider": "s3", "region": "us-east-1", "bucket": "backups",
                    "prefix": "dash", "endpoint": moto.endpoint});
    // Credentials change in the Secret, not through the API.
    let (status, refused) = api
        .call(
            reqwest::Method::PUT,
            "/config",
            Some(json!({"config": {"provider": s3, "secret_name": "lifeboat-storage"},
                        "credentials": {"provider": "s3", "access_key_id": "AKIA", "secret_access_key": "x"}})),
        )
        .await;
    assert!((400..500).contains(&status), "{status} {refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("kubectl"),
        "{refused}"
    );
    let (status, saved) = api
        .call(
            reqwest::Method::PUT,
            "/config",
            Some(json!({"config": {"provider": s3, "secret_name": "lifeboat-storage"}})),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["verify"]["ok"], true, "{saved}");
    // Saved in the ConfigMap (so it can be managed declaratively), not on Lifeboat's volume.
    let kept = cluster
        .kubectl_ok(&[
            "-n",
            "dash",
            "get",
            "configmap",
            "lifeboat-config",
            "-o",
            "jsonpath={.data.config\\.json}",
        ])
        .unwrap();
    let kept: Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(
        kept["config"]["provider"]["endpoint"],
        moto.endpoint.as_str(),
        "{kept}"
    );
    assert!(
        !claim_dir(&cluster, "dash", "lifeboat-staging")
            .join("config.json")
            .exists()
    );

    // The instance is up once pgBackRest's stanza exists (the sidecar answered over TLS).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, info) = api.call(reqwest::Method::GET, "/instance", None).await;
        if status == 200 {
            assert_eq!(info["runtime"], "kubernetes", "{info}");
            assert_eq!(info["namespace"], "dash", "{info}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the instance did not come up: {status} {info}\n{}",
            cluster.diagnose("dash")
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let op = backup_succeeds(&cluster, &api, "before the upgrade").await;
    let step = |id: &str| {
        op["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    // A full pgBackRest backup (label `YYYYMMDD-HHMMSSF`), and the configuration objects.
    assert!(
        step("postgres")["detail"].as_str().unwrap().contains("F ("),
        "{op}"
    );
    assert!(
        step("configuration")["detail"]
            .as_str()
            .unwrap()
            .contains(" files ("),
        "{op}"
    );

    // It is in the catalog, from this namespace.
    let (_, backups) = api.call(reqwest::Method::GET, "/backups", None).await;
    let listed = backups["backups"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{backups}");
    assert_eq!(listed[0]["source"]["namespace"], "dash", "{backups}");
    assert!(!moto.list("backups", "dash/").await.unwrap().is_empty());

    // The configuration it saved: the platform's kinds, custom resources included, cleaned.
    let config =
        claim_dir(&cluster, "dash", "lifeboat-staging").join("instances/dash/staging/config");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(config.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["kinds"]["platform.dash.example/DashApp"], 3,
        "{index}"
    );
    assert_eq!(index["kinds"]["apps/StatefulSet"], 1, "{index}");
    assert_eq!(
        index["custom_resource_definitions"],
        json!(["dashapps.platform.dash.example"])
    );
    let service =
        std::fs::read_to_string(config.join("5-core.Service/system-postgres.yaml")).unwrap();
    let app =
        std::fs::read_to_string(config.join("7-platform.dash.example.DashApp/forecasting.yaml"))
            .unwrap();
    for (what, yaml) in [("service", &service), ("dashapp", &app)] {
        for server_set in [
            "uid:",
            "resourceVersion:",
            "managedFields:",
            "creationTimestamp:",
            "status:",
            "clusterIP:",
        ] {
            assert!(
                !yaml.contains(server_set),
                "{what} keeps {server_set}\n{yaml}"
            );
        }
    }
    assert!(
        app.contains("kind: DashApp") && app.contains("repository:"),
        "{app}"
    );
    assert!(
        !config
            .join("3-core.ConfigMap/kube-root-ca.crt.yaml")
            .exists(),
        "the namespace's root CA is not configuration"
    );

    // Lifeboat's service account was never refused anything, and it read the system
    // Postgres through pgBackRest's TLS server, never through exec.
    let sa = "system:serviceaccount:dash:lifeboat";
    let entries = cluster.audit_entries();
    let by_lifeboat: Vec<&Value> = entries
        .iter()
        .filter(|e| e["user"]["username"] == sa)
        .collect();
    assert!(
        !by_lifeboat.is_empty(),
        "no request by {sa} in the audit log"
    );
    let refused: Vec<&&Value> = by_lifeboat
        .iter()
        .filter(|e| e["responseStatus"]["code"].as_u64().unwrap_or(200) == 403)
        .collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    assert!(
        !by_lifeboat
            .iter()
            .any(|e| e["objectRef"]["subresource"] == "exec"),
        "Lifeboat used exec"
    );
    interrupted_backups_leave_a_clean_state(&cluster, &api).await;
    a_local_lifeboat_restores_it(&moto, passphrase).await;
    drop(moto);
    drop(cluster);
}

/// Runs Backup Now to the end; it must succeed. Returns the operation.
async fn backup_succeeds(cluster: &Cluster, api: &Api, description: &str) -> Value {
    let (status, op) = api
        .call(
            reqwest::Method::POST,
            "/backups",
            Some(json!({ "description": description })),
        )
        .await;
    assert_eq!(status, 202, "{op}");
    let op = api.wait(op["id"].as_str().unwrap(), 240).await;
    assert!(
        matches!(
            op["status"].as_str(),
            Some("succeeded" | "succeeded_with_warnings")
        ),
        "{op}\n{}",
        cluster.diagnose("dash")
    );
    op
}

/// Starts a backup and waits until its Postgres step runs.
async fn backup_in_flight(api: &Api, description: &str) -> String {
    let (status, op) = api
        .call(
            reqwest::Method::POST,
            "/backups",
            Some(json!({ "description": description })),
        )
        .await;
    assert_eq!(status, 202, "{op}");
    let id = op["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, op) = api
            .call(reqwest::Method::GET, &format!("/operations/{id}"), None)
            .await;
        let running = op["steps"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["id"] == "postgres" && s["status"] == "running")
        });
        if running {
            return id;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ran: {op}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lifeboat's API once its (new) pod or process answers with the instance up.
async fn lifeboat_back(cluster: &Cluster, token: &str) -> Api {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        if let Ok(ip) = cluster.pod_ip("dash", "app=lifeboat") {
            let api = Api {
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap(),
                url: format!("http://{ip}:8080"),
                token: token.to_owned(),
            };
            let answer = api
                .http
                .get(format!("{}/api/v1/instance", api.url))
                .bearer_auth(token)
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return api;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Lifeboat did not come back\n{}",
            cluster.diagnose("dash")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A Lifeboat pod deleted mid-backup, and once its process killed hard: the operation ends
/// interrupted, the bucket lock is free (the next backup succeeds).
async fn interrupted_backups_leave_a_clean_state(cluster: &Cluster, api: &Api) {
    // Enough data that a backup takes a while.
    cluster
        .kubectl_ok(&[
            "-n", "dash", "exec", "system-postgres-0", "-c", "postgres", "--", "psql", "-q",
            "-h", "/var/run/postgresql", "-U", "postgres", "-c",
            "CREATE TABLE ballast AS SELECT g, repeat(md5(g::text), 16) AS pad FROM generate_series(1, 400000) g",
        ])
        .unwrap();
    let token = api.token.clone();

    let id = backup_in_flight(api, "deleted mid-backup").await;
    cluster
        .kubectl_ok(&[
            "-n",
            "dash",
            "delete",
            "pod",
            "-l",
            "app=lifeboat",
            "--wait=false",
        ])
        .unwrap();
    let api = lifeboat_back(cluster, &token).await;
    let op = api.wait(&id, 30).await;
    assert_eq!(op["status"], "interrupted", "{op}");

    let ip = cluster.pod_ip("dash", "app=lifeboat").unwrap();
    let id = backup_in_flight(&api, "killed hard mid-backup").await;
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", &format!("serve --listen {ip}:8080")])
        .status()
        .unwrap();
    assert!(killed.success(), "no Lifeboat process to kill");
    let api = lifeboat_back(cluster, &token).await;
    let op = api.wait(&id, 30).await;
    assert_eq!(op["status"], "interrupted", "{op}");

    let (_, view) = api.call(reqwest::Method::GET, "/config", None).await;
    assert_eq!(
        view["config"]["provider"]["provider"], "s3",
        "a new pod reads the ConfigMap: {view}"
    );
    backup_succeeds(cluster, &api, "after the interruptions").await;
}

/// The bucket format is one: a Lifeboat on the local runtime, pointed at the same bucket,
/// lists the kubernetes backups and restores one into a new namespace of its own.
async fn a_local_lifeboat_restores_it(moto: &Moto, passphrase: &str) {
    let dir = tempfile::tempdir().unwrap();
    lifeboat_e2e::page::open_up(dir.path()).unwrap();
    let server = lifeboat_e2e::server::Lifeboat::start(&dir.path().join("data"), &[])
        .await
        .unwrap();
    let body = json!({
        "config": {
            "provider": {"provider": "s3", "region": "us-east-1", "bucket": "backups",
                         "prefix": "dash", "endpoint": moto.endpoint},
            "secret_name": "lifeboat-s3",
        },
        "credentials": {"provider": "s3", "access_key_id": moto.access_key_id,
                        "secret_access_key": moto.secret_access_key},
        "passphrase": {"action": "set", "passphrase": passphrase},
    });
    let saved = lifeboat_e2e::page::put_config(&server, &body)
        .await
        .unwrap();
    assert_eq!(saved["verify"]["ok"], true, "{saved}");
    lifeboat_e2e::page::wait_instance(&server).await.unwrap();
    let backups = lifeboat_e2e::page::get_json(&server, "/backups")
        .await
        .unwrap();
    let from_k8s: Vec<&Value> = backups["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["source"]["namespace"] == "dash")
        .collect();
    assert!(from_k8s.len() >= 2, "{backups}");
    let id = from_k8s[0]["id"].as_str().unwrap();
    let r = server
        .api()
        .post(format!("{}/api/v1/backups/{id}/restore", server.url))
        .json(&json!({"confirmation": "restore backup", "target_namespace": "from-k8s"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let op: Value = r.json().await.unwrap();
    let op = lifeboat_e2e::page::wait_operation(&server, op["id"].as_str().unwrap(), 300)
        .await
        .unwrap();
    assert!(
        matches!(
            op["status"].as_str(),
            Some("succeeded" | "succeeded_with_warnings")
        ),
        "{op:#}"
    );
    let config = dir.path().join("data/instances/from-k8s/config");
    let app =
        std::fs::read_to_string(config.join("7-platform.dash.example.DashApp/forecasting.yaml"))
            .unwrap();
    assert!(app.contains("namespace: from-k8s"), "{app}");
}
