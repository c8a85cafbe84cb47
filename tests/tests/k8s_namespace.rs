//! The Dash Enterprise-shaped namespace (`cluster/namespace/`) on the test control plane:
//! its configuration objects and custom resources are there, the system Postgres runs on
//! its claim with a `pgbackrest server` sidecar answering TLS, and Lifeboat runs as a
//! Deployment and answers its API with the admin token from its Secret.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use lifeboat_e2e::cluster::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dash_enterprise_shaped_namespace_comes_up() {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .unwrap();
    let cluster = std::sync::Arc::new(cluster);
    let c = cluster.clone();
    let ns = tokio::task::spawn_blocking(move || c.dash_namespace("dash"))
        .await
        .unwrap()
        .unwrap();

    // The platform's objects, custom resources included.
    let apps = cluster
        .kubectl_ok(&["-n", "dash", "get", "dashapps", "-o", "name"])
        .unwrap();
    assert_eq!(apps.lines().count(), 3, "{apps}");
    for kind in [
        "configmap/dash-platform",
        "secret/dash-license",
        "ingress/dash",
        "role/app-manager",
    ] {
        cluster.kubectl_ok(&["-n", "dash", "get", kind]).unwrap();
    }
    // The CRD's schema is enforced by the real API server.
    let bad = cluster
        .apply_str("apiVersion: platform.dash.example/v1\nkind: DashApp\nmetadata: {name: broken, namespace: dash}\nspec: {replicas: -1}\n")
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains("repository") && bad.contains("replicas"),
        "{bad}"
    );

    // The pgBackRest TLS server answers on the Postgres pod's own address.
    let pg_ip = cluster.pod_ip("dash", "app=system-postgres").unwrap();
    let ping = std::process::Command::new("pgbackrest")
        .args([
            &format!("--tls-server-address={pg_ip}"),
            "--tls-server-port=8432",
            "--log-level-console=warn",
            "server-ping",
        ])
        .output()
        .unwrap();
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stderr)
    );

    // Lifeboat answers on its pod IP, with the token from its Secret.
    let ip = cluster.pod_ip("dash", "app=lifeboat").unwrap();
    let http = reqwest::Client::new();
    let health: serde_json::Value = http
        .get(format!("http://{ip}:8080/api/v1/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    let refused = http
        .get(format!("http://{ip}:8080/api/v1/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let config = http
        .get(format!("http://{ip}:8080/api/v1/config"))
        .bearer_auth(&ns.lifeboat_token)
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    drop(cluster);
}
