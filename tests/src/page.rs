//! Helpers the browser suites share: the demo instance, clicks and typing in the page,
//! the storage configuration through the API, and waiting for an operation.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use fantoccini::Locator;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use serde_json::Value;

use crate::browser::Browser;
use crate::server::Lifeboat;

/// Lets the `postgres` user enter a temp dir that holds data dirs (the demo instance's
/// PostgreSQL runs as that user).
pub fn open_up(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Waits up to 90 s until `server`'s demo instance is up (`GET /api/v1/instance` answers).
pub async fn wait_instance(server: &Lifeboat) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let r = server
            .api()
            .get(format!("{}/api/v1/instance", server.url))
            .send()
            .await?;
        if r.status().is_success() {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the demo instance did not start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits up to 30 s for the element matching `css`.
pub async fn element(browser: &Browser, css: &str) -> anyhow::Result<Element> {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("no element {css}"))
}

/// Clicks the element matching `css` (waiting up to 30 s for it).
pub async fn click(browser: &Browser, css: &str) -> anyhow::Result<()> {
    element(browser, css).await?.click().await?;
    Ok(())
}

/// Replaces the text of the input matching `css` by typing, as a person would (select all,
/// delete, type), so the page sees every `input` event; then checks the input holds it.
pub async fn fill(browser: &Browser, css: &str, value: &str) -> anyhow::Result<()> {
    let el = element(browser, css).await?;
    el.click().await?;
    el.send_keys(&format!(
        "{}a{}{}",
        char::from(Key::Control),
        char::from(Key::Null),
        char::from(Key::Backspace)
    ))
    .await?;
    el.send_keys(value).await?;
    let now = el.prop("value").await?.unwrap_or_default();
    anyhow::ensure!(now == value, "{css} holds {now:?} after typing {value:?}");
    Ok(())
}

/// Chooses `value` in the `<select>` matching `css`.
pub async fn select(browser: &Browser, css: &str, value: &str) -> anyhow::Result<()> {
    element(browser, css).await?.select_by_value(value).await?;
    Ok(())
}

/// Scrolls the element matching `css` to the middle of the window (before a screenshot).
pub async fn scroll_to(browser: &Browser, css: &str) -> anyhow::Result<()> {
    let el = element(browser, css).await?;
    browser
        .client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    Ok(())
}

/// Waits up to `secs` until the element matching `css` exists and its text contains every
/// one of `needles`; returns that text.
pub async fn wait_for_all(
    browser: &Browser,
    css: &str,
    needles: &[&str],
    secs: u64,
) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let text = match browser.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if needles.iter().all(|n| text.contains(n)) {
            return Ok(text);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{css} never contained all of {needles:?} within {secs} s; last text: {text:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `PUT /api/v1/config` with `body` as the admin; fails unless it answers 2xx. Returns the
/// `SaveResult` JSON.
pub async fn put_config(server: &Lifeboat, body: &Value) -> anyhow::Result<Value> {
    let r = server
        .api()
        .put(format!("{}/api/v1/config", server.url))
        .json(body)
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "PUT /api/v1/config: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

/// `GET {path}` under `/api/v1` as the admin, as JSON; fails unless it answers 2xx.
pub async fn get_json(server: &Lifeboat, path: &str) -> anyhow::Result<Value> {
    let r = server
        .api()
        .get(format!("{}/api/v1{path}", server.url))
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "GET {path}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

/// Starts a backup through the API (`POST /api/v1/backups`) and waits up to `secs` for
/// its operation to end; returns the finished operation (whatever its status).
pub async fn backup_via_api(
    server: &Lifeboat,
    description: &str,
    secs: u64,
) -> anyhow::Result<Value> {
    let r = server
        .api()
        .post(format!("{}/api/v1/backups", server.url))
        .json(&serde_json::json!({ "description": description }))
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "POST /api/v1/backups: {status} {text}");
    let op: Value = serde_json::from_str(&text)?;
    let id = op["id"].as_str().context("the operation has no id")?;
    wait_operation(server, id, secs).await
}

/// Polls `GET /api/v1/operations/{id}` until the operation is no longer pending or running
/// (at most `secs`), and returns it.
pub async fn wait_operation(server: &Lifeboat, id: &str, secs: u64) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let op = get_json(server, &format!("/operations/{id}")).await?;
        let status = op["status"].as_str().unwrap_or_default();
        if !matches!(status, "pending" | "running") {
            return Ok(op);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "operation {id} still {status} after {secs} s: {op}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The Activity card's rows (cells as shown: when, who, from, action, detail, outcome),
/// newest first, inside the element matching `within` (`""`: the whole page). Opens the
/// card first (it starts collapsed), as a person would, by clicking its summary.
pub async fn activity_rows(browser: &Browser, within: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let details = element(browser, &format!("{within} [data-testid=audit] details")).await?;
    if details.attr("open").await?.is_none() {
        click(browser, &format!("{within} [data-testid=audit] summary")).await?;
    }
    let rows = browser
        .client
        .execute(
            "return [...arguments[0].querySelectorAll('[data-testid=audit-row]')]
               .map(r => [...r.cells].map(c => c.innerText));",
            vec![serde_json::to_value(&details)?],
        )
        .await?;
    Ok(serde_json::from_value(rows)?)
}

/// Waits up to `secs` until the Activity card inside `within` has a row whose cells
/// satisfy `matches`; returns that row.
pub async fn wait_activity(
    browser: &Browser,
    within: &str,
    secs: u64,
    matches: impl Fn(&[String]) -> bool,
) -> anyhow::Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let rows = activity_rows(browser, within).await?;
        if let Some(row) = rows.iter().find(|r| matches(r)) {
            return Ok(row.clone());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no such row in the Activity card within {secs} s; its rows: {rows:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits up to `secs` until the element matching `css` exists and is enabled, and clicks it.
pub async fn click_when_enabled(browser: &Browser, css: &str, secs: u64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(el) = browser.client.find(Locator::Css(css)).await
            && el.is_enabled().await.unwrap_or(false)
        {
            el.click().await?;
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{css} was not there and enabled within {secs} s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Checks `GET /api/v1/bucket` against `real_bytes` (what the bucket really holds below the
/// prefix, found by the test itself): `stored_bytes` within 5 % of it, and, while retention
/// has removed nothing, the backups' `bytes_added` adding up to within 20 % of it (what
/// each backup added after compression and deduplication, not restic's uncompressed
/// `data_added`). Returns `stored_bytes`.
pub async fn check_bucket_figures(server: &Lifeboat, real_bytes: u64) -> anyhow::Result<u64> {
    let bucket = get_json(server, "/bucket").await?;
    let stored = bucket["stored_bytes"]
        .as_u64()
        .with_context(|| format!("no stored_bytes: {bucket}"))?;
    anyhow::ensure!(
        bucket["objects"].as_u64().unwrap_or(0) > 0 && bucket["measured_at"].is_string(),
        "{bucket}"
    );
    let off = |a: u64, b: u64| (a as f64 - b as f64).abs() / b.max(1) as f64;
    anyhow::ensure!(
        off(stored, real_bytes) <= 0.05,
        "stored_bytes {stored} against {real_bytes} really stored"
    );
    let list = get_json(server, "/backups").await?;
    let added: u64 = list["backups"]
        .as_array()
        .context("no backups")?
        .iter()
        .filter_map(|b| b["bytes_added"].as_u64())
        .sum();
    anyhow::ensure!(
        off(added, real_bytes) <= 0.20,
        "the backups added {added} B in all, the bucket holds {real_bytes} B"
    );
    Ok(stored)
}

/// The bytes of every file below `dir` (a local folder standing in for a bucket).
pub fn bytes_below(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            bytes_below(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
