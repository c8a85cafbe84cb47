//! Backup Now through the real page: the demo instance backed up into the local-folder
//! bucket, progress visible while it runs, the backup listed when done, and a second
//! Lifeboat pointed at the same bucket listing it too.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, PostgreSQL, pgBackRest and restic:
//! `make test` provides all of them.

use std::time::Duration;

use fantoccini::Locator;
use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::page::{click, open_up, wait_activity, wait_instance};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_now_from_the_page_and_a_second_instance_lists_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let data_a = dir.path().join("a");
    let a = Lifeboat::start(&data_a, &[]).await?;
    wait_instance(&a).await?;

    let browser = Browser::start().await?;
    browser.login(&a).await?;
    let c = &browser.client;
    c.goto(&format!("{}/", a.url)).await?;
    browser
        .wait_for_text(
            "[data-testid=backups-table], [data-testid=backup-restore]",
            "Backups",
        )
        .await?;

    click(&browser, "[data-testid=backup-now]").await?;
    let description = "Before the 5.4 upgrade";
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-testid=backup-description]"))
        .await?
        .send_keys(description)
        .await?;
    axe::check(&browser, "the Backup Now dialog").await?;
    click(&browser, "[data-testid=backup-start]").await?;

    // Progress is on the page while it runs, and the backup is listed when it is done.
    browser.text_of("[data-testid=operation-progress]").await?;
    browser
        .screenshot(&lifeboat_e2e::workspace_root().join("docs/screenshots/backup-progress.png"))
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let table = browser
            .text_of("[data-testid=backup-restore]")
            .await
            .unwrap_or_default();
        if c.find_all(Locator::Css("[data-testid=backup-row]"))
            .await?
            .len()
            == 1
            && table.contains(description)
        {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the backup never appeared: {table}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let status = c
        .find(Locator::Css("[data-testid=operation-progress]"))
        .await?
        .attr("data-status")
        .await?
        .unwrap_or_default();
    assert!(status.eq_ignore_ascii_case("succeeded"), "status {status}");
    browser
        .screenshot(&lifeboat_e2e::workspace_root().join("docs/screenshots/backups.png"))
        .await?;

    // The Activity card (refreshed as the operation started and ended) records the Backup
    // Now, by the admin who signed in, with its description, at a human time.
    let started = wait_activity(&browser, "", 30, |r| {
        r.len() == 6 && r[1] == "admin" && r[3] == "Backup started" && r[5] == "accepted"
    })
    .await?;
    assert!(started[4].contains(description), "{started:?}");
    assert!(
        started[0].contains(", ") && started[0].ends_with(" UTC"),
        "not a human time: {started:?}"
    );
    axe::check(
        &browser,
        "the backups table with a backup, the Activity card open",
    )
    .await?;

    // The catalog in the bucket says what the page showed.
    let list: Value = a
        .api()
        .get(format!("{}/api/v1/backups", a.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["backups"][0]["description"], description);

    // The finished backup's own page links to its row, which the table then shows, marked
    // and in view (at a phone's height, where the table starts below the fold).
    let backup_id = list["backups"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let ops: Value = a
        .api()
        .get(format!("{}/api/v1/operations", a.url))
        .send()
        .await?
        .json()
        .await?;
    let op_id = ops["operations"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|o| o["outcome"]["backup_id"] == backup_id.as_str())
        })
        .and_then(|o| o["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no operation produced {backup_id}: {ops}"))?;
    c.set_window_size(390, 600).await?;
    c.goto(&format!("{}/operations/{op_id}", a.url)).await?;
    browser
        .wait_for_text("[data-testid=backup-row-link]", "Backups table")
        .await?;
    click(&browser, "[data-testid=backup-row-link] a").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen: Value = c
            .execute(
                "const r = document.querySelector('tr.lb-row-target'); if (!r) return null; \
                 const b = r.getBoundingClientRect(); \
                 return [r.dataset.backupId, Math.round(b.top) >= 0 && b.top < window.innerHeight, location.hash, window.scrollY, b.top];",
                vec![],
            )
            .await?;
        if seen[0] == backup_id.as_str() && seen[1] == true {
            assert_eq!(seen[2], format!("#backup-{backup_id}"));
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the backup's row is not marked and in view: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.set_window_size(1280, 900).await?;

    // A second instance on the same bucket lists the first one's backup.
    let data_b = dir.path().join("b");
    let b = Lifeboat::start(&data_b, &[]).await?;
    let put = json!({"config": {"provider": {"provider": "local", "path": data_a.join("bucket")}}});
    let r = b
        .api()
        .put(format!("{}/api/v1/config", b.url))
        .json(&put)
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "config on b: {} {}",
        r.status(),
        r.text().await?
    );
    browser.login(&b).await?;
    c.goto(&format!("{}/", b.url)).await?;
    browser
        .wait_for_text("[data-testid=backups-table]", description)
        .await?;
    browser.close().await?;
    Ok(())
}
