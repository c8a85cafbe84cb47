//! The demo instance with real PostgreSQL: created once, re-used, a stale pid file handled.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::sync::Arc;

use backup_support::{layout, query};
use lifeboat::runtime::Instance;
use lifeboat::runtime::host::paths::Paths;
use lifeboat::runtime::host::process::Runner;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::runtime::local::instance::{DEMO_NAMESPACE, LocalInstance, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_instance_is_created_seeded_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    backup_support::open_up(dir.path());
    let data = dir.path().join("data");
    let runner = Arc::new(Runner::new(Toolbox::discover(), Paths::new(&data)));

    let first = LocalInstance::ensure(runner.clone(), None, DEMO_NAMESPACE)
        .await
        .unwrap();
    let info = first.info();
    let users = query(&info, "keycloak", "select count(*) from user_entity");
    assert_eq!(users, (seed::USERS + 1).to_string());
    assert_eq!(info.namespace, "demo");
    assert!(info.postgres_port.is_some());
    assert!(
        std::path::Path::new(info.config_dir.as_deref().unwrap())
            .join("platform.yaml")
            .is_file()
    );
    // Archiving works (pgBackRest accepts WAL into the staging repository).
    let archived = query(&info, "postgres", "select pg_switch_wal() is not null");
    assert_eq!(archived, "t");
    first.stop().await.unwrap();

    // A stale postmaster.pid (a dead pid) does not stop the next start.
    let pidfile = layout(&data, DEMO_NAMESPACE)
        .pgdata()
        .join("postmaster.pid");
    std::fs::write(&pidfile, "999999\n").unwrap();
    let second = LocalInstance::ensure(runner.clone(), None, DEMO_NAMESPACE)
        .await
        .unwrap();
    let second_info = second.info();
    assert_eq!(
        (second_info.instance_id.as_str(), second_info.postgres_port),
        (info.instance_id.as_str(), info.postgres_port),
        "identity and port are remembered"
    );
    let apps = query(&second_info, "appmanager", "select count(*) from apps");
    assert_eq!(apps, seed::APPS.to_string(), "not seeded twice");
    second.stop().await.unwrap();

    // Someone took the remembered port meanwhile: the instance moves to a free one.
    let port = second_info.postgres_port.unwrap();
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let third = LocalInstance::ensure(runner.clone(), None, DEMO_NAMESPACE)
        .await
        .unwrap();
    let third_info = third.info();
    assert_ne!(third_info.postgres_port, Some(port));
    assert_eq!(third_info.instance_id, second_info.instance_id);
    let realms = query(&third_info, "keycloak", "select count(*) from realm");
    assert_eq!(realms, "2");
    third.stop().await.unwrap();
    drop(squatter);
}
