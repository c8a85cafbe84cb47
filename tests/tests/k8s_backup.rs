//! The kubernetes runtime on the real control plane: Lifeboat in its pod of a Dash
//! Enterprise-shaped namespace, configured from a Secret made with the README's
//! `kubectl create secret generic`, backs up the system Postgres over pgBackRest's TLS
//! protocol (no `kubectl exec`) and the platform's configuration objects into moto, and
//! is never refused anything by the API server while doing it.
//!
//! Needs the cluster binaries (`scripts/install.sh cluster`), moto, PostgreSQL, pgBackRest,
//! restic and `target/debug/lifeboat`: `make test` provides all of them.

#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_e2e::cluster::Cluster;
use lifeboat_e2e::remote::{Remote as Api, step_detail, succeeded};
use lifeboat_e2e::servers::Moto;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_now_in_a_namespace_over_pgbackrest_tls() {
    // Where the minutes go (printed at each phase's end), for the README's timing table.
    let clock = std::time::Instant::now();
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::start)
            .await
            .unwrap()
            .unwrap(),
    );
    eprintln!(
        "k8s_backup: control plane by {:.0} s",
        clock.elapsed().as_secs_f64()
    );
    let moto = Moto::start(&["backups"]).await.unwrap();
    let c = cluster.clone();
    let ns = tokio::task::spawn_blocking(move || c.dash_namespace("dash"))
        .await
        .unwrap()
        .unwrap();
    eprintln!(
        "k8s_backup: namespace by {:.0} s",
        clock.elapsed().as_secs_f64()
    );
    let ip = cluster.pod_ip("dash", "app=lifeboat").unwrap();
    let api = Api::new(format!("http://{ip}:8080"), ns.lifeboat_token.clone());

    // The README's command (with the name Lifeboat's Role lets it read).
    let passphrase = "k8s-backup-passphrase";
    // The README's `kubectl create secret generic lifeboat-storage …`.
    cluster
        .storage_secret("dash", &moto, Some(passphrase))
        .unwrap();
    let (status, view) = api
        .call(reqwest::Method::GET, "/config", None)
        .await
        .unwrap();
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
        .await
        .unwrap();
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
        .await
        .unwrap();
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
        !&cluster
            .claim_dir("dash", "lifeboat-staging")
            .unwrap()
            .join("config.json")
            .exists()
    );

    // The instance is up once pgBackRest's stanza exists (the sidecar answered over TLS).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, info) = api
            .call(reqwest::Method::GET, "/instance", None)
            .await
            .unwrap();
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
    // A full pgBackRest backup (label `YYYYMMDD-HHMMSSF`), and the configuration objects.
    assert!(step_detail(&op, "postgres").contains("F ("), "{op}");
    assert!(
        step_detail(&op, "configuration").contains(" files ("),
        "{op}"
    );

    // It is in the catalog, from this namespace.
    let (_, backups) = api
        .call(reqwest::Method::GET, "/backups", None)
        .await
        .unwrap();
    let listed = backups["backups"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{backups}");
    assert_eq!(listed[0]["source"]["namespace"], "dash", "{backups}");
    assert!(!moto.list("backups", "dash/").await.unwrap().is_empty());

    // The configuration it saved: the platform's kinds, custom resources included, cleaned.
    let config = &cluster
        .claim_dir("dash", "lifeboat-staging")
        .unwrap()
        .join("instances/dash/staging/config");
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

    let lap = |what: &str| {
        eprintln!(
            "k8s_backup: {what} by {:.0} s",
            clock.elapsed().as_secs_f64()
        )
    };
    lap("first backup");
    refuses_a_namespace_it_did_not_make(&api, listed[0]["id"].as_str().unwrap()).await;
    let api = interrupted_backups_leave_a_clean_state(&cluster, &api).await;
    lap("interrupted backups");
    let (api, backup, rows) = restores_in_place(&cluster, &api).await;
    lap("restores in place");
    restores_into_a_new_namespace(&cluster, &api, &backup, &rows).await;
    lap("restore into a new namespace");
    let (local, _dir) = a_local_lifeboat_restores_it(&moto, passphrase).await;
    lap("a local Lifeboat restores it");
    the_kubernetes_runtime_restores_a_local_backup(&cluster, &api, &local).await;
    lap("the kubernetes runtime restores a local backup");
    // The script a user with a real cluster runs: install (again: nothing changes), then one
    // backup and one restore in place through the API.
    let c = cluster.clone();
    let (url, token) = (api.url.clone(), api.token.clone());
    let tried = tokio::task::spawn_blocking(move || {
        c.install_lifeboat_with(
            "dash",
            &["--try"],
            &[("LIFEBOAT_URL", &url), ("LIFEBOAT_TOKEN", &token)],
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert!(tried.contains("backed up: bk-"), "{tried}");
    assert!(tried.contains("restored; what to do next:"), "{tried}");
    assert!(tried.contains("- Log in again:"), "{tried}");
    lap("install.sh --try");
    through_the_page(&api).await;
    lap("through the page");
    rbac_stays_in_its_namespaces(&cluster);
    never_refused_and_never_exec(&cluster);
    every_grant_used(&cluster);
    drop(local);
    drop(moto);
    drop(cluster);
}

/// Lifeboat's service account was never refused anything (backups and restores), it read
/// the system Postgres through pgBackRest's TLS server, never through exec, and it restored
/// the data in a Job.
fn never_refused_and_never_exec(cluster: &Cluster) {
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
    assert!(
        by_lifeboat
            .iter()
            .any(|e| e["verb"] == "create" && e["objectRef"]["resource"] == "jobs"),
        "Lifeboat ran no restore Job"
    );
}

/// One grant: (API group, resource or `resource/subresource`, verb, names).
type Grant = (String, String, String, Vec<String>);

/// Which namespaces a role's grants apply to.
type Scope = fn(&str) -> bool;

/// A role's grants, one per group, resource and verb.
fn grants(role: &Value) -> Vec<Grant> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let mut out = Vec::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    out.push((
                        group.clone(),
                        resource.clone(),
                        verb,
                        strings(&rule["resourceNames"]),
                    ));
                }
            }
        }
    }
    out
}

