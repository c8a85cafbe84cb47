//! Real Keycloak in a Dash Enterprise-shaped namespace (issue 14 on the kubernetes
//! runtime), and the namespace itself as laid out (its objects, custom resources, the
//! pgBackRest TLS sidecar, Lifeboat's Deployment). The namespace runs Keycloak as its Deployment on the system Postgres, with the
//! demo's realms laid out through its admin API, and Lifeboat (installed with
//! `--oidc-issuer`) trusts realm `dash`.
//!
//! After a backup the realm changes (login theme, identity provider, a group, a user
//! deleted, another's password); a restore in place stops Keycloak with the other
//! workloads and brings it back on the restored realm. Keycloak's admin API shows every
//! change undone, the deleted user signs in with the password they had, Lifeboat accepts a
//! token of the restored realm, and SSO through the identity provider works again in
//! headless Chromium (which resolves the in-cluster names as cluster DNS would). A restore
//! into a new namespace runs that namespace's own Keycloak on the restored database,
//! serving the same realm under its own in-cluster name.
//!
//! Needs the control plane (`scripts/install.sh cluster`), Keycloak
//! (`scripts/install.sh keycloak`), PostgreSQL, pgBackRest, restic, Moto and Chromium:
//! `make test` installs them all. Root: the node runs containers in mount namespaces.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::cluster::{Cluster, keycloak_service_url};
use lifeboat_e2e::keycloak::{
    change_the_realm, lifeboat_with_token, page_sso, password_grant, password_of, realm_state,
};
use lifeboat_e2e::remote::{Remote, succeeded};
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};

/// A token of realm `dash` for `username` through its password-grant client, at
/// `keycloak_url` (the pod's address).
async fn grant(
    keycloak_url: &str,
    users: &Value,
    username: &str,
    password: &str,
) -> Result<String, String> {
    password_grant(
        keycloak_url,
        "dash",
        users["client_id"].as_str().unwrap_or_default(),
        username,
        password,
    )
    .await
}

/// The master realm admin's token at `keycloak_url`.
async fn admin_token(keycloak_url: &str, admin: &(String, String)) -> anyhow::Result<String> {
    password_grant(keycloak_url, "master", "admin-cli", &admin.0, &admin.1)
        .await
        .map_err(|e| anyhow::anyhow!("no admin token at {keycloak_url}: {e}"))
}

/// The addresses this cluster's Keycloaks listen on (`ss`: Java on the ports their
/// Deployment names, 8080 and 9000). Only the Java processes of this cluster's pods count
/// (their `KUBECONFIG` is under the cluster's folder): other test binaries may run control
/// planes, and Keycloaks, at the same time.
fn java_listeners(cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let out = std::process::Command::new("ss").args(["-Hltnp"]).output()?;
    let ours = |pid: &str| {
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
            env.split(|b| *b == 0).any(|var| {
                var.strip_prefix(b"KUBECONFIG=".as_slice())
                    .is_some_and(|path| {
                        path.starts_with(cluster.dir().as_os_str().as_encoded_bytes())
                    })
            })
        })
    };
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"java\""))
        .filter(|l| {
            l.split("pid=")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .is_some_and(ours)
        })
        .filter_map(|l| l.split_whitespace().nth(3))
        // Java's IPv4 sockets show as IPv4-mapped IPv6 ones.
        .map(|a| a.replace("[::ffff:", "").replace(']', ""))
        .filter(|a| a.ends_with(":8080") || a.ends_with(":9000"))
        .collect())
}

/// From the audit log: when the pod `pod` was last deleted (its removal, once its
/// containers stopped), and when Lifeboat first scaled the system Postgres' StatefulSet.
fn removed_before_stopped(cluster: &Cluster, pod: &str) -> (Option<String>, Option<String>) {
    let entries = cluster.audit_entries();
    let done = |e: &&Value| e["stage"] == "ResponseComplete";
    let removed = entries
        .iter()
        .filter(done)
        .filter(|e| {
            e["verb"] == "delete"
                && e["objectRef"]["resource"] == "pods"
                && e["objectRef"]["name"] == pod
        })
        .filter_map(|e| e["stageTimestamp"].as_str().map(str::to_owned))
        .max();
    let stopped = entries
        .iter()
        .filter(done)
        .filter(|e| {
            e["user"]["username"] == "system:serviceaccount:dash:lifeboat"
                && e["verb"] == "patch"
                && e["objectRef"]["resource"] == "statefulsets"
                && e["objectRef"]["name"] == "system-postgres"
        })
        .filter_map(|e| e["requestReceivedTimestamp"].as_str().map(str::to_owned))
        .min();
    (removed, stopped)
}

