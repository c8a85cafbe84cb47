//! The flows mounted in a host page (issue #6: every flow both standalone and in the test
//! host page): the plugin on another origin, under the host's base path, authenticated by
//! the host's `getToken` (bearer, no cookie), configures S3 storage on moto in its form (a
//! wrong secret first, shown as refused, then the right one, verified and saved), drives
//! Backup Now with a description to completion into that bucket, then a restore into the
//! same namespace with the typed phrase, to the checklist. axe-core checks the plugin's root
//! at the form, at each dialog and at the finished page.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, moto, PostgreSQL, pgBackRest and
//! restic: `make test` provides all of them.

use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::config_form::{
    self, VERIFY_SECS, expect_not_working, fill_s3, verify_empty_bucket_works, wait_check,
};
use lifeboat_e2e::host::{BASE_PATH, Host};
use lifeboat_e2e::page::{
    click, click_when_enabled, element, fill, get_json, open_up, wait_for_all, wait_instance,
};
use lifeboat_e2e::restore::{
    Target, assert_page_succeeded, confirm, fill_dialog, newest_backup, row, wait_page_final,
};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_e2e::servers::Moto;

/// The plugin in the host page: every selector of the plugin's own elements is under it.
const IN: &str = "#slot";
/// moto's bucket the plugin is configured with.
const BUCKET: &str = "plugin";

/// How long the backup and the restore may each take on the loaded 2-core machine.
const BACKUP_SECS: u64 = 180;
const RESTORE_SECS: u64 = 240;