/// Whether an audited request by Lifeboat used a grant. A server-side apply that creates is
/// a `patch` answered `201` (it needs `create`); `escalate` is used by writing a Role,
/// `bind` by writing a binding (RBAC checks both on those writes).
fn used(entry: &Value, grant: &Grant) -> bool {
    let (group, resource, verb, names) = grant;
    let o = &entry["objectRef"];
    let code = entry["responseStatus"]["code"].as_u64().unwrap_or(0);
    let res = match o["subresource"].as_str() {
        Some(sub) => format!("{}/{sub}", o["resource"].as_str().unwrap_or_default()),
        None => o["resource"].as_str().unwrap_or_default().to_owned(),
    };
    let g = o["apiGroup"].as_str().unwrap_or_default();
    let v = entry["verb"].as_str().unwrap_or_default();
    let writes = (v == "create" || v == "patch") && (200..300).contains(&code);
    let name_ok = |name: &str| names.is_empty() || names.iter().any(|n| n == name);
    match verb.as_str() {
        "escalate" => g == group && res == *resource && writes,
        "bind" if resource == "roles" => g == *group && res == "rolebindings" && writes,
        "bind" => g == *group && res == "rolebindings" && v == "create" && code == 201,
        "create" => {
            g == group
                && res == *resource
                && (v == "create" || (v == "patch" && code == 201))
                && name_ok(o["name"].as_str().unwrap_or_default())
        }
        _ => {
            g == group
                && res == *resource
                && v == verb
                && name_ok(o["name"].as_str().unwrap_or_default())
        }
    }
}