/// The Dash Enterprise-shaped namespace (`cluster/namespace/`) as laid out: its
/// configuration objects and custom resources are there (the CRD's schema enforced by the
/// real API server), the system Postgres's `pgbackrest server` sidecar answers TLS on the
/// pod's address, and Lifeboat runs as a Deployment and answers its API with the admin
/// token from its Secret, and only with it. (Checked here, in the namespace this suite lays
/// out anyway, rather than in a control plane and namespace of its own: a minute of CI.)
async fn the_namespace_is_dash_enterprise_shaped(
    cluster: &Cluster,
    lifeboat_token: &str,
) -> anyhow::Result<()> {
    let apps = cluster.kubectl_ok(&["-n", "dash", "get", "dashapps", "-o", "name"])?;
    anyhow::ensure!(apps.lines().count() == 3, "{apps}");
    for kind in [
        "configmap/dash-platform",
        "secret/dash-license",
        "ingress/dash",
        "role/app-manager",
    ] {
        cluster.kubectl_ok(&["-n", "dash", "get", kind])?;
    }
    let bad = match cluster.apply_str(
        "apiVersion: platform.dash.example/v1\nkind: DashApp\nmetadata: {name: broken, namespace: dash}\nspec: {replicas: -1}\n",
    ) {
        Ok(_) => anyhow::bail!("the API server accepted a DashApp its CRD's schema forbids"),
        Err(e) => e.to_string(),
    };
    anyhow::ensure!(
        bad.contains("repository") && bad.contains("replicas"),
        "{bad}"
    );

    let pg_ip = cluster.pod_ip("dash", "app=system-postgres")?;
    let ping = std::process::Command::new("pgbackrest")
        .args([
            &format!("--tls-server-address={pg_ip}"),
            "--tls-server-port=8432",
            "--log-level-console=warn",
            "server-ping",
        ])
        .output()?;
    anyhow::ensure!(
        ping.status.success(),
        "pgbackrest server-ping: {}",
        String::from_utf8_lossy(&ping.stderr)
    );

    let ip = cluster.pod_ip("dash", "app=lifeboat")?;
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("http://{ip}:8080/api/v1/health"))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(health["status"] == "ok", "{health}");
    let refused = http
        .get(format!("http://{ip}:8080/api/v1/config"))
        .send()
        .await?;
    anyhow::ensure!(refused.status() == 401, "{}", refused.status());
    let config = http
        .get(format!("http://{ip}:8080/api/v1/config"))
        .bearer_auth(lifeboat_token)
        .send()
        .await?;
    anyhow::ensure!(config.status() == 200, "{}", config.status());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_in_the_namespace_comes_back_from_a_restore() -> anyhow::Result<()> {
    let cluster = Arc::new(tokio::task::spawn_blocking(Cluster::start).await??);
    let moto = Moto::start(&["backups"]).await?;
    let c = cluster.clone();
    let ns = tokio::task::spawn_blocking(move || c.dash_namespace("dash")).await??;
    let lifeboat_url = format!("http://{}:8080", cluster.pod_ip("dash", "app=lifeboat")?);
    let api = Remote::new(lifeboat_url.clone(), ns.lifeboat_token.clone());
    let users = serde_json::to_value(&ns.realm)?;
    assert_eq!(users["keycloak_url"], keycloak_service_url("dash"));
    the_namespace_is_dash_enterprise_shaped(&cluster, &ns.lifeboat_token).await?;

    // Every Keycloak socket is on its pod's loopback address.
    let listening = java_listeners(&cluster)?;
    assert!(
        !listening.is_empty()
            && listening
                .iter()
                .all(|a| a.starts_with(&cluster.pod_ip_prefix)),
        "Keycloak listens on its pod IP only: {listening:?}"
    );

    // Lifeboat trusts the namespace's realm: an admin's token gets in, a viewer's does not.
    let kc = cluster.keycloak_url("dash")?;
    let admin_pw = password_of(&users, "dash-admin");
    let token = grant(&kc, &users, "dash-admin", &admin_pw)
        .await
        .map_err(anyhow::Error::msg)?;
    let (status, body) = lifeboat_with_token(&lifeboat_url, &token).await?;
    assert_eq!(status, 200, "{body}");
    let viewer = grant(
        &kc,
        &users,
        "dash-viewer",
        &password_of(&users, "dash-viewer"),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert_eq!(lifeboat_with_token(&lifeboat_url, &viewer).await?.0, 403);

    // A bucket, then a backup.
    cluster.storage_secret("dash", &moto, None)?;
    let s3 = json!({"provider": "s3", "region": "us-east-1", "bucket": "backups",
                    "prefix": "dash", "endpoint": moto.endpoint});
    let (status, saved) = api
        .call(
            reqwest::Method::PUT,
            "/config",
            Some(json!({"config": {"provider": s3, "secret_name": "lifeboat-storage"}})),
        )
        .await?;
    assert_eq!(status, 200, "{saved}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while api.call(reqwest::Method::GET, "/instance", None).await?.0 != 200 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no instance");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (op, _) = api
        .run("/backups", json!({"description": "with keycloak"}), 300)
        .await?;
    assert!(succeeded(&op), "{op:#}\n{}", cluster.diagnose("dash"));
    let backup = op["outcome"]["backup_id"]
        .as_str()
        .context("backup id")?
        .to_owned();

    // The realm changes after the backup.
    let kc_admin = admin_token(&kc, &ns.keycloak_admin).await?;
    let at_backup = realm_state(&kc, &kc_admin).await?;
    assert_eq!(at_backup.1, json!(["corporate-sso"]), "{at_backup:?}");
    change_the_realm(&kc, &kc_admin).await?;
    assert_ne!(realm_state(&kc, &kc_admin).await?, at_backup);
    let (old_042, old_043) = (
        password_of(&users, "user042"),
        password_of(&users, "user043"),
    );
    assert!(
        grant(&kc, &users, "user042", &old_042).await.is_err(),
        "user042 is gone"
    );
    assert!(
        grant(&kc, &users, "user043", &old_043).await.is_err(),
        "user043's password changed"
    );

    // Restore in place: Keycloak is scaled down with the other workloads, and gone before
    // its database is replaced; it comes back on the restored realm (a new pod).
    let before = cluster.pod_names("dash", "app=keycloak")?;
    let (op, _) = api
        .run(
            &format!("/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "dash"}),
            600,
        )
        .await?;
    assert!(succeeded(&op), "{op:#}\n{}", cluster.diagnose("dash"));
    let old_pod = before.first().cloned().unwrap_or_default();
    anyhow::ensure!(!old_pod.is_empty(), "a Keycloak pod before the restore");
    let (gone, postgres_stopped) = removed_before_stopped(&cluster, &old_pod);
    assert!(
        matches!((&gone, &postgres_stopped), (Some(g), Some(p)) if g < p),
        "the old Keycloak pod was removed ({gone:?}) before Lifeboat scaled the system \
         Postgres down ({postgres_stopped:?})"
    );
    let c = cluster.clone();
    let kc = tokio::task::spawn_blocking(move || c.keycloak_url("dash")).await??;
    grant(&kc, &users, "user042", &old_042)
        .await
        .map_err(|e| anyhow::anyhow!("the deleted user signs in again: {e}"))?;
    grant(&kc, &users, "user043", &old_043)
        .await
        .map_err(|e| anyhow::anyhow!("the changed password is the old one again: {e}"))?;
    assert!(
        grant(&kc, &users, "user043", "changed-after-the-backup")
            .await
            .is_err()
    );
    let token = grant(&kc, &users, "dash-admin", &admin_pw)
        .await
        .map_err(anyhow::Error::msg)?;
    assert_eq!(
        lifeboat_with_token(&lifeboat_url, &token).await?.0,
        200,
        "Lifeboat accepts the restored realm's token"
    );
    let kc_admin = admin_token(&kc, &ns.keycloak_admin).await?;
    assert_eq!(
        realm_state(&kc, &kc_admin).await?,
        at_backup,
        "the login theme, the identity provider and the group are back"
    );
    // SSO through the restored identity provider, from Lifeboat's page: the browser
    // resolves the in-cluster name the realm's URLs use to the new Keycloak pod.
    let kc_ip = cluster.pod_ip("dash", "app=keycloak")?;
    let browser = Browser::start_resolving(&[("keycloak.dash.svc", &kc_ip)]).await?;
    page_sso(&browser, &lifeboat_url, &users).await?;
    browser.close().await?;

    // Into a new namespace: its own Keycloak on the restored database serves the same realm
    // under its own in-cluster name.
    let (op, _) = api
        .run(
            &format!("/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "dash-copy"}),
            600,
        )
        .await?;
    assert!(succeeded(&op), "{op:#}\n{}", cluster.diagnose("dash-copy"));
    let c = cluster.clone();
    let copy = tokio::task::spawn_blocking(move || c.keycloak_url("dash-copy")).await??;
    assert_ne!(copy, kc);
    let discovery: Value = reqwest::get(format!(
        "{copy}/realms/dash/.well-known/openid-configuration"
    ))
    .await?
    .json()
    .await?;
    assert_eq!(
        discovery["issuer"],
        format!("{}/realms/dash", keycloak_service_url("dash-copy")),
        "the copy's Keycloak is named for its namespace"
    );
    let copy_admin = admin_token(&copy, &ns.keycloak_admin).await?;
    assert_eq!(realm_state(&copy, &copy_admin).await?, at_backup);
    grant(&copy, &users, "user042", &old_042)
        .await
        .map_err(|e| anyhow::anyhow!("the new namespace's Keycloak signs user042 in: {e}"))?;
    grant(&kc, &users, "dash-admin", &admin_pw)
        .await
        .map_err(|e| anyhow::anyhow!("the first one still serves: {e}"))?;
    let listening = java_listeners(&cluster)?;
    assert!(
        listening
            .iter()
            .all(|a| a.starts_with(&cluster.pod_ip_prefix)),
        "{listening:?}"
    );
    Ok(())
}
