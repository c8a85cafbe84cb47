//! The demo instance with real PostgreSQL: created once, re-used, a stale pid file handled.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use std::sync::Arc;

use lifeboat::instance::{DEMO_NAMESPACE, Instance, seed};
use lifeboat::runtime::{LocalRuntime, Runtime};
use lifeboat::tools::Toolbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_instance_is_created_seeded_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let toolbox = Toolbox::discover();
    let local = LocalRuntime::new(toolbox.clone());
    let ids = local.postgres_user();
    let runtime: Arc<dyn Runtime> = Arc::new(local);

    let first = Instance::ensure(&data, DEMO_NAMESPACE, runtime.clone(), &toolbox, ids)
        .await
        .unwrap();
    let users = first
        .postmaster
        .query(
            runtime.as_ref(),
            "keycloak",
            "select count(*) from user_entity",
        )
        .await
        .unwrap();
    assert_eq!(users, (seed::USERS + 1).to_string());
    let info = first.info();
    assert_eq!(info.namespace, "demo");
    assert_eq!(info.postgres_port, Some(first.file.port));
    assert!(
        std::path::Path::new(info.config_dir.as_deref().unwrap())
            .join("platform.yaml")
            .is_file()
    );
    // Archiving works (pgBackRest accepts WAL into the staging repository).
    let archived = first
        .postmaster
        .query(
            runtime.as_ref(),
            "postgres",
            "select pg_switch_wal() is not null",
        )
        .await
        .unwrap();
    assert_eq!(archived, "t");
    first.stop().await;

    // A stale postmaster.pid (a dead pid) does not stop the next start.
    let pidfile = first.layout.pgdata().join("postmaster.pid");
    std::fs::write(&pidfile, "999999\n").unwrap();
    let second = Instance::ensure(&data, DEMO_NAMESPACE, runtime.clone(), &toolbox, ids)
        .await
        .unwrap();
    assert_eq!(second.file, first.file, "identity and port are remembered");
    let apps = second
        .postmaster
        .query(runtime.as_ref(), "appmanager", "select count(*) from apps")
        .await
        .unwrap();
    assert_eq!(apps, seed::APPS.to_string(), "not seeded twice");
    second.stop().await;

    // Someone took the remembered port meanwhile: the instance moves to a free one.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", second.file.port)).unwrap();
    let third = Instance::ensure(&data, DEMO_NAMESPACE, runtime.clone(), &toolbox, ids)
        .await
        .unwrap();
    assert_ne!(third.file.port, second.file.port);
    assert_eq!(third.file.instance_id, second.file.instance_id);
    let users = third
        .postmaster
        .query(runtime.as_ref(), "keycloak", "select count(*) from realm")
        .await
        .unwrap();
    assert_eq!(users, "2");
    third.stop().await;
    drop(squatter);
}
