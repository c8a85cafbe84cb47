//! The progress display never contradicts itself: sampled every 250 ms in the page through
//! a backup and a restore, the bar, its percentage and the step named beside it agree, the
//! line beside the bar gives no other percentage, the percentage never goes back, the
//! running step's clock moves (never still for 2 s), and "less than a second left" never
//! stays for more than 3 s. On the main page, a running backup's card and its row in the
//! Backups table give the same percentage.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, PostgreSQL, pgBackRest and restic
//! (`make test` provides them).

use std::time::Duration;

use anyhow::{Context as _, bail};
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::page::{backup_via_api, element, open_up, wait_instance, wait_operation};
use lifeboat_e2e::restore::newest_backup;
use lifeboat_e2e::server::Lifeboat;
use serde::Deserialize;
use serde_json::{Value, json};

/// Installs the sampler: every 250 ms, what the progress display shows.
const SAMPLER: &str = r#"
  window.__lbSamples = [];
  const q = (root, css) => root && root.querySelector(css);
  window.__lbSampler = setInterval(() => {
    const view = document.querySelector('[data-testid=operation-progress]');
    const bar = q(view, '[data-testid=progress-bar]');
    const fill = q(bar, '.lb-bar-fill');
    const text = css => { const e = q(view, css); return e ? e.textContent : null; };
    const row = q(view, '[data-testid=operation-step][aria-current=step] .lb-step-title');
    window.__lbSamples.push({
      status: view ? view.dataset.status : null,
      valuenow: bar ? bar.getAttribute('aria-valuenow') : null,
      width: fill ? fill.style.width : null,
      percent: text('[data-testid=progress-percent]'),
      line: text('[data-testid=progress-overall]'),
      step: text('[data-testid=progress-step]'),
      row: row ? row.textContent : null,
      clock: text('[data-testid=operation-step][aria-current=step] .lb-step-state'),
      eta: text('[data-testid=progress-eta]'),
      t: Date.now(),
    });
  }, 250);
"#;

/// Installs the main page's sampler: every 250 ms, the In progress card's percentage and
/// the running backup's row's.
const HOME_SAMPLER: &str = r#"
  window.__lbSamples = [];
  window.__lbSampler = setInterval(() => {
    const text = css => { const e = document.querySelector(css); return e ? e.textContent : null; };
    window.__lbSamples.push({
      card: text('[data-testid=current-operation] [data-testid=progress-percent]'),
      row: text('[data-testid=backup-row-running] .lb-status'),
    });
  }, 250);
"#;

/// One sample of the display.
#[derive(Debug, Deserialize)]
struct Sample {
    status: Option<String>,
    valuenow: Option<String>,
    width: Option<String>,
    percent: Option<String>,
    line: Option<String>,
    step: Option<String>,
    row: Option<String>,
    clock: Option<String>,
    eta: Option<String>,
    /// When it was taken, in milliseconds.
    t: f64,
}

/// Fails when the running step's clock stays still for 2 s while the same step runs, or
/// "less than a second left" stays for more than 3 s.
fn check_clocks(what: &str, samples: &[Sample]) -> anyhow::Result<()> {
    let mut still: Option<&Sample> = None;
    let mut almost: Option<f64> = None;
    for (i, s) in samples.iter().enumerate() {
        let running = s.status.as_deref() == Some("Running");
        match (&still, running, &s.row, &s.clock) {
            (Some(first), true, Some(row), Some(clock))
                if first.row.as_ref() == Some(row) && first.clock.as_ref() == Some(clock) =>
            {
                if s.t - first.t > 2_000.0 {
                    bail!(
                        "{what} #{i}: step {row:?} showed {clock:?} for {:.1} s while it ran",
                        (s.t - first.t) / 1000.0
                    );
                }
            }
            (_, true, Some(_), Some(_)) => still = Some(s),
            _ => still = None,
        }
        let under_a_second = running
            && s.eta
                .as_deref()
                .is_some_and(|e| e.contains("less than a second"));
        match (almost, under_a_second) {
            (Some(since), true) if s.t - since > 3_000.0 => bail!(
                "{what} #{i}: \"less than a second left\" for {:.1} s: {s:?}",
                (s.t - since) / 1000.0
            ),
            (None, true) => almost = Some(s.t),
            (_, false) => almost = None,
            _ => {}
        }
    }
    Ok(())
}

/// One sample of the main page.
#[derive(Debug, Deserialize)]
struct HomeSample {
    card: Option<String>,
    row: Option<String>,
}

/// Fails when the card and the row give different percentages; returns how many samples
/// had both.
fn check_home(samples: &[HomeSample]) -> anyhow::Result<usize> {
    let mut both = 0;
    for (i, s) in samples.iter().enumerate() {
        let row = s
            .row
            .as_deref()
            .and_then(|r| r.split('·').nth(1))
            .and_then(number);
        if row.is_some() && s.card.is_none() {
            bail!("main page #{i}: the row gives a percentage the card does not: {s:?}");
        }
        if let (Some(card), Some(row)) = (s.card.as_deref().and_then(number), row) {
            both += 1;
            anyhow::ensure!(
                card == row,
                "main page #{i}: one backup, two percentages: the card {card}%, the row {row}%: {s:?}"
            );
        }
    }
    Ok(both)
}

/// The whole number in `s` before its `%`, if any.
fn number(s: &str) -> Option<u32> {
    s.trim().trim_end_matches('%').trim().parse().ok()
}

