//! `instance_contract`: what the jobs rely on from a runtime's `InstanceRegistry` and
//! `Instance`, as one suite of named checks that a runtime passes or fails (in the spirit of
//! restic's backend tests and object_store's integration suite: the same functions, given a
//! [`Subject`] per runtime). A new runtime, or a new `Instance` method, is added by making
//! this suite pass; a check that fails names itself.
//!
//! The checks run in order on one instance, as a backup and a restore use it: the registry
//! publishes its own instance; the instance describes itself, measures what a backup
//! stages, answers SQL and exports its configuration; pgBackRest backs it up; a fetched
//! repository is installed; it stops, is emptied, refuses to start empty, refuses an unknown
//! backup label, restores the backup and comes back up with the same rows, and takes back
//! its saved configuration; the restore
//! marker outlives a crash (a new registry on the same state leaves it stopped); a new
//! namespace starts empty, is adopted, refused twice and removed.
//!
//! Runs against the local runtime (real PostgreSQL, pgBackRest, no Keycloak). The kubernetes
//! registry is not a subject yet: see the `kubernetes` note at the bottom.
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
use lifeboat::runtime::local::LocalRuntime;
use lifeboat::runtime::{DataRestore, Instance, InstanceError, Runtime};
use tokio_util::sync::CancellationToken;

/// Copies one folder place to another.
type CopyPlace = Box<dyn Fn(&Place, &Place)>;

/// A runtime under test, and what the suite cannot ask of it through the seam.
struct Subject {
    /// `local` or `kubernetes`, for the failure messages.
    name: &'static str,
    /// The runtime, its registry started.
    runtime: Arc<dyn Runtime>,
    /// The same runtime built again on the same state, as after Lifeboat was killed.
    again: Box<dyn Fn() -> Arc<dyn Runtime>>,
    /// Copies a folder place to another (what restic's restore does into a staging area).
    copy: CopyPlace,
    /// A namespace that holds no instance.
    other_namespace: String,
    /// Whether `empty_data` removes the data (locally); on Kubernetes a delta restore checks
    /// every file instead, and `empty_data` leaves them.
    empties_data: bool,
}

/// What the checks found out and pass along (the backup taken, the rows it holds).
#[derive(Default)]
struct Found {
    label: String,
    /// What `export_config` staged: (files, bytes).
    exported: (u64, u64),
    counts: BTreeMap<String, u64>,
    fetched: Option<Place>,
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
    ensure(!where_.is_empty() && free.is_some_and(|f| f > 0), || {
        format!("data_dir ({where_:?}, {free:?})")
    })
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

async fn install_repository_takes_a_fetched_copy(s: &Subject, found: &mut Found) -> CheckResult {
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
    found.fetched = Some(fetched);
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

async fn start_restored_promotes_with_the_same_rows(s: &Subject, found: &mut Found) -> CheckResult {
    let i = own(s);
    i.start_restored(&|_| {}).await.map_err(err)?;
    ensure(i.is_running().await, || {
        "not running after start_restored".into()
    })?;
    let sql = i.sql().await;
    ensure(sql.is_primary().await.map_err(err)?, || {
        "still in recovery after start_restored".into()
    })?;
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
    ensure(applied.files == found.exported.0, || {
        format!("applied {applied:?}, exported {:?}", found.exported)
    })?;
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
    let again = (s.again)();
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
    ensure(back.is_running().await, || {
        "not running again after clear".into()
    })?;
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
        size_counts_what_a_backup_stages,
        its_postgres_runs_and_answers_sql,
        export_config_stages_the_configuration,
        pgbackrest_backs_it_up,
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
    runtime.instances().start().await.unwrap();
    let paths = Paths::new(&data);
    let subject = Subject {
        name: "local",
        runtime,
        again: Box::new(build),
        copy: Box::new(move |from, to| copy_tree(&paths.of(from), &paths.of(to))),
        other_namespace: "contract-new".into(),
        empties_data: true,
    };
    run_contract(&subject).await;
    subject.runtime.instances().stop_all().await;
}

// kubernetes: the suite takes a `KubeRuntime` the same way once the test process can reach
// a namespace as Lifeboat's pod does. It cannot yet: pgBackRest reaches the system Postgres
// by its Service name (`system-postgres.<ns>.svc`, checked by TLS), which only the node's
// per-pod hosts file resolves, so `KubeRegistry::start` (stanza-create) never succeeds from
// here. The kubernetes runtime's instances are exercised end to end instead, through
// Lifeboat's own pod, by `tests/tests/k8s_backup.rs`.
