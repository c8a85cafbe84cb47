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
        r.len() == 6 && r[3] == "Sign-in" && r[5] == "refused"
    })
    .await?;
    assert_eq!(refused[1], "unknown", "{refused:?}");
    assert_eq!(refused[2], "127.0.0.1", "{refused:?}");
    wait_activity(&browser, "", 30, |r| {
        r.len() == 6 && r[3] == "Sign-in" && r[1] == "admin" && r[5] == "accepted"
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
    // One load fetches each of these once (the live feed's first snapshot, naming the last
    // backup and operation, is no reason to fetch them again).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let fetched: Vec<usize> = serde_json::from_value(
        c.execute(
            "return ['/api/v1/backups', '/api/v1/audit', '/api/v1/health', '/api/v1/session']
               .map(p => performance.getEntriesByType('resource')
                 .filter(e => new URL(e.name).pathname === p).length);",
            vec![],
        )
        .await?,
    )?;
    assert_eq!(fetched, vec![1, 1, 1, 1], "backups, audit, health, session");

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
    // A cancel is what was asked for: the step it stopped says so, in a neutral note.
    let steps = browser.text_of("[data-testid=operation] .lb-steps").await?;
    assert!(
        steps.contains("Cancelled") && !steps.contains("Failed"),
        "{steps}"
    );
    let role = c
        .find(Locator::Css("[data-testid=operation-error]"))
        .await?
        .attr("role")
        .await?;
    assert_eq!(role.as_deref(), Some("status"));
    browser.close().await?;
    Ok(())
}

/// Where focus is: the `data-testid` or `id` of the focused element, and whether it is
/// inside the Restore dialog.
async fn focus(browser: &Browser) -> anyhow::Result<(String, bool)> {
    let got = browser
        .client
        .execute(
            "const a = document.activeElement;
             const d = document.querySelector('[data-testid=restore-dialog]');
             return [a ? (a.dataset.testid || a.id || a.tagName) : '', !!d && d.contains(a)];",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(got)?)
}

/// Presses `key` where focus is, as a person's keyboard would.
async fn press(browser: &Browser, key: fantoccini::key::Key) -> anyhow::Result<()> {
    browser
        .client
        .active_element()
        .await?
        .send_keys(&char::from(key).to_string())
        .await?;
    Ok(())
}

/// Issue 26's first point, in the order it was seen: a restore start refused ("namespace …
/// already holds an instance"), then Tab towards the page and Enter on another row's
/// Restore. Focus never leaves the dialog, the page behind cannot be focused nor clicked,
/// Escape closes it wherever focus fell, and a dialog opened for another backup starts from
/// nothing. It opens on its title (never on "This namespace"), at 360 px too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_restore_cannot_swap_the_backup_under_its_confirmation() -> anyhow::Result<()> {
    use fantoccini::key::Key;
    use lifeboat_e2e::restore::{Target, fill_dialog, open_dialog, row};
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &[]).await?;
    wait_instance(&server).await?;
    let mut ids = Vec::new();
    for description in ["the one confirmed", "never confirmed"] {
        let op = backup_via_api(&server, description, 180).await?;
        anyhow::ensure!(op["status"] == "succeeded", "{op}");
        ids.push(
            op["outcome"]["backup_id"]
                .as_str()
                .context("no backup id")?
                .to_owned(),
        );
    }
    let (confirmed, other) = (ids[0].clone(), ids[1].clone());
    // The local folder's figures are what the folder holds, over the two backups.
    let real = lifeboat_e2e::page::bytes_below(&data.join("bucket"))?;
    lifeboat_e2e::page::check_bucket_figures(&server, real).await?;
    // What a restore that did not finish left in uicheck3: a start into it without
    // "Replace" is refused.
    std::fs::create_dir_all(data.join("instances").join("uicheck3"))?;
    let browser = Browser::start().await?;
    browser.login(&server).await?;
    let c = &browser.client;

    open_dialog(&browser, &server, &confirmed).await?;
    assert_eq!(
        focus(&browser).await?,
        ("lb-restore-title".to_owned(), true)
    );
    fill_dialog(&browser, Target::New("uicheck3")).await?;
    click(&browser, "[data-testid=restore-confirm]").await?;
    browser
        .wait_for_text(
            "[data-testid=restore-dialog] [data-testid=error-banner]",
            "already holds an instance",
        )
        .await?;
    // Focus is on the refusal, in the dialog, and Tab never takes it out.
    let (at, inside) = focus(&browser).await?;
    assert!(inside, "focus fell to {at} after the refusal");
    for i in 0..30 {
        press(&browser, Key::Tab).await?;
        let (at, inside) = focus(&browser).await?;
        assert!(inside, "Tab {i} took focus out of the dialog, to {at}");
    }
    // The other row's Restore is inert: it takes neither focus nor a click.
    let other_button = format!("{} [data-testid=restore-button]", row(&other));
    let got = c
        .execute(
            "const b = document.querySelector(arguments[0]); b.focus();
             return [b.closest('[inert]') !== null, document.activeElement === b];",
            vec![json!(other_button)],
        )
        .await?;
    assert_eq!(
        got,
        json!([true, false]),
        "the page behind the dialog is not inert"
    );
    if let Ok(b) = c.find(Locator::Css(&other_button)).await {
        let _ = b.click().await; // Refused by the browser (intercepted), or no effect.
    }
    press(&browser, Key::Enter).await?;
    let dialog = browser.text_of("[data-testid=restore-dialog]").await?;
    assert!(
        dialog.contains(&confirmed) && !dialog.contains(&other),
        "the dialog changed backup: {dialog}"
    );
    // Escape closes it even with focus fallen to the page's body.
    c.execute("document.activeElement.blur();", vec![]).await?;
    press(&browser, Key::Escape).await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !c
        .find_all(Locator::Css("[data-testid=restore-dialog]"))
        .await?
        .is_empty()
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "Escape with focus on the body did not close the dialog"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let behind = c
        .execute(
            "return document.querySelectorAll('[inert]').length;",
            vec![],
        )
        .await?;
    assert_eq!(
        behind,
        json!(0),
        "the page stayed inert after the dialog closed"
    );

    // Another backup's dialog, on a narrow screen: nothing typed, chosen or refused, and
    // its title in view.
    c.set_window_size(360, 740).await?;
    click(&browser, &other_button).await?;
    element(&browser, "[data-testid=restore-dialog]").await?;
    assert_eq!(
        focus(&browser).await?,
        ("lb-restore-title".to_owned(), true)
    );
    let fresh = c
        .execute(
            "const q = s => document.querySelector('[data-testid=restore-dialog] ' + s);
             const t = q('#lb-restore-title').getBoundingClientRect();
             return [q('[data-testid=restore-phrase]').value,
                     q('[data-testid=restore-namespace]').value,
                     q('[data-testid=restore-confirm]').disabled,
                     !!q('[data-testid=error-banner]'),
                     t.top >= 0 && t.bottom <= window.innerHeight];",
            vec![],
        )
        .await?;
    assert_eq!(fresh, json!(["", "", true, false, true]), "{fresh}");
    let dialog = browser.text_of("[data-testid=restore-dialog]").await?;
    assert!(dialog.contains(&other), "{dialog}");
    browser.close().await?;
    Ok(())
}
