//! The flows mounted in a host page (issue #6: every flow both standalone and in the test
//! host page): the plugin on another origin, under the host's base path, authenticated by
//! the host's `getToken` (bearer, no cookie), drives Backup Now with a description to
//! completion, then a restore into the same namespace with the typed phrase, to the
//! checklist. axe-core checks the plugin's root at each dialog and at the finished page.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, PostgreSQL, pgBackRest and restic:
//! `make test` provides all of them.

use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::host::{BASE_PATH, Host};
use lifeboat_e2e::page::{click_when_enabled, element, fill, get_json, open_up, wait_instance};
use lifeboat_e2e::restore::{
    Target, assert_page_succeeded, confirm, fill_dialog, newest_backup, row, wait_page_final,
};
use lifeboat_e2e::server::Lifeboat;

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
async fn backup_now_and_restore_in_place_in_the_host_page() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let (listener, origin) = Host::bind()?;
    let server = Lifeboat::start(&dir.path().join("data"), &["--allowed-origin", &origin]).await?;
    wait_instance(&server).await?;
    let host = Host::start(listener, &server.url, Some(&server.token))?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&host.plugin_url()).await?;

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
    browser.close().await?;
    Ok(())
}
