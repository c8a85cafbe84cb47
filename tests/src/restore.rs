//! Restores through the real page: the Restore dialog on a backup's row, and the progress
//! page it leads to.

use std::time::Duration;

use anyhow::{Context as _, bail};
use fantoccini::Locator;

use crate::browser::Browser;
use crate::page::{click, element, fill, get_json};
use crate::server::Lifeboat;

/// The restore's steps, in order.
pub const STEPS: [&str; 10] = [
    "preflight",
    "lock",
    "fetch",
    "stop",
    "postgres",
    "start",
    "configuration",
    "verify",
    "apps",
    "checklist",
];

/// Where the Restore dialog restores into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// "This namespace": the instance itself, in place.
    Same,
    /// "A new namespace" with this name (and "Replace" left unticked).
    New(&'a str),
}

/// The id of the newest backup in `server`'s catalog.
pub async fn newest_backup(server: &Lifeboat) -> anyhow::Result<String> {
    let list = get_json(server, "/backups").await?;
    list["backups"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no backup listed: {list}"))
}

/// The CSS selector of backup `id`'s row in the Backups table.
pub fn row(id: &str) -> String {
    format!("[data-testid=backup-row][data-backup-id=\"{id}\"]")
}

/// Opens `server`'s main page, waits up to 60 s for backup `id` in the Backups table and
/// for the instance's namespace (so "This namespace" can be chosen), and clicks its
/// Restore button; returns once the dialog is open.
pub async fn open_dialog(browser: &Browser, server: &Lifeboat, id: &str) -> anyhow::Result<()> {
    browser.client.goto(&format!("{}/", server.url)).await?;
    let restore = format!("{} [data-testid=restore-button]", row(id));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(button) = browser.client.find(Locator::Css(&restore)).await
            && button.is_enabled().await.unwrap_or(false)
        {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            let table = browser
                .text_of("[data-testid=backup-restore]")
                .await
                .unwrap_or_default();
            bail!("no enabled Restore button for backup {id} within 60 s; the page: {table}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    click(browser, &restore).await?;
    element(browser, "[data-testid=restore-dialog]").await?;
    Ok(())
}

/// Whether the radio button or checkbox matching `css` is selected.
pub async fn is_selected(browser: &Browser, css: &str) -> anyhow::Result<bool> {
    Ok(element(browser, css).await?.is_selected().await?)
}

/// Whether the "Yes, restore now" button is enabled.
pub async fn confirm_enabled(browser: &Browser) -> anyhow::Result<bool> {
    Ok(element(browser, "[data-testid=restore-confirm]")
        .await?
        .is_enabled()
        .await?)
}

/// In the open dialog: chooses the target, checks that "Yes, restore now" stays disabled
/// for near-miss phrases and enables only for the exact one, then types it. Does not click.
pub async fn fill_dialog(browser: &Browser, target: Target<'_>) -> anyhow::Result<()> {
    match target {
        Target::Same => {
            click(browser, "[data-testid=restore-target-same]").await?;
            anyhow::ensure!(
                is_selected(browser, "[data-testid=restore-target-same]").await?,
                "\"This namespace\" is not selected after clicking it"
            );
        }
        Target::New(ns) => {
            click(browser, "[data-testid=restore-target-new]").await?;
            fill(browser, "[data-testid=restore-namespace]", ns).await?;
        }
    }
    type_phrase(browser).await
}

/// In the open dialog: checks that "Yes, restore now" is disabled before the phrase and for
/// near-miss phrases, and enabled only by the exact one, then types it. Does not click.
pub async fn type_phrase(browser: &Browser) -> anyhow::Result<()> {
    anyhow::ensure!(
        !confirm_enabled(browser).await?,
        "the confirm button is enabled before the phrase is typed"
    );
    for wrong in [
        "restore",
        "Restore backup",
        "restore backup ",
        "restore backups",
    ] {
        fill(browser, "[data-testid=restore-phrase]", wrong).await?;
        anyhow::ensure!(
            !confirm_enabled(browser).await?,
            "the confirm button is enabled by the phrase {wrong:?}"
        );
    }
    fill(browser, "[data-testid=restore-phrase]", "restore backup").await?;
    anyhow::ensure!(
        confirm_enabled(browser).await?,
        "the confirm button stays disabled after the exact phrase"
    );
    Ok(())
}

/// Clicks "Yes, restore now" and waits up to 30 s for the progress page; returns the new
/// operation's id (from the URL, checked against the id the page shows).
pub async fn confirm(browser: &Browser) -> anyhow::Result<String> {
    let before = browser.client.current_url().await?.path().to_owned();
    click(browser, "[data-testid=restore-confirm]").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let id = loop {
        let path = browser.client.current_url().await?.path().to_owned();
        if path != before
            && let Some(id) = path
                .rsplit_once("/operations/")
                .map(|(_, id)| id.to_owned())
            && !id.is_empty()
        {
            break id;
        }
        if tokio::time::Instant::now() > deadline {
            let dialog = browser
                .text_of("[data-testid=restore-dialog]")
                .await
                .unwrap_or_default();
            bail!("no progress page within 30 s (at {path}); the dialog says: {dialog}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    browser
        .wait_for_text("[data-testid=operation-id]", &id)
        .await?;
    element(browser, "[data-testid=operation-progress]").await?;
    Ok(id)
}

/// The progress page's status word (`data-status` of `operation-progress`), if shown. (An
/// element the page re-rendered between the find and the read is stale: not shown yet.)
pub async fn page_status(browser: &Browser) -> anyhow::Result<Option<String>> {
    match browser
        .client
        .find(Locator::Css("[data-testid=operation-progress]"))
        .await
    {
        Ok(el) => Ok(el.attr("data-status").await.ok().flatten()),
        Err(_) => Ok(None),
    }
}

/// Whether a status word is a final one.
pub fn is_final(status: &str) -> bool {
    !matches!(status, "Running" | "Waiting to start")
}

/// Waits up to `secs` until the progress page shows a final status; returns it.
pub async fn wait_page_final(browser: &Browser, secs: u64) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = page_status(browser).await?
            && is_final(&s)
        {
            return Ok(s);
        }
        if tokio::time::Instant::now() > deadline {
            let text = browser
                .text_of("[data-testid=operation]")
                .await
                .unwrap_or_default();
            bail!("the operation did not end within {secs} s; the page: {text}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every step the progress page lists, as `(data-step, data-status)`, in page order.
pub async fn page_steps(browser: &Browser) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for el in browser
        .client
        .find_all(Locator::Css("[data-testid=operation-step]"))
        .await?
    {
        out.push((
            el.attr("data-step").await?.unwrap_or_default(),
            el.attr("data-status").await?.unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// The checklist items the progress page shows.
pub async fn page_checklist(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for el in browser
        .client
        .find_all(Locator::Css("[data-testid=checklist-item]"))
        .await?
    {
        out.push(el.text().await?);
    }
    Ok(out)
}

/// Asserts what a succeeded restore's progress page shows: "Succeeded", every step done,
/// and the checklist naming the apps to rebuild and the workspaces to recreate.
pub async fn assert_page_succeeded(browser: &Browser) -> anyhow::Result<()> {
    let status = page_status(browser).await?.unwrap_or_default();
    anyhow::ensure!(status == "Succeeded", "the page says {status:?}");
    let steps = page_steps(browser).await?;
    let ids: Vec<&str> = steps.iter().map(|(id, _)| id.as_str()).collect();
    anyhow::ensure!(ids == STEPS, "the page lists the steps {ids:?}");
    anyhow::ensure!(
        steps.iter().all(|(_, s)| s == "Done"),
        "not every step is done: {steps:?}"
    );
    let items = page_checklist(browser).await?;
    anyhow::ensure!(
        element(browser, "[data-testid=checklist]")
            .await?
            .is_displayed()
            .await?,
        "the checklist is not visible"
    );
    let has = |action: &str, subject: &str| {
        items
            .iter()
            .any(|i| i.contains(action) && i.contains(subject))
    };
    anyhow::ensure!(
        has("Rebuild and Deploy", "app-001") && has("Rebuild and Deploy", "app-025"),
        "the checklist does not say to rebuild app-001 and app-025: {items:?}"
    );
    // ws-app-001's files came back with the backup: nothing to recreate.
    anyhow::ensure!(
        !has("Delete and recreate", "ws-app-001"),
        "the checklist says to recreate ws-app-001, whose files came back: {items:?}"
    );
    anyhow::ensure!(
        items
            .iter()
            .any(|i| i.contains("app-001") && i.contains("came back")),
        "the checklist does not say app-001's data came back: {items:?}"
    );
    Ok(())
}
