//! `instance_contract`: what the jobs rely on from a runtime's `InstanceRegistry` and
//! `Instance`, as one suite of named checks that a runtime passes or fails (in the spirit of
//! restic's backend tests and object_store's integration suite: the same functions, given a
//! [`Subject`] per runtime). A new runtime, or a new `Instance` method, is added by making
//! this suite pass; a check that fails names itself.
//!
//! The checks run in order on one instance, as a backup and a restore use it: the registry
//! publishes its own instance; the instance describes itself, answers SQL and exports its
//! configuration; pgBackRest backs it up; it measures what a backup stages; a fetched
//! repository is installed; it stops, is emptied, refuses to start empty, refuses an unknown
//! backup label, restores the backup and comes back up with the same rows, and takes back
//! its saved configuration; the restore
//! marker outlives a crash (a new registry on the same state leaves it stopped); a new
//! namespace starts empty, is adopted, refused twice and removed.
//!
//! Runs against the local runtime (real PostgreSQL, pgBackRest, no Keycloak) and against the
//! kubernetes runtime on the real control plane (a Dash Enterprise-shaped namespace, the
//! suite beside its idle Lifeboat, as Lifeboat's pod would run it).
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use lifeboat::command::{Place, Volume};
use lifeboat::runtime::host::paths::Paths;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::runtime::kubernetes::{KubeOptions, KubeRuntime, KubeSettings};
use lifeboat::runtime::local::LocalRuntime;
use lifeboat::runtime::{DataRestore, Instance, InstanceError, Runtime};
use tokio_util::sync::CancellationToken;

/// Copies one folder place to another.
type CopyPlace = Box<dyn Fn(&Place, &Place)>;

/// Builds the runtime again.
type Rebuild = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Arc<dyn Runtime>>>>>;

/// A runtime under test, and what the suite cannot ask of it through the seam.
struct Subject {
    /// `local` or `kubernetes`, for the failure messages.
    name: &'static str,
    /// The runtime, its registry started.
    runtime: Arc<dyn Runtime>,
    /// The same runtime built again on the same state, as after Lifeboat was killed.
    again: Rebuild,
    /// Copies a folder place to another (what restic's restore does into a staging area).
    copy: CopyPlace,
    /// A namespace that holds no instance.
    other_namespace: String,
    /// Whether `empty_data` removes the data (locally); on Kubernetes a delta restore checks
    /// every file instead, and `empty_data` leaves them.
    empties_data: bool,
    /// Whether the runtime can tell the free space beside the data directory (locally; on
    /// Kubernetes the claim is mounted by Postgres' pod, not Lifeboat's).
    knows_free_space: bool,
}

/// What the checks found out and pass along (the backup taken, the rows it holds).
#[derive(Default)]
struct Found {
    label: String,
    /// What `export_config` staged: (files, bytes).
    exported: (u64, u64),
    counts: BTreeMap<String, u64>,
    size_before_empty: u64,
}

type CheckResult = Result<(), String>;