/// axe-core on the plugin's root only: the host page's own markup is not ours.
async fn axe_plugin(browser: &Browser, state: &str) -> anyhow::Result<()> {
    axe::check_scoped(
        browser,
        state,
        &axe::Scope {
            include: &["#slot [data-lifeboat-root]"],
            ..axe::Scope::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_s3_then_backup_now_and_restore_in_place_in_the_host_page() -> anyhow::Result<()>
{
    let moto = Moto::start(&[BUCKET]).await?;
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let (listener, origin) = Host::bind()?;
    let server = Lifeboat::start(&dir.path().join("data"), &["--allowed-origin", &origin]).await?;
    wait_instance(&server).await?;
    let host = Host::start(listener, &server.url, Some(&server.token))?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&host.plugin_url()).await?;

    // Configure storage in the plugin's form: S3 on moto with a wrong secret key first.
    config_form::open(&browser, IN).await?;
    axe_plugin(&browser, "the configuration form in the host page").await?;
    fill_s3(
        &browser,
        IN,
        &moto.endpoint,
        BUCKET,
        &moto.access_key_id,
        "this-is-not-the-secret",
    )
    .await?;
    click(&browser, "#slot [data-testid=verify-config]").await?;
    // The key is refused, in words shown in the page (the check's visible text).
    let refused = wait_check(
        &browser,
        IN,
        "credentials",
        "Failed",
        &[
            "access key was refused",
            "What to do: check the key id and secret",
        ],
    )
    .await?;
    eprintln!("the failed credentials check in the host page: {refused:?}");
    wait_check(&browser, IN, "reachable", "Passed", &[]).await?;
    wait_check(&browser, IN, "bucket", "Skipped", &[]).await?;
    expect_not_working(&browser, IN).await?;
    let view = get_json(&server, "/config").await?;
    anyhow::ensure!(view["is_default"] == true, "a failed verify saved: {view}");

    // The right secret: Verify passes, and Save stores it and shows the S3 location.
    fill(
        &browser,
        "#slot [data-testid=config-secret_access_key]",
        &moto.secret_access_key,
    )
    .await?;
    verify_empty_bucket_works(&browser, IN).await?;
    click(&browser, "#slot [data-testid=save-config]").await?;
    let location = format!("s3://{BUCKET}/lifeboat at {} (us-east-1)", moto.endpoint);
    wait_for_all(
        &browser,
        "#slot [data-testid=config-summary] [data-testid=config-location]",
        &["Amazon S3", &location],
        VERIFY_SECS,
    )
    .await?;
    let view = get_json(&server, "/config").await?;
    let provider = &view["config"]["provider"];
    anyhow::ensure!(
        view["is_default"] == false
            && view["credentials_set"] == true
            && provider["provider"] == "s3"
            && provider["bucket"] == BUCKET
            && provider["endpoint"] == moto.endpoint.as_str(),
        "the saved configuration is not the form's: {view}"
    );
    let catalog = moto.list(BUCKET, "lifeboat/catalog").await?;
    anyhow::ensure!(
        catalog.is_empty(),
        "catalog objects before the backup: {catalog:?}"
    );

    // Backup Now, with a description, in the plugin.
    let description = "Before the host upgrade";
    click_when_enabled(&browser, "#slot [data-testid=backup-now]", 30).await?;
    fill(
        &browser,
        "#slot [data-testid=backup-description]",
        description,
    )
    .await?;
    axe_plugin(&browser, "the Backup Now dialog in the host page").await?;
    click_when_enabled(&browser, "#slot [data-testid=backup-start]", 10).await?;
    element(&browser, "#slot [data-testid=operation-progress]").await?;
    // Done: the backup's own row (not the running one) lists it, and the card says so.
    lifeboat_e2e::page::wait_for_all(
        &browser,
        "#slot [data-testid=backup-row]",
        &[description],
        BACKUP_SECS,
    )
    .await?;
    element(
        &browser,
        "#slot [data-testid=current-operation] [data-testid=operation-progress][data-status=Succeeded]",
    )
    .await?;
    let backup = newest_backup(&server).await?;
    let listed = get_json(&server, "/backups").await?;
    anyhow::ensure!(
        listed["backups"][0]["description"] == description,
        "the catalog does not hold the page's backup: {listed}"
    );
    axe_plugin(&browser, "the backups table in the host page").await?;

    // Restore it into the same namespace, the phrase typed, from its row.
    click_when_enabled(
        &browser,
        &format!("#slot {} [data-testid=restore-button]", row(&backup)),
        30,
    )
    .await?;
    element(&browser, "#slot [data-testid=restore-dialog]").await?;
    fill_dialog(&browser, Target::Same).await?;
    axe_plugin(&browser, "the Restore dialog in the host page").await?;
    let id = confirm(&browser).await?;
    // The progress page lives under the host's base path, on the host's origin.
    let url = c.current_url().await?;
    anyhow::ensure!(
        url.path() == format!("{BASE_PATH}/operations/{id}")
            && host.url.starts_with(&url.origin().ascii_serialization()),
        "the progress page is at {url}"
    );
    let end = wait_page_final(&browser, RESTORE_SECS).await?;
    anyhow::ensure!(
        end == "Succeeded",
        "the restore ended {end:?}: {}",
        browser.text_of("#slot [data-testid=operation]").await?
    );
    assert_page_succeeded(&browser).await?;
    axe_plugin(
        &browser,
        "the finished restore with its checklist in the host page",
    )
    .await?;

    // The record agrees with the page.
    let op = get_json(&server, &format!("/operations/{id}")).await?;
    anyhow::ensure!(op["status"] == "succeeded", "{op:#}");
    anyhow::ensure!(op["kind"]["backup_id"] == backup.as_str(), "{op:#}");
    let namespace = get_json(&server, "/instance").await?["namespace"].clone();
    anyhow::ensure!(op["kind"]["target_namespace"] == namespace, "{op:#}");

    // The backup went to moto through the plugin: the catalog lists it, and its catalog
    // object is in the bucket.
    let listed = get_json(&server, "/backups").await?;
    let ids: Vec<_> = listed["backups"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["id"].as_str()).collect())
        .unwrap_or_default();
    anyhow::ensure!(ids == [backup.as_str()], "GET /api/v1/backups: {listed}");
    let catalog = moto.list(BUCKET, "lifeboat/catalog").await?;
    anyhow::ensure!(
        catalog == [format!("lifeboat/catalog/{backup}.json")],
        "catalog objects in moto's bucket: {catalog:?}"
    );
    browser.close().await?;
    Ok(())
}
