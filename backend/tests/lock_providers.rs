//! The bucket lock on real object stores, not only the local folder: on moto (S3) and on
//! Azurite, concurrent takers get exactly one lease, renewal is a conditional update that
//! a taken-over holder loses, an expired lease is taken over, and release frees it.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod config_support;

use std::time::Duration;

use config_support::Fixture;
use lifeboat::storage::Target;
use lifeboat::storage::lock::{Holder, LockError, acquire, read};
use lifeboat_e2e::servers::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, Moto};
use serde_json::{Value, json};

fn holder(op: &str) -> Holder {
    Holder {
        instance_id: format!("inst-{op}"),
        namespace: "demo".into(),
        host: "test".into(),
        pid: 1,
        operation_id: op.into(),
    }
}

async fn target_for(f: &Fixture, body: Value) -> Target {
    let (status, v) = f.put_config(body).await;
    assert_eq!(status.as_u16(), 200, "{v}");
    f.state.config().current_target().await.unwrap()
}

async fn exercise(t: &Target, name: &str) {
    // Eight instances race for the lock: exactly one wins, the others see who holds it.
    let results = futures::future::join_all(
        (0..8).map(|i| acquire(t, holder(&format!("op-{i}")), Duration::from_secs(60))),
    )
    .await;
    let winners: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{name}: {results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, LockError::Held(_)), "{name}: {e:?}");
        }
    }
    let lease = results.into_iter().find_map(Result::ok).unwrap();
    lease.renew().await.unwrap();
    lease.renew().await.unwrap();
    lease.release().await.unwrap();
    assert!(read(t).await.unwrap().is_none(), "{name}: released");

    // A holder that stops renewing loses the lease to the next taker after its ttl (5 s:
    // long enough that the check before it expires is not raced by a loaded machine).
    let dead = acquire(t, holder("op-dead"), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(
        acquire(t, holder("op-early"), Duration::from_secs(60)).await,
        Err(LockError::Held(_))
    ));
    tokio::time::sleep(Duration::from_millis(5100)).await;
    let live = acquire(t, holder("op-live"), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        matches!(dead.renew().await, Err(LockError::Lost)),
        "{name}: the taken-over holder must notice"
    );
    dead.release().await.unwrap();
    assert_eq!(
        read(t).await.unwrap().unwrap().holder.operation_id,
        "op-live",
        "{name}: releasing a lost lease leaves the new one"
    );
    live.release().await.unwrap();
    assert!(read(t).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_holds_on_s3_and_azure() {
    let moto = Moto::start(&["locks"]).await.unwrap();
    let f = Fixture::new();
    let s3 = target_for(
        &f,
        json!({
            "config": {"provider": {"provider": "s3", "region": "us-east-1", "bucket": "locks", "prefix": "team", "endpoint": moto.endpoint}, "secret_name": "s3"},
            "credentials": {"provider": "s3", "access_key_id": moto.access_key_id, "secret_access_key": moto.secret_access_key},
        }),
    )
    .await;
    exercise(&s3, "moto").await;

    let azurite = Azurite::start().await.unwrap();
    azurite.create_container("locks").await.unwrap();
    let az = target_for(
        &f,
        json!({
            "config": {"provider": {"provider": "azure", "account": AZURITE_ACCOUNT, "container": "locks", "prefix": "team"}, "secret_name": "az"},
            "credentials": {"provider": "azure", "account_key": AZURITE_KEY},
        }),
    )
    .await;
    exercise(&az, "azurite").await;
}