/// Least privilege, from the audit log: every verb on every resource that Lifeboat's Role
/// and ClusterRoles grant was used by the backups and restores above, in the namespaces
/// each applies to. The exceptions are listed with why they are kept.
fn every_grant_used(cluster: &Cluster) {
    let sa = "system:serviceaccount:dash:lifeboat";
    let entries = cluster.audit_entries();
    let by_lifeboat: Vec<&Value> = entries
        .iter()
        .filter(|e| e["user"]["username"] == sa && e["stage"] == "ResponseComplete")
        .collect();
    // A restore in place recreates a workload or claim deleted since the backup; this test
    // keeps them (App Manager's scale-back and the Postgres claim are checked instead).
    let kept_unused = [
        ("Role lifeboat", "apps", "deployments", "create"),
        ("Role lifeboat", "apps", "statefulsets", "create"),
        ("Role lifeboat", "", "persistentvolumeclaims", "create"),
        // The apps' data of a restore into a new namespace: this namespace's apps have
        // none; `k8s_apps` checks these verbs are used there.
        (
            "ClusterRole lifeboat-managed",
            "platform.dash.example",
            "dashapps",
            "list",
        ),
        (
            "ClusterRole lifeboat-managed",
            "",
            "persistentvolumeclaims",
            "list",
        ),
    ];
    let get = |args: &[&str]| -> Value {
        serde_json::from_str(&cluster.kubectl_ok(args).unwrap()).unwrap()
    };
    let roles: [(&str, Value, Scope); 3] = [
        (
            "Role lifeboat",
            get(&["-n", "dash", "get", "role", "lifeboat", "-o", "json"]),
            |ns| ns == "dash",
        ),
        (
            "ClusterRole lifeboat-managed",
            get(&["get", "clusterrole", "lifeboat-managed", "-o", "json"]),
            |ns| !ns.is_empty() && ns != "dash",
        ),
        (
            "ClusterRole lifeboat-namespaces",
            get(&["get", "clusterrole", "lifeboat-namespaces", "-o", "json"]),
            |_| true,
        ),
    ];
    let mut unused = Vec::new();
    for (name, role, scope) in &roles {
        for grant in grants(role) {
            let is_kept = kept_unused
                .iter()
                .any(|(n, g, r, v)| n == name && grant.0 == *g && grant.1 == *r && grant.2 == *v);
            let in_use = by_lifeboat.iter().any(|e| {
                scope(e["objectRef"]["namespace"].as_str().unwrap_or_default()) && used(e, &grant)
            });
            if in_use == is_kept {
                unused.push(format!(
                    "{name}: {} {}/{} {:?}{}",
                    grant.2,
                    grant.0,
                    grant.1,
                    grant.3,
                    if is_kept {
                        " (listed as unused, but used)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "granted but never used:\n{}",
        unused.join("\n")
    );
}

/// A restore into a namespace that exists and that Lifeboat did not make (`default`), even
/// with "Replace" ticked, is refused at once, in words that say so: no operation starts and
/// nothing is fetched.
async fn refuses_a_namespace_it_did_not_make(api: &Api, backup: &str) {
    let (_, before) = api
        .call(reqwest::Method::GET, "/operations", None)
        .await
        .unwrap();
    for replace in [false, true] {
        let (status, refused) = api
            .call(
                reqwest::Method::POST,
                &format!("/backups/{backup}/restore"),
                Some(
                    json!({"confirmation": "restore backup", "target_namespace": "default",
                            "replace_existing": replace}),
                ),
            )
            .await
            .unwrap();
        assert_eq!(status, 409, "{refused}");
        assert_eq!(refused["code"], "namespace_foreign", "{refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("namespace default already exists and was not made by Lifeboat"),
            "{refused}"
        );
    }
    let (_, after) = api
        .call(reqwest::Method::GET, "/operations", None)
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "an operation was recorded for a refused restore"
    );
}

/// Runs Backup Now to the end; it must succeed. Returns the operation.
async fn backup_succeeds(cluster: &Cluster, api: &Api, description: &str) -> Value {
    let (op, _) = api
        .run("/backups", json!({ "description": description }), 240)
        .await
        .unwrap();
    assert!(succeeded(&op), "{op}\n{}", cluster.diagnose("dash"));
    op
}

/// Restores `backup` into `namespace` to the end; it must succeed. Returns the operation.
async fn restore_succeeds(cluster: &Cluster, api: &Api, backup: &str, namespace: &str) -> Value {
    let (op, _) = api
        .run(
            &format!("/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": namespace}),
            600,
        )
        .await
        .unwrap();
    assert!(succeeded(&op), "{op:#}\n{}", cluster.diagnose(namespace));
    op
}

/// Starts a backup and waits until its Postgres step runs.
async fn backup_in_flight(api: &Api, description: &str) -> String {
    start_until(
        api,
        "/backups",
        &json!({ "description": description }),
        60,
        || true,
    )
    .await
}

/// Starts an operation with `POST path` and returns its id once its `postgres` step runs and
/// `also` holds (at most `secs`).
async fn start_until(
    api: &Api,
    path: &str,
    body: &Value,
    secs: u64,
    mut also: impl FnMut() -> bool,
) -> String {
    let (status, op) = api
        .call(reqwest::Method::POST, path, Some(body.clone()))
        .await
        .unwrap();
    assert_eq!(status, 202, "{op}");
    let id = op["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, op) = api
            .call(reqwest::Method::GET, &format!("/operations/{id}"), None)
            .await
            .unwrap();
        let running = op["steps"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["id"] == "postgres" && s["status"] == "running")
        });
        if running && also() {
            return id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never got there: {op:#}"
        );
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
async fn interrupted_backups_leave_a_clean_state(cluster: &Cluster, api: &Api) -> Api {
    // Enough data that a backup takes a while.
    psql(
        cluster,
        "postgres",
        "CREATE TABLE ballast AS SELECT g, repeat(md5(g::text), 16) AS pad FROM generate_series(1, 400000) g",
    );
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
    let op = api.wait(&id, 30).await.unwrap();
    assert_eq!(op["status"], "interrupted", "{op}");

    let ip = cluster.pod_ip("dash", "app=lifeboat").unwrap();
    let id = backup_in_flight(&api, "killed hard mid-backup").await;
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", &format!("serve --listen {ip}:8080")])
        .status()
        .unwrap();
    assert!(killed.success(), "no Lifeboat process to kill");
    let api = lifeboat_back(cluster, &token).await;
    let op = api.wait(&id, 30).await.unwrap();
    assert_eq!(op["status"], "interrupted", "{op}");

    let (_, view) = api
        .call(reqwest::Method::GET, "/config", None)
        .await
        .unwrap();
    assert_eq!(
        view["config"]["provider"]["provider"], "s3",
        "a new pod reads the ConfigMap: {view}"
    );
    backup_succeeds(cluster, &api, "after the interruptions").await;
    api
}

/// [`Cluster::psql`], which must succeed (the test may exec; Lifeboat never does).
fn psql_in(cluster: &Cluster, ns: &str, db: &str, sql: &str) -> String {
    cluster.psql(ns, db, sql).unwrap()
}

/// [`psql_in`] the namespace `dash`.
fn psql(cluster: &Cluster, db: &str, sql: &str) -> String {
    psql_in(cluster, "dash", db, sql)
}

/// [`checksums_in`] the namespace `dash`.
fn checksums(cluster: &Cluster) -> BTreeMap<String, String> {
    checksums_in(cluster, "dash")
}

/// Every table of the system Postgres' databases, as `db.table → rows:checksum` (an
/// order-free sum of each row's md5).
fn checksums_in(cluster: &Cluster, ns: &str) -> BTreeMap<String, String> {
    let mut sums = BTreeMap::new();
    for db in ["postgres", "keycloak", "appmanager"] {
        let tables = psql_in(
            cluster,
            ns,
            db,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        );
        for t in tables.lines().map(str::trim).filter(|t| !t.is_empty()) {
            let sum = psql_in(
                cluster,
                ns,
                db,
                &format!(
                    "SELECT count(*) || ':' || coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0) FROM \"{t}\" t"
                ),
            );
            sums.insert(format!("{db}.{t}"), sum.trim().to_owned());
        }
    }
    sums
}

/// Every file below `dir`, by its path relative to `dir`.
fn files_below(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// Lifeboat may create RoleBindings anywhere as far as RBAC goes (it must, in namespaces
/// that do not exist yet); the admission policy beside its ClusterRoles keeps it to its own
/// namespace and those it created. Asked as Lifeboat's ServiceAccount (impersonated by the
/// admin, so it stays out of Lifeboat's own audit trail above).
fn rbac_stays_in_its_namespaces(cluster: &Cluster) {
    let out = cluster
        .kubectl(&[
            "--as=system:serviceaccount:dash:lifeboat",
            "-n",
            "default",
            "create",
            "rolebinding",
            "lifeboat",
            "--clusterrole=lifeboat-managed",
            "--serviceaccount=dash:lifeboat",
        ])
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "Lifeboat bound itself in default");
    assert!(
        err.contains("only in its own namespace and in the namespaces it created"),
        "{err}"
    );
}

/// Once through the page in headless Chromium, served by Lifeboat in its pod: signed in
/// with the admin token, the configuration form shows the managed Secret (its name, the keys
/// found, the `kubectl` to run) and no credential field, and Backup Now runs to the end.
async fn through_the_page(api: &Api) {
    use fantoccini::Locator;
    use lifeboat_e2e::browser::Browser;
    use lifeboat_e2e::page::{click, fill};
    let browser = Browser::start().await.unwrap();
    let c = &browser.client;
    c.goto(&format!("{}/", api.url)).await.unwrap();
    fill(&browser, "[data-testid=signin-token]", &api.token)
        .await
        .unwrap();
    click(&browser, "[data-testid=signin-submit]")
        .await
        .unwrap();
    lifeboat_e2e::config_form::open(&browser, "").await.unwrap();
    let panel = browser
        .wait_for_text("[data-testid=managed-secret]", "lifeboat-storage")
        .await
        .unwrap();
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "RESTIC_PASSPHRASE",
    ] {
        assert!(panel.contains(key), "{key} not in {panel}");
    }
    let command = browser
        .text_of("[data-testid=managed-secret-command]")
        .await
        .unwrap();
    assert!(
        command.contains("kubectl -n dash create secret generic lifeboat-storage"),
        "{command}"
    );
    let secret_inputs = c
        .find_all(Locator::Css(
            "[data-testid=config-form] input[type=password]",
        ))
        .await
        .unwrap();
    assert!(secret_inputs.is_empty(), "credential fields shown");
    lifeboat_e2e::axe::check(&browser, "the managed Secret panel")
        .await
        .unwrap();

    c.goto(&format!("{}/", api.url)).await.unwrap();
    click(&browser, "[data-testid=backup-now]").await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-testid=backup-description]"))
        .await
        .unwrap()
        .send_keys("from the page, in the pod")
        .await
        .unwrap();
    click(&browser, "[data-testid=backup-start]").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let status = lifeboat_e2e::restore::page_status(&browser)
            .await
            .unwrap()
            .unwrap_or_default();
        if status.eq_ignore_ascii_case("succeeded") {
            break;
        }
        assert!(
            !status.eq_ignore_ascii_case("failed") && tokio::time::Instant::now() < deadline,
            "the page's backup ended {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    browser
        .wait_for_text("[data-testid=backup-restore]", "from the page, in the pod")
        .await
        .unwrap();
    browser.close().await.unwrap();
}

/// Starts a restore and returns its id once its restore Job's pod runs (the step moves the
/// fetched repository first).
async fn restore_in_job(cluster: &Cluster, api: &Api, path: &str, body: &Value) -> String {
    start_until(api, path, body, 240, || {
        cluster
            .kubectl_ok(&[
                "-n",
                "dash",
                "get",
                "pods",
                "-l",
                "lifeboat.plotly.com/restore-of=system-postgres",
                "-o",
                "jsonpath={.items[*].status.phase}",
            ])
            .is_ok_and(|p| p.contains("Running"))
    })
    .await
}

/// After a restore `id` lost its Lifeboat: it is interrupted, the namespace is reported
/// incomplete, and App Manager waits at 0 with the count it had before the restore.
async fn left_incomplete(cluster: &Cluster, api: &Api, id: &str) {
    let op = api.wait(id, 30).await.unwrap();
    assert_eq!(op["status"], "interrupted", "{op:#}");
    let (_, info) = api
        .call(reqwest::Method::GET, "/instance", None)
        .await
        .unwrap();
    assert_eq!(info["restore_incomplete"], id, "{info}");
    let stopped = cluster
        .kubectl_ok(&[
            "-n",
            "dash",
            "get",
            "deployment",
            "app-manager",
            "-o",
            "json",
        ])
        .unwrap();
    let stopped: Value = serde_json::from_str(&stopped).unwrap();
    assert_eq!(stopped["spec"]["replicas"], 0, "{stopped}");
    assert_eq!(
        stopped["metadata"]["annotations"]["lifeboat.plotly.com/replicas-before-restore"], "1",
        "{stopped}"
    );
}

/// Restore in place: after the last backup, rows change and configuration objects change
/// or go; the restore brings every table (row for row) and every saved object (as the
/// export writes it) back, scales App Manager back to its count, and leaves no Job behind.
async fn restores_in_place(
    cluster: &Cluster,
    api: &Api,
) -> (Api, String, BTreeMap<String, String>) {
    let staging = cluster
        .claim_dir("dash", "lifeboat-staging")
        .unwrap()
        .join("instances/dash/staging/config");
    let saved_objects = files_below(&staging);
    let before = checksums(cluster);
    assert!(before.contains_key("postgres.ballast"), "{before:?}");
    let (_, backups) = api
        .call(reqwest::Method::GET, "/backups", None)
        .await
        .unwrap();
    let latest = backups["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["description"] == "after the interruptions")
        .unwrap_or_else(|| panic!("{backups}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();

    psql(
        cluster,
        "keycloak",
        "UPDATE user_entity SET email = 'changed@example.com'",
    );
    // Keycloak's own tables: its configs and mappers go with the identity providers.
    psql(cluster, "keycloak", "TRUNCATE identity_provider CASCADE");
    psql(cluster, "appmanager", "DELETE FROM workspaces");
    psql(cluster, "postgres", "DROP TABLE ballast");
    for args in [
        &[
            "patch",
            "dashapp",
            "sales-dashboard",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":5,"workspace":true}}"#,
        ][..],
        // One of each kind a restore in place recreates (see every_grant_used).
        // Scaled down since the backup (saved at 2): the restore brings the saved count
        // back, not the one it found.
        &["scale", "deployment", "app-manager", "--replicas=1"],
        // Fields other writers added since the backup: server-side apply alone keeps them.
        &[
            "patch",
            "secret",
            "dash-sso",
            "--type=merge",
            "-p",
            r#"{"stringData":{"added-after-backup":"x"}}"#,
        ],
        &[
            "set",
            "env",
            "deployment/app-manager",
            "ADDED_AFTER_BACKUP=1",
        ],
        // And on kinds server-side apply leaves alone the same way: a Service's label and
        // port, a custom resource's annotation (and its field, above).
        &["label", "service", "keycloak", "added-after-backup=x"],
        &[
            "patch",
            "service",
            "keycloak",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/spec/ports/-","value":{"name":"added","port":9999}}]"#,
        ],
        &[
            "annotate",
            "dashapp",
            "sales-dashboard",
            "added-after-backup=x",
        ],
        // Created since the backup: named in the report, left in place.
        &[
            "create",
            "configmap",
            "added-after-backup",
            "--from-literal=k=v",
        ],
        &["delete", "dashapp", "forecasting"],
        &["delete", "secret", "dash-license"],
        &["delete", "configmap", "dash-platform"],
        &["delete", "service", "app-manager"],
        &["delete", "serviceaccount", "app-manager"],
        &["delete", "ingress", "dash"],
    ] {
        let mut all = vec!["-n", "dash"];
        all.extend_from_slice(args);
        cluster.kubectl_ok(&all).unwrap();
    }
    assert_ne!(checksums(cluster), before);

    // The first attempt loses its Lifeboat pod while the restore Job runs, the second its
    // Lifeboat process (killed hard): each ends interrupted, the namespace says it is
    // incomplete, Postgres and App Manager stay stopped (the count App Manager goes back to
    // kept on it, not overwritten by the second attempt's scale-down), and the third
    // attempt finishes.
    let restore = json!({"confirmation": "restore backup", "target_namespace": "dash"});
    let path = format!("/backups/{latest}/restore");
    let first = restore_in_job(cluster, api, &path, &restore).await;
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
    let api = &lifeboat_back(cluster, &api.token).await;
    left_incomplete(cluster, api, &first).await;
    let ip = cluster.pod_ip("dash", "app=lifeboat").unwrap();
    let second = restore_in_job(cluster, api, &path, &restore).await;
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", &format!("serve --listen {ip}:8080")])
        .status()
        .unwrap();
    assert!(killed.success(), "no Lifeboat process to kill");
    let api = &lifeboat_back(cluster, &api.token).await;
    left_incomplete(cluster, api, &second).await;

    let op = restore_succeeds(cluster, api, &latest, "dash").await;
    let detail = |id: &str| step_detail(&op, id);
    assert!(
        detail("configuration").contains("scaled back Deployment/app-manager to 2"),
        "{op:#}"
    );
    assert!(detail("verify").contains("as in the backup"), "{op:#}");
    let configuration = detail("configuration");
    let put_back = configuration
        .split_once("put back as saved (what was added since the backup removed): ")
        .map(|(_, rest)| rest.split(';').next().unwrap_or(rest))
        .unwrap_or_else(|| panic!("nothing put back: {configuration}"));
    for object in [
        "Secret/dash-sso",
        "Deployment/app-manager",
        "Service/keycloak",
        "DashApp/sales-dashboard",
    ] {
        assert!(
            put_back.contains(object),
            "{object} not put back: {put_back}"
        );
    }
    let created = configuration
        .split_once("created since the backup, left in place (delete them if they should go): ")
        .map(|(_, rest)| rest.split(';').next().unwrap_or(rest))
        .unwrap_or_else(|| panic!("nothing named as created since: {configuration}"));
    assert_eq!(created, "ConfigMap/added-after-backup", "{configuration}");
    cluster
        .kubectl_ok(&["-n", "dash", "delete", "configmap", "added-after-backup"])
        .unwrap();

    assert_eq!(checksums(cluster), before, "the rows are back exactly");
    let app_manager = cluster
        .kubectl_ok(&[
            "-n",
            "dash",
            "get",
            "deployment",
            "app-manager",
            "-o",
            "json",
        ])
        .unwrap();
    let app_manager: Value = serde_json::from_str(&app_manager).unwrap();
    assert_eq!(app_manager["spec"]["replicas"], 2, "scaled back");
    assert!(
        app_manager["metadata"]["annotations"]
            .get("lifeboat.plotly.com/replicas-before-restore")
            .is_none(),
        "the remembered count is forgotten: {app_manager}"
    );
    let jobs = cluster
        .kubectl_ok(&["-n", "dash", "get", "jobs", "-o", "name"])
        .unwrap();
    assert!(jobs.trim().is_empty(), "the restore Job is gone: {jobs}");

    // The objects: a backup now saves exactly what the restored one had saved.
    backup_succeeds(cluster, api, "after the restore in place").await;
    let now = files_below(&staging);
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        saved_objects.keys().collect::<Vec<_>>()
    );
    for (file, yaml) in &saved_objects {
        assert_eq!(&now[file], yaml, "{file} differs after the restore");
    }
    (api.clone(), latest, before)
}

/// Restore into a new namespace: Lifeboat creates it, restores the Postgres claim before the
/// StatefulSet exists, applies the configuration moved there (Service host names rewritten,
/// the rest reported), and both namespaces then serve side by side.
async fn restores_into_a_new_namespace(
    cluster: &Cluster,
    api: &Api,
    backup: &str,
    rows: &BTreeMap<String, String>,
) {
    let op = restore_succeeds(cluster, api, backup, "dash-copy").await;
    let configuration = step_detail(&op, "configuration");
    for reported in [
        "namespace dash → dash-copy",
        "ConfigMap/dash-platform",
        "StatefulSet/system-postgres",
        "Deployment/app-manager",
        "left alone",
        "Ingress/dash spec.rules[0].host: dash.dash.example",
    ] {
        assert!(
            configuration.contains(reported),
            "{reported} not in: {configuration}"
        );
    }

    // Its rows are the backup's, while the old namespace serves on.
    assert_eq!(&checksums_in(cluster, "dash-copy"), rows);
    assert_eq!(psql(cluster, "postgres", "SELECT 1").trim(), "1");
    let get = |kind: &str, name: &str| -> Value {
        let out = cluster
            .kubectl_ok(&["-n", "dash-copy", "get", kind, name, "-o", "json"])
            .unwrap();
        serde_json::from_str(&out).unwrap()
    };
    let app_manager = get("deployment", "app-manager");
    assert_eq!(
        app_manager["metadata"]["annotations"]["dash.example/upstream"],
        "http://app-manager.dash-copy.svc:8080",
        "an annotation naming the source's Service"
    );
    assert!(
        configuration.contains("Deployment/app-manager"),
        "{configuration}"
    );
    let platform = get("configmap", "dash-platform");
    let yaml = platform["data"]["platform.yaml"].as_str().unwrap();
    assert!(
        yaml.contains("database_host: system-postgres.dash-copy.svc"),
        "{yaml}"
    );
    let sts = get("statefulset", "system-postgres").to_string();
    assert!(
        sts.contains("lifeboat.dash.svc"),
        "WAL goes to the Lifeboat that restored it"
    );
    assert!(
        sts.contains("/instances/dash-copy/staging/pgbackrest"),
        "{sts}"
    );
    let app_manager = get("deployment", "app-manager");
    assert_eq!(app_manager["spec"]["replicas"], 2);
    assert!(
        app_manager
            .to_string()
            .contains("system-postgres.dash-copy.svc")
    );
    assert_eq!(get("dashapp", "forecasting")["spec"]["workspace"], true);
    let (_, list) = api
        .call(reqwest::Method::GET, "/instances", None)
        .await
        .unwrap();
    let namespaces: Vec<&str> = list["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["namespace"].as_str())
        .collect();
    assert_eq!(namespaces, ["dash", "dash-copy"], "{list}");
}

/// The bucket format is one: a Lifeboat on the local runtime, pointed at the same bucket,
/// lists the kubernetes backups and restores one into a new namespace of its own.
async fn a_local_lifeboat_restores_it(
    moto: &Moto,
    passphrase: &str,
) -> (lifeboat_e2e::server::Lifeboat, tempfile::TempDir) {
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
    assert!(succeeded(&op), "{op:#}");
    let config = dir.path().join("data/instances/from-k8s/config");
    let app =
        std::fs::read_to_string(config.join("7-platform.dash.example.DashApp/forecasting.yaml"))
            .unwrap();
    assert!(app.contains("namespace: from-k8s"), "{app}");
    (server, dir)
}

/// And the other way: a backup of the local demo instance, restored in place under the
/// kubernetes runtime, brings the demo's rows into the namespace's system Postgres and its
/// configuration objects into the namespace, moved from `demo`.
async fn the_kubernetes_runtime_restores_a_local_backup(
    cluster: &Cluster,
    api: &Api,
    local: &lifeboat_e2e::server::Lifeboat,
) {
    let demo = lifeboat_e2e::instance::Instance::own(local).await.unwrap();
    let users = demo
        .psql("keycloak", "SELECT count(*) FROM user_entity")
        .await
        .unwrap();
    let (op, _) = Api::of(local)
        .run("/backups", json!({"description": "the local demo"}), 300)
        .await
        .unwrap();
    assert!(succeeded(&op), "{op:#}");
    let id = op["outcome"]["backup_id"].as_str().unwrap();
    let (op, _) = api
        .run(
            &format!("/backups/{id}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "dash"}),
            600,
        )
        .await
        .unwrap();
    assert!(succeeded(&op), "{op:#}\n{}", cluster.diagnose("dash"));
    // The local demo's apps do not exist in this namespace (no DashApp names them), and
    // Lifeboat does not make an app's services here: said, not hidden.
    assert!(
        op["warnings"].as_array().is_some_and(|w| w.iter().any(|w| w
            .as_str()
            .unwrap_or("")
            .contains("app/app-001/postgres was not restored"))),
        "{op:#}"
    );
    assert_eq!(
        psql(cluster, "keycloak", "SELECT count(*) FROM user_entity").trim(),
        users,
        "the demo's users"
    );
    let keycloak = cluster
        .kubectl_ok(&[
            "-n",
            "dash",
            "get",
            "configmap",
            "keycloak",
            "-o",
            "jsonpath={.data.realm}",
        ])
        .unwrap();
    assert_eq!(
        keycloak.trim(),
        "dash",
        "the demo's ConfigMap, moved to dash"
    );
    let configuration = step_detail(&op, "configuration");
    assert!(
        configuration.contains("naming demo but left alone"),
        "{configuration}"
    );
}
