//! Coming back to the page, as a person does: away to another page of Lifeboat and back,
//! twenty times, with the browser's back/forward cache on (chromedriver turns it off by
//! default). Every page kept in that cache is frozen with its connections; if it kept its
//! live operations stream open, six of them would take every connection the browser allows
//! to one host and the next load would wait for a free one (about 50 s, the server's
//! keep-alive). The page closes the stream on `pagehide` and opens it again on `pageshow`.
//!
//! Needs `dist/`, `target/debug/lifeboat` and chromedriver (`make test` provides them).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use fantoccini::Locator;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::page::{backup_via_api, open_up, wait_instance};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

/// Returns to the page.
const RETURNS: usize = 20;
/// The longest a return may take until the first Backups row is drawn and a request of the
/// page's own is answered.
const LIMIT: Duration = Duration::from_secs(2);

/// Waits (at most 10 s) for the first Backups row.
async fn first_row(browser: &Browser) -> anyhow::Result<()> {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-testid=backup-row]"))
        .await
        .context("no Backups row within 10 s")?;
    Ok(())
}

/// A request of the page's own (the configuration, as the page fetches it), timed in the
/// page: milliseconds, or `None` when it took over 5 s.
async fn own_request_ms(browser: &Browser) -> anyhow::Result<Option<f64>> {
    let got = browser
        .client
        .execute_async(
            r#"const done = arguments[0];
               const t0 = performance.now();
               const timeout = new Promise(r => setTimeout(() => r(null), 5000));
               const call = fetch('/api/v1/config', { credentials: 'same-origin' })
                 .then(r => r.text()).then(() => performance.now() - t0);
               Promise.race([call, timeout]).then(done, () => done(null));"#,
            vec![],
        )
        .await?;
    Ok(got.as_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_and_returning_twenty_times_never_waits_for_a_connection() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    wait_instance(&server).await?;
    let op = backup_via_api(&server, "before leaving", 180).await?;
    anyhow::ensure!(op["status"] == "succeeded", "backup: {op}");

    let browser = Browser::start_with_bfcache().await?;
    browser.login(&server).await?;
    let c = &browser.client;
    let page = format!("{}/", server.url);
    let away = format!("{}/api/v1/health", server.url);
    c.goto(&page).await?;
    first_row(&browser).await?;

    let mut restored = 0;
    let mut times = Vec::new();
    for i in 0..RETURNS {
        c.execute("window.__lbVisit = arguments[0];", vec![json!(i)])
            .await?;
        c.goto(&away).await?;
        let t0 = Instant::now();
        // Every fourth return goes back through history (the page comes out of the cache);
        // the others load the page again by its address, as a link or a bookmark does, and
        // the old one stays in the cache: several of them in a row fill it.
        let through_history = i % 4 == 3;
        if through_history {
            c.back().await?;
        } else {
            c.goto(&page).await?;
        }
        first_row(&browser).await?;
        let request = own_request_ms(&browser).await?;
        let took = t0.elapsed();
        let from_cache = c.execute("return window.__lbVisit;", vec![]).await? == json!(i);
        restored += usize::from(from_cache && through_history);
        times.push(took.as_millis());
        anyhow::ensure!(
            request.is_some() && took < LIMIT,
            "return {i} ({}) took {took:?}; the page's own request took {} (limit {LIMIT:?})",
            if from_cache {
                "from the back/forward cache"
            } else {
                "a new load"
            },
            request.map_or("over 5 s".to_owned(), |ms| format!("{ms:.0} ms")),
        );
    }
    // Without the cache this test proves nothing: the page must have come out of it.
    anyhow::ensure!(
        restored >= RETURNS / 4 - 1,
        "only {restored} of {} returns through history came from the back/forward cache",
        RETURNS / 4
    );

    // After a return from the cache the live stream is open again: an operation started
    // elsewhere shows up in the page without a reload.
    c.goto(&away).await?;
    c.back().await?;
    first_row(&browser).await?;
    let r = server
        .api()
        .post(format!("{}/api/v1/backups", server.url))
        .json(&json!({ "description": "started elsewhere" }))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "POST /backups: {}", r.status());
    let op: Value = r.json().await?;
    let id = op["id"].as_str().context("no id")?.to_owned();
    lifeboat_e2e::page::wait_for_all(
        &browser,
        "[data-testid=current-operation]",
        &["started elsewhere"],
        10,
    )
    .await?;
    lifeboat_e2e::page::wait_operation(&server, &id, 180).await?;

    #[allow(clippy::print_stdout)]
    {
        println!("returns (ms): {times:?}; {restored} from the back/forward cache");
    }
    browser.close().await?;
    Ok(())
}

/// Several tabs on the page, as an admin keeps them: the browser holds one stream for them
/// all, not one each (seven tabs with a stream each would take the six connections the
/// browser allows to one host, and the seventh would never load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_tabs_share_one_stream_and_the_newest_loads_at_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    wait_instance(&server).await?;
    let op = backup_via_api(&server, "tabs", 180).await?;
    anyhow::ensure!(op["status"] == "succeeded", "backup: {op}");
    let browser = Browser::start_with_bfcache().await?;
    browser.login(&server).await?;
    let c = &browser.client;
    let page = format!("{}/", server.url);
    c.goto(&page).await?;
    first_row(&browser).await?;
    for tab in 2..=7 {
        let w = c.new_window(true).await?;
        c.switch_to_window(w.handle).await?;
        let t0 = Instant::now();
        c.goto(&page).await?;
        first_row(&browser).await?;
        let request = own_request_ms(&browser).await?;
        let took = t0.elapsed();
        anyhow::ensure!(
            request.is_some() && took < LIMIT,
            "tab {tab} took {took:?} to load; its own request took {} (limit {LIMIT:?})",
            request.map_or("over 5 s".to_owned(), |ms| format!("{ms:.0} ms")),
        );
    }
    // Every tab still follows the operations: one started now shows up in the newest
    // (whichever tab streams) within a poll.
    let r = server
        .api()
        .post(format!("{}/api/v1/backups", server.url))
        .json(&json!({ "description": "seen in every tab" }))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "POST /backups: {}", r.status());
    let op: Value = r.json().await?;
    lifeboat_e2e::page::wait_for_all(
        &browser,
        "[data-testid=current-operation]",
        &["seen in every tab"],
        10,
    )
    .await?;
    let id = op["id"].as_str().context("no id")?.to_owned();
    lifeboat_e2e::page::wait_operation(&server, &id, 180).await?;
    browser.close().await?;
    Ok(())
}
