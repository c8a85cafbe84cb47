//! Backup Now through the real page into S3 (moto, authentication on): the backup finishes
//! in the page, is listed in the Backups table, and its repository and catalog manifest are
//! in the bucket.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, moto, PostgreSQL, pgBackRest and
//! restic: `make test` provides all of them.

use std::time::Duration;

use anyhow::Context as _;
use fantoccini::Locator;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::page::{
    click, element, get_json, open_up, put_config, wait_for_all, wait_instance,
};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_e2e::servers::Moto;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_now_from_the_page_into_s3() -> anyhow::Result<()> {
    let moto = Moto::start(&["backups"]).await?;
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;

    let body = json!({
        "config": {
            "provider": {"provider": "s3", "region": "us-east-1", "bucket": "backups",
                         "prefix": "lifeboat", "endpoint": moto.endpoint},
            "secret_name": "lifeboat-s3",
        },
        "credentials": {"provider": "s3", "access_key_id": moto.access_key_id,
                        "secret_access_key": moto.secret_access_key},
        "passphrase": {"action": "set", "passphrase": "s3-flow-passphrase"},
    });
    let saved = put_config(&server, &body).await?;
    assert_eq!(saved["verify"]["ok"], true, "{saved}");
    assert_eq!(saved["verify"]["repository"], "empty", "{saved}");
    anyhow::ensure!(
        moto.list("backups", "lifeboat/catalog").await?.is_empty(),
        "the catalog is not empty before the backup"
    );
    wait_instance(&server).await?;

    let browser = Browser::start().await?;
    browser.login(&server).await?;
    let c = &browser.client;
    c.goto(&format!("{}/", server.url)).await?;
    // The page shows where the backup goes before it is started.
    wait_for_all(
        &browser,
        "[data-testid=config-location]",
        &["Amazon S3", "s3://backups/lifeboat", &moto.endpoint],
        30,
    )
    .await?;

    click(&browser, "[data-testid=backup-now]").await?;
    let description = "Into S3 before the upgrade";
    element(&browser, "[data-testid=backup-description]")
        .await?
        .send_keys(description)
        .await?;
    click(&browser, "[data-testid=backup-start]").await?;

    // It finishes in the page and is listed in the Backups table.
    browser.text_of("[data-testid=operation-progress]").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let row_id = loop {
        let rows = c
            .find_all(Locator::Css(
                "[data-testid=backups-table] [data-testid=backup-row]",
            ))
            .await?;
        let status = lifeboat_e2e::restore::page_status(&browser)
            .await?
            .unwrap_or_default();
        if let [row] = rows.as_slice() {
            let text = row.text().await.unwrap_or_default();
            if text.contains(description)
                && status.eq_ignore_ascii_case("succeeded")
                && let Ok(Some(id)) = row.attr("data-backup-id").await
            {
                break id;
            }
        }
        let progress = browser
            .text_of("[data-testid=backup-restore]")
            .await
            .unwrap_or_default();
        anyhow::ensure!(
            !matches!(
                status.to_ascii_lowercase().as_str(),
                "failed" | "cancelled" | "interrupted"
            ),
            "the backup ended {status}: {progress}"
        );
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the backup never finished in the page (status {status:?}): {progress}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    anyhow::ensure!(!row_id.is_empty(), "the backup row has no data-backup-id");

    // The catalog API lists the same backup, encrypted.
    let list = get_json(&server, "/backups").await?;
    let backups = list["backups"].as_array().context("no backups array")?;
    assert_eq!(backups.len(), 1, "{list}");
    assert_eq!(backups[0]["id"], row_id.as_str(), "{list}");
    assert_eq!(backups[0]["description"], description, "{list}");
    assert_eq!(backups[0]["encrypted"], true, "{list}");

    // And the objects are in moto's bucket: the manifest and the restic repository.
    let catalog = moto.list("backups", "lifeboat/catalog").await?;
    assert_eq!(
        catalog,
        vec![format!("lifeboat/catalog/{row_id}.json")],
        "catalog objects"
    );
    let restic = moto.list("backups", "lifeboat/restic").await?;
    assert!(
        restic.iter().any(|k| k == "lifeboat/restic/config"),
        "no restic repository in the bucket: {restic:?}"
    );
    assert!(
        restic
            .iter()
            .any(|k| k.starts_with("lifeboat/restic/snapshots/")),
        "no restic snapshot in the bucket: {restic:?}"
    );

    // The bucket's figures are what the bucket holds (after compression and deduplication),
    // over two backups.
    let second = lifeboat_e2e::page::backup_via_api(&server, "a second one", 180).await?;
    anyhow::ensure!(second["status"] == "succeeded", "{second}");
    let real = moto.bytes("backups", "lifeboat/").await?;
    lifeboat_e2e::page::check_bucket_figures(&server, real).await?;
    browser.close().await?;
    Ok(())
}
