//! What a new admin met on the second pass through the page: a signed-out deep link to a
//! progress page, sign-in attempts in the Activity card, unknown addresses and
//! `/favicon.ico`.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, PostgreSQL, pgBackRest and restic
//! (`make test` provides them).

use anyhow::Context as _;
use fantoccini::Locator;
use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::page::{
    backup_via_api, click, element, fill, open_up, wait_activity, wait_instance,
};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_deep_link_signs_in_and_returns_to_its_operation() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    wait_instance(&server).await?;
    let op = backup_via_api(&server, "linked from a chat", 180).await?;
    let id = op["id"].as_str().context("no id")?.to_owned();
    let browser = Browser::start().await?;
    let c = &browser.client;

    // Signed out, the progress page asks to sign in, in words (no raw header syntax).
    c.goto(&format!("{}/operations/{id}", server.url)).await?;
    let form = browser
        .text_of("[data-testid=operation] [data-testid=signin]")
        .await?;
    assert!(form.contains("Admin token"), "{form}");
    let page = browser.text_of("[data-testid=operation]").await?;
    assert!(
        !page.contains('`') && !page.contains("Authorization"),
        "{page}"
    );
    axe::check(&browser, "the sign-in form on a progress page").await?;

    fill(&browser, "[data-testid=signin-token]", "a wrong guess").await?;
    click(&browser, "[data-testid=signin-submit]").await?;
    browser
        .wait_for_text("[data-testid=signin-error]", "That token was not accepted")
        .await?;
    fill(&browser, "[data-testid=signin-token]", &server.token).await?;
    click(&browser, "[data-testid=signin-submit]").await?;
    // Back at the same operation, now shown.
    lifeboat_e2e::page::wait_for_all(
        &browser,
        "[data-testid=operation] [data-testid=operation-progress]",
        &["linked from a chat"],
        15,
    )
    .await?;
    let url = c.current_url().await?;
    assert!(url.path().ends_with(&format!("/operations/{id}")), "{url}");

    // Both attempts are in the Activity card, from this browser, without the token.
    c.goto(&format!("{}/", server.url)).await?;
    let refused = wait_activity(&browser, "", 30, |r| {
        r.len() == 6 && r[3] == "session.sign_in" && r[5] == "refused"
    })
    .await?;
    assert_eq!(refused[1], "unknown", "{refused:?}");
    assert_eq!(refused[2], "127.0.0.1", "{refused:?}");
    wait_activity(&browser, "", 30, |r| {
        r.len() == 6 && r[3] == "session.sign_in" && r[1] == "admin" && r[5] == "accepted"
    })
    .await?;
    let all = browser.text_of("[data-testid=audit]").await?;
    assert!(!all.contains(&server.token) && !all.contains("a wrong guess"));
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_addresses_say_so_and_favicon_is_not_the_page() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    let browser = Browser::start().await?;
    browser.login(&server).await?;
    let c = &browser.client;
    c.goto(&format!("{}/settings/nowhere", server.url)).await?;
    let text = browser.text_of(".lb-main").await?;
    assert!(text.contains("Page not found"), "{text}");
    assert!(
        c.find_all(Locator::Css("[data-testid=backup-restore]"))
            .await?
            .is_empty(),
        "the main page under an unknown address"
    );
    element(&browser, ".lb-main a").await?;
    let got: Value = c
        .execute_async(
            r#"const done = arguments[0];
               Promise.all(['/favicon.ico', '/settings/nowhere'].map(p => fetch(p)
                 .then(r => [r.status, r.headers.get('content-type') || ''])))
                 .then(done, e => done(String(e)));"#,
            vec![],
        )
        .await?;
    assert_eq!(got[0][0], json!(404), "{got}");
    assert!(
        !got[0][1].as_str().unwrap_or_default().contains("html"),
        "{got}"
    );
    assert_eq!(got[1][0], json!(404), "{got}");
    browser.close().await?;
    Ok(())
}

/// The progress page shows the run's log (the tools' own output, live, secrets removed)
/// and, while it runs, Cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_page_shows_the_runs_log_and_cancels() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    wait_instance(&server).await?;
    // A passphrase, so restic runs with a secret the log must not show.
    let passphrase = "log-must-not-show-this-9f3c";
    lifeboat_e2e::page::put_config(
        &server,
        &json!({
            "config": { "provider": { "provider": "local", "path": "" } },
            "passphrase": { "action": "set", "passphrase": passphrase },
        }),
    )
    .await?;
    let op = backup_via_api(&server, "with a log", 180).await?;
    anyhow::ensure!(op["status"] == "succeeded", "{op}");
    let id = op["id"].as_str().context("no id")?.to_owned();
    let browser = Browser::start().await?;
    browser.login(&server).await?;
    let c = &browser.client;
    c.goto(&format!("{}/operations/{id}", server.url)).await?;
    click(&browser, "[data-testid=operation] details summary").await?;
    let log = browser.text_of("[data-testid=operation-log]").await?;
    for needle in ["$ pgbackrest", "$ restic", "exit 0"] {
        assert!(log.contains(needle), "{needle:?} not in the log: {log}");
    }
    assert!(!log.contains(passphrase), "the passphrase is in the log");
    let full = server
        .api()
        .get(format!("{}/api/v1/operations/{id}/log", server.url))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        full.contains("$ restic") && !full.contains(passphrase),
        "{full}"
    );
    axe::check(&browser, "a finished operation with its log").await?;

    // Each backup's row says what it added to the bucket, not only its size.
    c.goto(&format!("{}/", server.url)).await?;
    let row = browser.text_of("[data-testid=backup-row]").await?;
    assert!(row.contains(" added"), "{row}");

    // Cancel, while a backup runs.
    let r = server
        .api()
        .post(format!("{}/api/v1/backups", server.url))
        .json(&json!({ "description": "to be cancelled" }))
        .send()
        .await?;
    let op: Value = r.json().await?;
    let id = op["id"].as_str().context("no id")?.to_owned();
    // While it runs, the note beside Restore has an icon every font draws (not U+24D8).
    let note = browser
        .text_of("[data-testid=restore-disabled-reason]")
        .await?;
    assert!(!note.contains('ⓘ'), "{note}");
    element(&browser, "[data-testid=restore-disabled-reason] .lb-i").await?;
    c.goto(&format!("{}/operations/{id}", server.url)).await?;
    click(&browser, "[data-testid=cancel-operation]").await?;
    let op = lifeboat_e2e::page::wait_operation(&server, &id, 60).await?;
    assert_eq!(op["status"], "cancelled", "{op}");
    browser
        .wait_for_text("[data-testid=operation-progress] .lb-status", "Cancelled")
        .await?;
    browser.close().await?;
    Ok(())
}
