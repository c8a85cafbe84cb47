//! Storage configuration on Azure Blob: Azurite on 127.0.0.1:10000 (one test at a time,
//! see `lifeboat_e2e::servers::Azurite`), object_store and restic for real.
#![allow(clippy::unwrap_used)]

mod config_support;

use axum::http::StatusCode;
use config_support::{Fixture, check, restic};
use lifeboat_e2e::servers::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite};
use serde_json::{Value, json};

fn put(container: &str, key: &str) -> Value {
    json!({
        "config": {
            "provider": {"provider": "azure", "account": AZURITE_ACCOUNT, "container": container, "prefix": "lifeboat"},
            "secret_name": "lifeboat-azure",
        },
        "credentials": {"provider": "azure", "account_key": key},
    })
}

#[tokio::test]
async fn azure_save_verify_wrong_key_missing_container_and_passphrase_mismatch() {
    let azurite = Azurite::start().await.unwrap();
    azurite.create_container("backups").await.unwrap();
    let f = Fixture::new();

    let (s, v) = f.put_config(put("backups", AZURITE_KEY)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["verify"]["ok"], true, "{v}");
    assert_eq!(v["verify"]["repository"], "empty");
    let target = f.state.config().current_target().await.unwrap();
    assert_eq!(target.restic.repository, "azure:backups:/lifeboat/restic");

    // Wrong key: a valid base64 key that is not the account's.
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    let report = f.verify(Some(put("backups", wrong))).await;
    let c = check(&report, "credentials");
    assert_eq!(c["status"], "failed", "{report}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("access key was refused"),
        "{c}"
    );

    // Missing container.
    let report = f.verify(Some(put("no-such-container", AZURITE_KEY))).await;
    let c = check(&report, "bucket");
    assert_eq!(c["status"], "failed", "{report}");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("no bucket or container"),
        "{c}"
    );

    // An existing repository with another passphrase.
    let env = [
        ("AZURE_ACCOUNT_NAME", AZURITE_ACCOUNT),
        ("AZURE_ACCOUNT_KEY", AZURITE_KEY),
        ("RESTIC_PASSWORD", "azure-repo-passphrase"),
    ];
    let (ok, _, err) = restic(&target.restic.repository, &env, &["init"]).await;
    assert!(ok, "{err}");
    let report = f.verify(None).await;
    assert_eq!(report["repository"], "passphrase_mismatch", "{report}");
    let mut body = put("backups", AZURITE_KEY);
    body["passphrase"] = json!({"action": "set", "passphrase": "azure-repo-passphrase"});
    let (s, v) = f.put_config(body).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["verify"]["repository"], "ready", "{v}");
}
