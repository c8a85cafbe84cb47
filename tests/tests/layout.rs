//! The page from a phone to a wide screen: at 360, 390, 768, 1280 and 1920 px wide nothing
//! scrolls sideways, Backup Now and Restore are in view, the Backups table becomes stacked
//! rows while the page's column is narrow, the standalone frame's side navigation folds into a strip above
//! the page, and axe-core finds nothing; at 1920×1080 the Last operation card leaves the first
//! backup row above the fold. A screenshot of each width goes to
//! `docs/screenshots/width-<px>.png`.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, PostgreSQL, pgBackRest and restic
//! (`make test` provides them).

use anyhow::Context as _;
use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::page::{backup_via_api, element, open_up, wait_instance};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_e2e::workspace_root;
use serde_json::Value;

const WIDTHS: [u32; 5] = [360, 390, 768, 1280, 1920];

/// Sizes the window so that the page's viewport is `width` wide.
async fn viewport(browser: &Browser, width: u32) -> anyhow::Result<()> {
    let c = &browser.client;
    let mut outer = width;
    for _ in 0..3 {
        c.set_window_size(outer, 900).await?;
        let inner = c.execute("return window.innerWidth;", vec![]).await?;
        let inner = inner.as_u64().context("innerWidth")? as u32;
        if inner == width {
            return Ok(());
        }
        outer = outer + width - inner.min(outer + width - 1);
    }
    anyhow::bail!("cannot make the viewport {width} px wide")
}

/// What the page measures at this width.
const MEASURE: &str = r#"
  const doc = document.documentElement;
  const right = css => { const e = document.querySelector(css); return e ? e.getBoundingClientRect().right : null; };
  const nav = document.querySelector('nav[aria-label=Settings]').getBoundingClientRect();
  const row = document.querySelector('[data-testid=backup-row]');
  return {
    inner: window.innerWidth,
    client: doc.clientWidth,
    scroll: doc.scrollWidth,
    backupNow: right('[data-testid=backup-now]'),
    restore: right('[data-testid=restore-button]'),
    navWidth: nav.width,
    navHeight: nav.height,
    rowDisplay: row ? getComputedStyle(row).display : null,
  };
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_360_to_1920_px_nothing_scrolls_sideways() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    wait_instance(&server).await?;
    let op = backup_via_api(&server, "Before the upgrade to 5.4", 180).await?;
    anyhow::ensure!(op["status"] == "succeeded", "{op}");
    let browser = Browser::start().await?;
    browser.login(&server).await?;
    browser.client.goto(&format!("{}/", server.url)).await?;
    element(&browser, "[data-testid=backup-row]").await?;

    for width in WIDTHS {
        viewport(&browser, width).await?;
        let m: Value = browser.client.execute(MEASURE, vec![]).await?;
        let num = |k: &str| {
            m[k].as_f64()
                .with_context(|| format!("{k} at {width} px: {m}"))
        };
        // The window less its vertical scroll bar.
        let inner = num("client")?;
        anyhow::ensure!(
            num("scroll")? <= inner,
            "at {width} px the page is {} px wide: it scrolls sideways ({m})",
            num("scroll")?
        );
        for button in ["backupNow", "restore"] {
            anyhow::ensure!(
                num(button)? <= inner,
                "at {width} px {button} ends at {} px, outside the {inner} px window",
                num(button)?
            );
        }
        // Stacked while the page's column is narrow (at 768 px the side navigation still
        // takes its share); a table from 1280 px on.
        let narrow = width < 768;
        let stacked = m["rowDisplay"] == "block";
        anyhow::ensure!(
            stacked == (width <= 768),
            "at {width} px the Backups rows should {}be stacked ({m})",
            if width <= 768 { "" } else { "not " }
        );
        if narrow {
            anyhow::ensure!(
                num("navWidth")? >= inner - 1.0 && num("navHeight")? <= 60.0,
                "at {width} px the side navigation should fold into a strip above the page ({m})"
            );
        }
        browser
            .screenshot(&workspace_root().join(format!("docs/screenshots/width-{width}.png")))
            .await?;
        axe::check(&browser, &format!("the main page at {width} px")).await?;
    }
    // At 1920×1080, after an operation, the Last operation card leaves the Backups table in
    // view: its first row ends above the fold.
    browser.client.set_window_size(1920, 1080).await?;
    let m: Value = browser
        .client
        .execute(
            r#"const row = document.querySelector('[data-testid=backup-row]').getBoundingClientRect();
               const last = document.querySelector('[data-testid=current-operation]');
               return { bottom: row.bottom, fold: window.innerHeight, last: last ? last.textContent : null };"#,
            vec![],
        )
        .await?;
    anyhow::ensure!(
        m["last"]
            .as_str()
            .is_some_and(|t| t.contains("Last operation")),
        "no Last operation card ({m})"
    );
    anyhow::ensure!(
        m["bottom"].as_f64() <= m["fold"].as_f64(),
        "at 1920×1080 the first backup row ends below the fold ({m})"
    );
    browser.close().await?;
    Ok(())
}