/// Fails on the first sample that contradicts itself or goes back; returns the distinct
/// steps seen and how many samples had a percentage while running.
fn check(what: &str, samples: &[Sample]) -> anyhow::Result<(Vec<String>, usize)> {
    let mut last: Option<u32> = None;
    let mut steps: Vec<String> = Vec::new();
    let mut with_percent = 0;
    for (i, s) in samples.iter().enumerate() {
        let Some(percent) = s.percent.as_deref() else {
            continue;
        };
        let p = number(percent).with_context(|| format!("{what} #{i}: percent {percent:?}"))?;
        let bar = s.valuenow.as_deref().and_then(number);
        let width = s
            .width
            .as_deref()
            .map(|w| w.trim_start_matches("width:").trim())
            .and_then(number);
        if bar != Some(p) || width != Some(p) {
            bail!(
                "{what} #{i}: the bar ({bar:?}, width {width:?}) and the percentage ({p}) disagree: {s:?}"
            );
        }
        let line = s.line.as_deref().unwrap_or_default();
        if line.matches('%').count() != 1 {
            bail!("{what} #{i}: the line beside the bar gives another figure: {line:?}");
        }
        if let Some(prev) = last
            && p < prev
        {
            bail!("{what} #{i}: the percentage went back from {prev} to {p}: {s:?}");
        }
        last = Some(p);
        if s.status.as_deref() == Some("Running") {
            with_percent += 1;
            match (&s.step, &s.row) {
                (Some(step), Some(row)) if step.contains(row.as_str()) => {
                    if !steps.contains(row) {
                        steps.push(row.clone());
                    }
                }
                (None, None) => {}
                _ => bail!(
                    "{what} #{i}: the step beside the bar ({:?}) is not the running step ({:?})",
                    s.step,
                    s.row
                ),
            }
        }
    }
    let end = samples.last().context("no samples")?;
    anyhow::ensure!(
        end.status.as_deref() == Some("Succeeded") && end.percent.as_deref() == Some("100%"),
        "{what}: the last sample is not a finished, full display: {end:?}"
    );
    Ok((steps, with_percent))
}

/// Opens operation `id`'s progress page, samples it until the operation ends, and checks.
async fn sample(browser: &Browser, server: &Lifeboat, id: &str, what: &str) -> anyhow::Result<()> {
    let c = &browser.client;
    c.goto(&format!("{}/operations/{id}", server.url)).await?;
    element(browser, "[data-testid=operation-progress]").await?;
    c.execute(SAMPLER, vec![]).await?;
    let op = wait_operation(server, id, 240).await?;
    anyhow::ensure!(op["status"] == "succeeded", "{what}: {op:#}");
    // The page hears of the end within a second or two; then one more sample.
    browser
        .wait_for_text(
            "[data-testid=operation-progress] [data-testid=progress-percent]",
            "100%",
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let got: Value = c
        .execute(
            "clearInterval(window.__lbSampler); return window.__lbSamples;",
            vec![],
        )
        .await?;
    let samples: Vec<Sample> = serde_json::from_value(got)?;
    let (steps, with_percent) = check(what, &samples)?;
    check_clocks(what, &samples)?;
    anyhow::ensure!(
        with_percent >= 4 && steps.len() >= 2,
        "{what}: too little was sampled to prove anything: {with_percent} running samples with a \
         percentage, steps {steps:?}, of {} samples",
        samples.len()
    );
    #[allow(clippy::print_stdout)]
    {
        println!("{what}: {} samples, steps seen {steps:?}", samples.len());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bar_the_percentage_and_the_step_agree_through_a_backup_and_a_restore()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    wait_instance(&server).await?;
    // A first backup, so the second one (sampled) and the restore have a repository.
    let op = backup_via_api(&server, "first", 180).await?;
    anyhow::ensure!(op["status"] == "succeeded", "{op}");
    let browser = Browser::start().await?;
    browser.login(&server).await?;

    let r = server
        .api()
        .post(format!("{}/api/v1/backups", server.url))
        .json(&json!({ "description": "sampled" }))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "POST /backups: {}", r.status());
    let op: Value = r.json().await?;
    let id = op["id"].as_str().context("no id")?.to_owned();
    sample(&browser, &server, &id, "backup").await?;

    // Another, followed on the main page: the card and the row agree.
    browser.client.goto(&format!("{}/", server.url)).await?;
    element(&browser, "[data-testid=backups-table]").await?;
    browser.client.execute(HOME_SAMPLER, vec![]).await?;
    let r = server
        .api()
        .post(format!("{}/api/v1/backups", server.url))
        .json(&json!({ "description": "sampled on the main page" }))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "POST /backups: {}", r.status());
    let op: Value = r.json().await?;
    let id = op["id"].as_str().context("no id")?;
    let op = wait_operation(&server, id, 240).await?;
    anyhow::ensure!(op["status"] == "succeeded", "{op:#}");
    let got: Value = browser
        .client
        .execute(
            "clearInterval(window.__lbSampler); return window.__lbSamples;",
            vec![],
        )
        .await?;
    let home: Vec<HomeSample> = serde_json::from_value(got)?;
    let both = check_home(&home)?;
    anyhow::ensure!(
        both >= 2,
        "the main page showed the card and the row together in only {both} of {} samples",
        home.len()
    );

    let backup = newest_backup(&server).await?;
    let r = server
        .api()
        .post(format!("{}/api/v1/backups/{backup}/restore", server.url))
        .json(&json!({ "confirmation": "restore backup", "target_namespace": "sampled" }))
        .send()
        .await?;
    let status = r.status();
    let op: Value = r.json().await?;
    anyhow::ensure!(status.is_success(), "POST restore: {status} {op}");
    let id = op["id"].as_str().context("no id")?.to_owned();
    sample(&browser, &server, &id, "restore").await?;
    browser.close().await?;
    Ok(())
}
