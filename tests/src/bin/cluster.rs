//! `make cluster`: the test control plane and node, with a Dash Enterprise-shaped namespace
//! in it, for a developer. Prints how to reach it, writes `.cluster/env` (shell-sourceable:
//! `KUBECONFIG`, `NAMESPACE`, `LIFEBOAT_URL`, `LIFEBOAT_TOKEN`, `KEYCLOAK_URL`) and
//! `.cluster/demo-users.json` (0600: realm `dash`'s users and passwords, as the demo's
//! file) once everything is ready, and stops everything (removing both) on Ctrl-C, SIGINT
//! or SIGTERM.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use anyhow::Context as _;
use lifeboat_e2e::cluster::Cluster;

const NAMESPACE: &str = "dash";

fn main() -> anyhow::Result<()> {
    let root = lifeboat_e2e::workspace_root();
    let env_dir = std::fs::canonicalize(&root)
        .unwrap_or(root)
        .join(".cluster");
    let env_file = env_dir.join("env");
    let _ = std::fs::remove_file(&env_file);
    eprintln!(
        "starting the control plane, two nodes and namespace {NAMESPACE} with its apps' data (about a minute)…"
    );
    let cluster = Cluster::start()?;
    let ns = cluster.dash_namespace(NAMESPACE)?;
    let laid = cluster.lay_out_app_data(NAMESPACE)?;
    eprintln!(
        "{} apps with data of their own, {} workspaces",
        laid.apps.len(),
        laid.workspaces.len()
    );
    let ip = cluster.pod_ip(NAMESPACE, "app=lifeboat")?;
    let url = format!("http://{ip}:8080");
    let keycloak = cluster.keycloak_url(NAMESPACE)?;
    // A stable kubeconfig path for kubectl outside this process' temporary folder.
    std::fs::create_dir_all(&env_dir)?;
    let kubeconfig = env_dir.join("kubeconfig");
    std::fs::copy(&cluster.kubeconfig, &kubeconfig)?;
    let users = env_dir.join("demo-users.json");
    let _ = std::fs::remove_file(&users);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&users)?
        .write_all(&serde_json::to_vec_pretty(&ns.realm)?)?;
    let tmp = env_dir.join(".env.tmp");
    {
        // The admin token is in it: the owner's only.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        writeln!(f, "KUBECONFIG={}", kubeconfig.display())?;
        writeln!(f, "NAMESPACE={NAMESPACE}")?;
        writeln!(f, "LIFEBOAT_URL={url}")?;
        writeln!(f, "LIFEBOAT_TOKEN={}", ns.lifeboat_token)?;
        writeln!(f, "KEYCLOAK_URL={keycloak}")?;
    }
    std::fs::rename(&tmp, &env_file).context("writing .cluster/env")?;
    eprintln!(
        "ready.\n  kubeconfig: {}\n  kubectl:    {} --kubeconfig {} -n {NAMESPACE} get pods\n  Lifeboat:   {url}/ (admin token in .cluster/env)\n  Keycloak:   {keycloak}/ (realm dash; its users in {})\n  env:        source {}\nCtrl-C stops everything.",
        kubeconfig.display(),
        lifeboat_e2e::cluster::bin_dir().join("kubectl").display(),
        kubeconfig.display(),
        users.display(),
        env_file.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })?;
    eprintln!("stopping…");
    let _ = std::fs::remove_file(&env_file);
    let _ = std::fs::remove_file(&kubeconfig);
    let _ = std::fs::remove_file(&users);
    drop(cluster);
    Ok(())
}