fn own(s: &Subject) -> Arc<dyn Instance> {
    s.runtime
        .instances()
        .own()
        .expect("the registry's own instance")
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> CheckResult {
    if ok { Ok(()) } else { Err(what()) }
}

fn err(e: InstanceError) -> String {
    e.to_string()
}

async fn registry_publishes_its_own_instance(s: &Subject, _: &mut Found) -> CheckResult {
    let registry = s.runtime.instances();
    let own = registry.own().ok_or("no own instance after start")?;
    let ns = own.namespace().to_owned();
    ensure(
        registry.get(&ns).is_some_and(|i| i.id() == own.id()),
        || format!("get({ns}) is not the own instance"),
    )?;
    ensure(registry.list().iter().any(|i| i.id() == own.id()), || {
        "list() misses the own instance".into()
    })?;
    ensure(!registry.has_remains(&ns), || {
        "the own namespace is reported as remains".into()
    })?;
    ensure(registry.starting().is_empty(), || {
        format!("still starting: {:?}", registry.starting())
    })?;
    ensure(registry.get(&s.other_namespace).is_none(), || {
        "an instance where there is none".into()
    })?;
    ensure(!registry.is_foreign(&ns).await.map_err(err)?, || {
        "its own namespace is foreign".into()
    })
}

async fn an_instance_describes_itself(s: &Subject, _: &mut Found) -> CheckResult {
    let i = own(s);
    let info = i.info();
    ensure(!i.id().is_empty() && info.instance_id == i.id(), || {
        format!("id {:?} / info {:?}", i.id(), info.instance_id)
    })?;
    ensure(
        info.namespace == i.namespace() && info.runtime == s.name,
        || format!("info names {} on {}", info.namespace, info.runtime),
    )?;
    ensure(info.restore_incomplete.is_none(), || {
        "a restore marked on a fresh instance".into()
    })?;
    ensure(!i.postgres_endpoint().is_empty(), || {
        "no Postgres endpoint".into()
    })?;
    ensure(!i.platform_version().is_empty(), || {
        "no platform version".into()
    })
}

async fn size_counts_what_a_backup_stages(s: &Subject, _: &mut Found) -> CheckResult {
    let i = own(s);
    let size = i.size_bytes().await;
    ensure(size > 1 << 20, || {
        format!("size_bytes {size}: less than 1 MiB")
    })?;
    let (where_, free) = i.data_dir().await;
    ensure(
        !where_.is_empty() && free.is_some() == s.knows_free_space && free != Some(0),
        || format!("data_dir ({where_:?}, {free:?})"),
    )
}

async fn its_postgres_runs_and_answers_sql(s: &Subject, found: &mut Found) -> CheckResult {
    let i = own(s);
    ensure(i.is_running().await, || "Postgres is not running".into())?;
    ensure(i.postgres_run().await.is_some(), || {
        "no run of Postgres while it runs".into()
    })?;
    let sql = i.sql().await;
    ensure(sql.is_primary().await.map_err(err)?, || {
        "Postgres is still in recovery".into()
    })?;
    let counts = sql.counts().await.map_err(err)?;
    for (db, tables) in lifeboat::runtime::host::sql::COUNTED {
        for t in tables {
            ensure(counts.contains_key(&format!("{db}.{t}")), || {
                format!("no count of {db}.{t}: {counts:?}")
            })?;
        }
    }
    ensure(
        counts.get("appmanager.apps").is_some_and(|n| *n > 0),
        || format!("no apps counted: {counts:?}"),
    )?;
    let (apps, workspaces) = sql.apps_and_workspaces().await.map_err(err)?;
    ensure(
        apps.len() as u64 == counts["appmanager.apps"]
            && workspaces.len() as u64 == counts["appmanager.workspaces"],
        || {
            format!(
                "{} apps, {} workspaces; counts {counts:?}",
                apps.len(),
                workspaces.len()
            )
        },
    )?;
    sql.identity_providers().await.map_err(err)?;
    found.counts = counts;
    Ok(())
}

async fn export_config_stages_the_configuration(s: &Subject, found: &mut Found) -> CheckResult {
    let i = own(s);
    let (files, bytes) = i.export_config().await.map_err(err)?;
    found.exported = (files, bytes);
    ensure(files > 0 && bytes > 0, || {
        format!("exported {files} files, {bytes} B")
    })?;
    ensure(i.backup_staging().has_dir("config").await, || {
        "no config/ in the backup staging".into()
    })
}

async fn pgbackrest_backs_it_up(s: &Subject, found: &mut Found) -> CheckResult {
    let i = own(s);
    let config = i.pgbackrest_config();
    let out = s
        .runtime
        .run(
            lifeboat::pgbackrest::backup_full(&config),
            CancellationToken::new(),
            &mut |_, _| {},
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure(out.exit_code == Some(0), || {
        format!(
            "pgbackrest backup: {}",
            lifeboat::pgbackrest::output_tail(&out)
        )
    })?;
    let info = s
        .runtime
        .run(
            lifeboat::pgbackrest::info(&config),
            CancellationToken::new(),
            &mut |_, _| {},
        )
        .await
        .map_err(|e| e.to_string())?;
    let backups = lifeboat::pgbackrest::parse_info(&info.stdout_tail.join("\n"))
        .map_err(|e| e.to_string())?;
    found.label = backups
        .last()
        .ok_or("pgbackrest info lists no backup")?
        .label
        .clone();
    Ok(())
}

async fn install_repository_takes_a_fetched_copy(s: &Subject, _: &mut Found) -> CheckResult {
    let i = own(s);
    let staging = s.runtime.restore_staging("contract-op");
    staging.reset().await.map_err(|e| e.to_string())?;
    let fetched = staging.place().join("pgbackrest");
    (s.copy)(&i.backup_staging().place().join("pgbackrest"), &fetched);
    (s.copy)(
        &i.backup_staging().place().join("config"),
        &fetched_config(),
    );
    // A place with nothing in it is refused, and leaves the installed repository alone.
    let missing = staging.place().join("not-fetched");
    ensure(i.install_repository(&missing).await.is_err(), || {
        "installed a repository that is not there".into()
    })?;
    ensure(i.backup_staging().has_dir("pgbackrest").await, || {
        "a refused install removed the installed repository".into()
    })?;
    i.install_repository(&fetched).await.map_err(err)?;
    Ok(())
}

async fn stop_stops_postgres(s: &Subject, _: &mut Found) -> CheckResult {
    let i = own(s);
    i.stop().await.map_err(err)?;
    ensure(!i.is_running().await, || "still running after stop".into())?;
    ensure(i.postgres_run().await.is_none(), || {
        "a run of Postgres after stop".into()
    })?;
    ensure(i.sql().await.is_primary().await.is_err(), || {
        "SQL answered after stop".into()
    })?;
    // Stopping what is stopped is not an error (a retried restore stops again).
    i.stop().await.map_err(err)
}

async fn empty_data_empties_the_data_directory(s: &Subject, found: &mut Found) -> CheckResult {
    let i = own(s);
    found.size_before_empty = i.size_bytes().await;
    i.empty_data().await.map_err(err)?;
    let after = i.size_bytes().await;
    ensure(
        !s.empties_data || after < found.size_before_empty / 2,
        || {
            format!(
                "size {} before empty_data, {after} after",
                found.size_before_empty
            )
        },
    )
}

async fn start_restored_refuses_an_empty_data_directory(s: &Subject, _: &mut Found) -> CheckResult {
    if !s.empties_data {
        return Ok(());
    }
    let i = own(s);
    ensure(i.start_restored(&|_| {}).await.is_err(), || {
        "started Postgres on an empty data directory".into()
    })?;
    ensure(!i.is_running().await, || {
        "running on an empty data directory".into()
    })
}

fn fetched_config() -> Place {
    Place::root(Volume::RestoreStaging("contract-op".into())).join("config")
}

async fn restore_data_refuses_an_unknown_label(s: &Subject, _: &mut Found) -> CheckResult {
    let i = own(s);
    let config = fetched_config();
    let what = DataRestore {
        label: Some("20200101-000000F"),
        config: &config,
        source_namespace: i.namespace(),
        to: None,
    };
    let outcome = i
        .restore_data(what, CancellationToken::new(), &mut |_, _| {})
        .await;
    ensure(
        !matches!(&outcome, Ok(out) if out.exit_code == Some(0)),
        || format!("restored a backup label that does not exist: {outcome:?}"),
    )
}

async fn restore_data_restores_the_backup(s: &Subject, found: &mut Found) -> CheckResult {
    let i = own(s);
    // As a retried restore does: the refused attempts above may have left files behind.
    i.empty_data().await.map_err(err)?;
    let config = fetched_config();
    let mut lines = 0;
    let what = DataRestore {
        label: Some(&found.label),
        config: &config,
        source_namespace: i.namespace(),
        to: None,
    };
    let out = i
        .restore_data(what, CancellationToken::new(), &mut |_, _| lines += 1)
        .await
        .map_err(err)?;
    ensure(out.exit_code == Some(0), || {
        format!(
            "pgbackrest restore: {}",
            lifeboat::pgbackrest::output_tail(&out)
        )
    })?;
    ensure(lines > 0, || "the restore said nothing on the way".into())?;
    let size = i.size_bytes().await;
    ensure(size > 1 << 20, || {
        format!("{size} B after the restore: the data directory is still empty")
    })
}

/// What the restore's start step does after `start_restored`: waits (up to two minutes)
/// until Postgres has finished recovery, then until the instance reports running (on
/// Kubernetes, its pod ready).
async fn wait_up(i: &dyn Instance) -> CheckResult {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while !matches!(i.sql().await.is_primary().await, Ok(true)) {
        ensure(tokio::time::Instant::now() < deadline, || {
            "Postgres did not finish recovery within 120 s of start_restored".into()
        })?;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    while !i.is_running().await {
        ensure(tokio::time::Instant::now() < deadline, || {
            "not running within 120 s of start_restored".into()
        })?;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn start_restored_promotes_with_the_same_rows(s: &Subject, found: &mut Found) -> CheckResult {
    let i = own(s);
    i.start_restored(&|_| {}).await.map_err(err)?;
    wait_up(i.as_ref()).await?;
    let sql = i.sql().await;
    let counts = sql.counts().await.map_err(err)?;
    ensure(counts == found.counts, || {
        format!("rows {counts:?}, backed up {:?}", found.counts)
    })
}

async fn apply_config_puts_back_the_saved_configuration(
    s: &Subject,
    found: &mut Found,
) -> CheckResult {
    let i = own(s);
    let applied = i
        .apply_config(&fetched_config(), i.namespace())
        .await
        .map_err(err)?;
    // Every object exported is applied, or named as deliberately left (Lifeboat's own
    // objects on Kubernetes).
    ensure(
        applied.files > 0
            && applied.files <= found.exported.0
            && (applied.files == found.exported.0 || !applied.notes.is_empty()),
        || format!("applied {applied:?}, exported {:?}", found.exported),
    )?;
    ensure(applied.rewritten == 0, || {
        format!(
            "rewrote {} files in place (same namespace)",
            applied.rewritten
        )
    })?;
    // Applying again is the same (a retried restore re-applies).
    let again = i
        .apply_config(&fetched_config(), i.namespace())
        .await
        .map_err(err)?;
    ensure(again.files == applied.files, || {
        format!("applied {} files, then {}", applied.files, again.files)
    })
}

async fn the_restore_marker_outlives_a_crash(s: &Subject, _: &mut Found) -> CheckResult {
    let i = own(s);
    let ns = i.namespace().to_owned();
    let marker = i.restore_marker();
    marker.mark("contract-op").map_err(err)?;
    ensure(i.restoring().as_deref() == Some("contract-op"), || {
        format!("restoring() is {:?}", i.restoring())
    })?;
    ensure(
        s.runtime.instances().restoring_in(&ns).as_deref() == Some("contract-op"),
        || "the registry does not see the marker".into(),
    )?;
    ensure(
        i.info().restore_incomplete.as_deref() == Some("contract-op"),
        || "info() does not report the incomplete restore".into(),
    )?;
    // Lifeboat killed mid-restore: its Postgres dies with it; a new Lifeboat on the same
    // state must leave the half-restored instance stopped, and say why.
    i.stop().await.map_err(err)?;
    let again = (s.again)().await;
    again.instances().start().await.map_err(err)?;
    let back = again
        .instances()
        .own()
        .ok_or("no own instance after the restart")?;
    ensure(back.restoring().as_deref() == Some("contract-op"), || {
        "the marker was lost across the restart".into()
    })?;
    ensure(!back.is_running().await, || {
        "a half-restored Postgres was started after the restart".into()
    })?;
    back.restore_marker().clear().map_err(err)?;
    ensure(
        back.restoring().is_none() && i.restoring().is_none(),
        || "the marker is still there after clear".into(),
    )?;
    back.restore_marker().clear().map_err(err)?;
    ensure(again.instances().restoring_in(&ns).is_none(), || {
        "the registry still sees a cleared marker".into()
    })?;
    back.start_restored(&|_| {}).await.map_err(err)?;
    wait_up(back.as_ref()).await?;
    back.stop().await.map_err(err)
}

async fn a_new_namespace_starts_empty_and_goes(s: &Subject, _: &mut Found) -> CheckResult {
    let registry = s.runtime.instances();
    let ns = s.other_namespace.as_str();
    ensure(!registry.is_foreign(ns).await.map_err(err)?, || {
        format!("{ns} is foreign before anything is there")
    })?;
    let own_ns = own(s).namespace().to_owned();
    ensure(registry.create_empty(&own_ns).await.is_err(), || {
        "created an instance over the own one".into()
    })?;
    let new = registry.create_empty(ns).await.map_err(err)?;
    ensure(new.namespace() == ns && !new.is_running().await, || {
        format!(
            "{} running {}",
            new.namespace(),
            "before a restore filled it"
        )
    })?;
    ensure(new.restoring().is_none(), || {
        "a new instance is marked".into()
    })?;
    ensure(registry.has_remains(ns), || {
        "a created, not adopted namespace is not remains".into()
    })?;
    ensure(registry.create_empty(ns).await.is_err(), || {
        "created the same namespace twice".into()
    })?;
    registry.remove(ns).await.map_err(err)?;
    ensure(
        !registry.has_remains(ns) && registry.get(ns).is_none(),
        || "remains after remove".into(),
    )?;
    // Made again and adopted, it is listed and looked up like the own one.
    let again = registry.create_empty(ns).await.map_err(err)?;
    registry.adopt(again.clone());
    ensure(
        registry.get(ns).is_some_and(|i| i.id() == again.id()),
        || "an adopted instance is not found".into(),
    )?;
    ensure(
        registry.list().len() == 2 && !registry.has_remains(ns),
        || format!("{} listed after adopt", registry.list().len()),
    )
}

type Check =
    for<'a> fn(&'a Subject, &'a mut Found) -> Pin<Box<dyn Future<Output = CheckResult> + 'a>>;

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        [$((stringify!($name), (|s, f| Box::pin($name(s, f))) as Check)),*]
    };
}

/// Runs every check in order; the first that fails ends the run, named.
async fn run_contract(subject: &Subject) {
    let mut found = Found::default();
    for (name, check) in checks![
        registry_publishes_its_own_instance,
        an_instance_describes_itself,
        its_postgres_runs_and_answers_sql,
        export_config_stages_the_configuration,
        pgbackrest_backs_it_up,
        size_counts_what_a_backup_stages,
        install_repository_takes_a_fetched_copy,
        stop_stops_postgres,
        empty_data_empties_the_data_directory,
        start_restored_refuses_an_empty_data_directory,
        restore_data_refuses_an_unknown_label,
        restore_data_restores_the_backup,
        start_restored_promotes_with_the_same_rows,
        apply_config_puts_back_the_saved_configuration,
        the_restore_marker_outlives_a_crash,
        a_new_namespace_starts_empty_and_goes,
    ] {
        if let Err(e) = check(subject, &mut found).await {
            panic!(
                "instance contract `{name}` failed on the {} runtime: {e}",
                subject.name
            );
        }
    }
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_runtime_keeps_the_instance_contract() {
    let dir = tempfile::tempdir().unwrap();
    backup_support::open_up(dir.path());
    let data: PathBuf = dir.path().join("data");
    let build = {
        let data = data.clone();
        move || -> Arc<dyn Runtime> { Arc::new(LocalRuntime::new(&data, Toolbox::discover())) }
    };
    let runtime = build();
    let again: Rebuild = Box::new(move || {
        let runtime = build();
        Box::pin(async move { runtime })
    });
    runtime.instances().start().await.unwrap();
    let paths = Paths::new(&data);
    let subject = Subject {
        name: "local",
        runtime,
        again,
        copy: Box::new(move |from, to| copy_tree(&paths.of(from), &paths.of(to))),
        other_namespace: "contract-new".into(),
        empties_data: true,
        knows_free_space: true,
    };
    run_contract(&subject).await;
    subject.runtime.instances().stop_all().await;
}

/// What the kubernetes subject is told by the test that starts it (environment variables).
const KUBE_ENV: [&str; 4] = [
    "CONTRACT_KUBECONFIG",
    "CONTRACT_NAMESPACE",
    "CONTRACT_DATA_DIR",
    "CONTRACT_TLS_DIR",
];

async fn kube_runtime(env: &BTreeMap<&str, String>) -> Arc<dyn Runtime> {
    let settings = KubeSettings {
        tls_dir: env["CONTRACT_TLS_DIR"].clone().into(),
        ..KubeSettings::default()
    };
    let options = KubeOptions {
        kubeconfig: Some(env["CONTRACT_KUBECONFIG"].clone().into()),
        namespace: Some(env["CONTRACT_NAMESPACE"].clone()),
        settings,
        config_map: "lifeboat-config".into(),
    };
    let data = PathBuf::from(&env["CONTRACT_DATA_DIR"]);
    Arc::new(
        KubeRuntime::connect(&data, Toolbox::discover(), options)
            .await
            .unwrap(),
    )
}

/// The suite against the kubernetes runtime, as Lifeboat's pod runs it: its tools here, its
/// data dir the folder of Lifeboat's staging claim, the namespace's Service names resolved
/// as the node resolves them for a pod (the test that starts this one gives it a mount
/// namespace whose `/etc/hosts` says so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "started by the_kubernetes_runtime_keeps_the_instance_contract, in a mount namespace with the cluster's names"]
async fn kubernetes_subject() {
    let env: BTreeMap<&str, String> = KUBE_ENV
        .iter()
        .map(|k| {
            (
                *k,
                std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set")),
            )
        })
        .collect();
    let runtime = kube_runtime(&env).await;
    let start = runtime.instances().start();
    if tokio::time::timeout(std::time::Duration::from_secs(120), start)
        .await
        .is_err()
    {
        // Why: what the registry's start retries (pgBackRest's stanza-create over TLS).
        let config = Place::at(
            Volume::PgbackrestConfig(env["CONTRACT_NAMESPACE"].clone()),
            "pgbackrest.conf",
        );
        let out = runtime
            .run(
                lifeboat::pgbackrest::stanza_create(&config),
                CancellationToken::new(),
                &mut |_, _| {},
            )
            .await;
        panic!("the registry did not start within 120 s; stanza-create says {out:?}");
    }
    let paths = Paths::new(std::path::Path::new(&env["CONTRACT_DATA_DIR"]));
    let again: Rebuild = Box::new(move || {
        let env = env.clone();
        Box::pin(async move { kube_runtime(&env).await })
    });
    let subject = Subject {
        name: "kubernetes",
        runtime,
        again,
        copy: Box::new(move |from, to| copy_tree(&paths.of(from), &paths.of(to))),
        other_namespace: "contract-new".into(),
        empties_data: false,
        knows_free_space: false,
    };
    run_contract(&subject).await;
}

/// A control plane, a Dash Enterprise-shaped namespace, and the suite beside its Lifeboat,
/// idle (on its volume, with its service account and client certificate; its pod stays up:
/// the system Postgres archives its WAL to the pgBackRest server there), and
/// [`kubernetes_subject`] run in a mount namespace whose `/etc/hosts` names the system
/// Postgres' Service as the node does for a pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_runtime_keeps_the_instance_contract() {
    use lifeboat_e2e::cluster::Cluster;
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .unwrap();
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.dash_namespace("dash").unwrap();
        cluster
    })
    .await
    .unwrap();
    let ns = "dash";
    let work = tempfile::tempdir().unwrap();
    backup_support::open_up(work.path());
    let tls = work.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    for key in ["ca.crt", "tls.crt", "tls.key"] {
        let b64 = cluster
            .kubectl_ok(&[
                "-n",
                ns,
                "get",
                "secret",
                "lifeboat-pgbackrest-client",
                "-o",
                &format!("jsonpath={{.data.{}}}", key.replace('.', "\\.")),
            ])
            .unwrap();
        let out = std::process::Command::new("base64")
            .arg("-d")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(b64.trim().as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{key}");
        std::fs::write(tls.join(key), out.stdout).unwrap();
        // As the Secret's volume has them (mode 0640, the pod's fsGroup: pgBackRest runs as
        // the postgres user and refuses a key others may read).
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(tls.join(key), std::fs::Permissions::from_mode(0o640)).unwrap();
        let chgrp = std::process::Command::new("chgrp")
            .arg("postgres")
            .arg(tls.join(key))
            .status()
            .unwrap();
        assert!(chgrp.success());
    }
    let pg_ip = cluster.pod_ip(ns, "app=system-postgres").unwrap();
    let hosts = work.path().join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1\tlocalhost\n{pg_ip}\tsystem-postgres.{ns}.svc system-postgres\n"),
    )
    .unwrap();
    let data = cluster.claim_dir(ns, "lifeboat-staging").unwrap();
    // Lifeboat's own service account, as its pod authenticates (its Role and bindings).
    let token = cluster
        .kubectl_ok(&["-n", ns, "create", "token", "lifeboat", "--duration=1h"])
        .unwrap();
    let kubeconfig = cluster.token_kubeconfig("contract", token.trim()).unwrap();
    let exe = std::env::current_exe().unwrap();
    // Bounded: a registry that cannot reach the system Postgres retries for ten minutes.
    let run = std::process::Command::new("timeout")
        .args([
            "600",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
        ])
        .arg("mount --bind \"$0\" /etc/hosts && exec \"$@\"")
        .arg(&hosts)
        .arg(&exe)
        .args(["--exact", "kubernetes_subject", "--ignored", "--nocapture"])
        .env("CONTRACT_KUBECONFIG", &kubeconfig)
        .env("CONTRACT_NAMESPACE", ns)
        .env("CONTRACT_DATA_DIR", &data)
        .env("CONTRACT_TLS_DIR", &tls)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success() && said.contains("test kubernetes_subject ... ok"),
        "{said}\n{}",
        cluster.diagnose(ns)
    );
}
