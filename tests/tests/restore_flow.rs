//! Restore through the real page: the Restore dialog and its typed phrase, the progress page
//! (surviving a reload) with every step and the post-restore checklist, and the data proven
//! back by row-level checksums of every table and the configuration folder byte for byte —
//! in place, into a new namespace next to the first instance, and from a second Lifeboat
//! pointed at the first one's bucket. Then a restore killed past the point of no return:
//! the page says what state the instance is in, and "Retry restore" brings the data back.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, PostgreSQL, pgBackRest and restic
//! (`make test` provides all of them), and root (psql runs as the `postgres` user).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::Locator;
use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::instance::{Instance, differing};
use lifeboat_e2e::page::{backup_via_api, element, get_json, open_up, put_config, wait_instance};
use lifeboat_e2e::restore::{
    Target, assert_page_succeeded, confirm, fill_dialog, is_selected, newest_backup, open_dialog,
    page_status, page_steps, type_phrase, wait_page_final,
};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_e2e::workspace_root;
use serde_json::{Value, json};

/// How long one restore may take on the loaded 2-core machine.
const RESTORE_SECS: u64 = 240;

/// Makes a backup through the API and returns its catalog id.
async fn backup(server: &Lifeboat) -> anyhow::Result<String> {
    let op = backup_via_api(server, "before the change", 180).await?;
    anyhow::ensure!(op["status"] == "succeeded", "the backup failed: {op:#}");
    newest_backup(server).await
}

/// Reloads the progress page of operation `id` and checks that it still shows it.
async fn reload(browser: &Browser, id: &str) -> anyhow::Result<()> {
    browser.client.refresh().await?;
    browser
        .wait_for_text("[data-testid=operation-id]", id)
        .await?;
    element(browser, "[data-testid=operation-progress]").await?;
    Ok(())
}

/// Scrolls the element matching `css` to the top of the window.
async fn scroll_to_top(browser: &Browser, css: &str) -> anyhow::Result<()> {
    let el = element(browser, css).await?;
    browser
        .client
        .execute(
            "arguments[0].scrollIntoView({block: 'start'});",
            vec![serde_json::to_value(&el)?],
        )
        .await?;
    Ok(())
}

/// The record of operation `id` agrees with the page: a succeeded restore of `backup` into
/// `namespace` with a checklist.
async fn assert_api_succeeded(
    server: &Lifeboat,
    id: &str,
    backup: &str,
    namespace: &str,
) -> anyhow::Result<()> {
    let op = get_json(server, &format!("/operations/{id}")).await?;
    anyhow::ensure!(op["status"] == "succeeded", "{op:#}");
    anyhow::ensure!(op["kind"]["type"] == "restore", "{op:#}");
    anyhow::ensure!(op["kind"]["backup_id"] == backup, "{op:#}");
    anyhow::ensure!(op["kind"]["target_namespace"] == namespace, "{op:#}");
    anyhow::ensure!(op["outcome"]["type"] == "restore", "{op:#}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_in_place_into_a_new_namespace_and_from_another_lifeboat() -> anyhow::Result<()> {
    let shots = workspace_root().join("docs/screenshots");
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let data_a = dir.path().join("a");
    let a = Lifeboat::start(&data_a, &[]).await?;
    wait_instance(&a).await?;

    // a. The state a backup captures, then the backup.
    let demo = Instance::own(&a).await?;
    assert_eq!(demo.namespace, "demo");
    let before = demo.checksums().await?;
    let config_before = demo.config_files()?;
    assert!(
        config_before.contains_key("platform.yaml"),
        "{:?}",
        config_before.keys()
    );
    let backup = backup(&a).await?;
    assert_eq!(demo.checksums().await?, before, "a backup changes no data");

    // b. Changes after the backup: a user deleted, the platform configuration edited.
    demo.delete_user("user00042").await?;
    std::fs::write(
        demo.config_dir.join("platform.yaml"),
        "edited after the backup\n",
    )?;
    let changed = demo.checksums().await?;
    assert!(
        differing(&changed, &before).contains(&"keycloak.user_entity".to_owned()),
        "{:?}",
        differing(&changed, &before)
    );
    assert_ne!(demo.config_files()?, config_before);

    // c. In place, through the page.
    let browser = Browser::start().await?;
    browser.login(&a).await?;
    open_dialog(&browser, &a, &backup).await?;
    let dialog = browser.text_of("[data-testid=restore-dialog]").await?;
    assert!(dialog.contains(&backup), "{dialog}");
    assert!(dialog.contains("This namespace (demo)"), "{dialog}");
    fill_dialog(&browser, Target::Same).await?;
    browser
        .screenshot(&shots.join("restore-dialog.png"))
        .await?;
    axe::check(&browser, "the Restore dialog (phrase typed)").await?;
    let op_id = confirm(&browser).await?;

    // While it runs: a screenshot once the data is moving, and a reload mid-way.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(RESTORE_SECS);
    let mut caught = false;
    while tokio::time::Instant::now() < deadline {
        if page_status(&browser).await?.as_deref() != Some("Running") {
            break;
        }
        let steps = page_steps(&browser).await?;
        if steps
            .iter()
            .any(|(id, s)| s == "Running" && ["fetch", "postgres", "start"].contains(&id.as_str()))
        {
            browser
                .screenshot(&shots.join("restore-progress.png"))
                .await?;
            caught = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reloaded_running = page_status(&browser).await?.as_deref() == Some("Running");
    reload(&browser, &op_id).await?;
    eprintln!("restore {op_id}: progress screenshot {caught}, reloaded mid-way {reloaded_running}");

    let status = wait_page_final(&browser, RESTORE_SECS).await?;
    assert_eq!(
        status,
        "Succeeded",
        "{}",
        browser.text_of("[data-testid=operation]").await?
    );
    assert_page_succeeded(&browser).await?;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=retry-restore]"))
            .await
            .is_err(),
        "a succeeded restore offers no retry"
    );
    // The finished page survives a reload too.
    reload(&browser, &op_id).await?;
    element(&browser, "[data-testid=checklist]").await?;
    assert_page_succeeded(&browser).await?;
    // The screenshot: the last steps done, then the start of the checklist.
    scroll_to_top(&browser, "[data-testid=operation-step][data-step=verify]").await?;
    browser.screenshot(&shots.join("restore-done.png")).await?;
    axe::check(&browser, "the finished restore page with its checklist").await?;
    assert_api_succeeded(&a, &op_id, &backup, "demo").await?;

    // d. Every row and every configuration file is back.
    let after = demo.checksums().await?;
    assert!(after == before, "differ: {:?}", differing(&after, &before));
    let config_after = demo.config_files()?;
    assert!(
        config_after == config_before,
        "configuration files differ: {:?}",
        differing(&config_after, &config_before)
    );

    // e. Into a new namespace: a second instance next to the first.
    open_dialog(&browser, &a, &backup).await?;
    fill_dialog(&browser, Target::New("restored")).await?;
    let op_id = confirm(&browser).await?;
    let status = wait_page_final(&browser, RESTORE_SECS).await?;
    assert_eq!(
        status,
        "Succeeded",
        "{}",
        browser.text_of("[data-testid=operation]").await?
    );
    assert_page_succeeded(&browser).await?;
    assert_api_succeeded(&a, &op_id, &backup, "restored").await?;
    let all = Instance::all(&a).await?;
    let names: Vec<&str> = all.iter().map(|i| i.namespace.as_str()).collect();
    assert_eq!(names, ["demo", "restored"]);
    for i in &all {
        assert_eq!(i.psql("keycloak", "SELECT 1").await?, "1", "{i:?}");
    }
    let (first, restored) = (&all[0], &all[1]);
    assert_eq!(first, &demo);
    assert_ne!(restored.port, demo.port);
    let sums = restored.checksums().await?;
    assert!(sums == before, "differ: {:?}", differing(&sums, &before));
    let sums = demo.checksums().await?;
    assert!(
        sums == before,
        "the first instance changed: {:?}",
        differing(&sums, &before)
    );
    // Its configuration is the backup's, every resource re-addressed to its namespace.
    let config_restored = restored.config_files()?;
    let expected = readdressed(&config_before, "demo", "restored");
    assert_ne!(
        expected, config_before,
        "the backup's configuration names its namespace"
    );
    assert!(
        config_restored == expected,
        "differ: {:?}",
        differing(&config_restored, &expected)
    );

    // f. A second Lifeboat, pointed at the first one's bucket, restores its backup into its
    // own instance.
    let data_b = dir.path().join("b");
    let b = Lifeboat::start(&data_b, &[]).await?;
    wait_instance(&b).await?;
    let b_demo = Instance::own(&b).await?;
    assert_eq!(b_demo.namespace, "demo");
    b_demo.delete_user("user00042").await?;
    std::fs::write(b_demo.config_dir.join("platform.yaml"), "b's own\n")?;
    assert_ne!(b_demo.checksums().await?, before);
    put_config(
        &b,
        &json!({"config": {"provider": {"provider": "local", "path": data_a.join("bucket")}}}),
    )
    .await?;
    browser.login(&b).await?;
    open_dialog(&browser, &b, &backup).await?;
    fill_dialog(&browser, Target::Same).await?;
    let op_id = confirm(&browser).await?;
    let status = wait_page_final(&browser, RESTORE_SECS).await?;
    assert_eq!(
        status,
        "Succeeded",
        "{}",
        browser.text_of("[data-testid=operation]").await?
    );
    assert_page_succeeded(&browser).await?;
    assert_api_succeeded(&b, &op_id, &backup, "demo").await?;
    let sums = b_demo.checksums().await?;
    assert!(sums == before, "differ: {:?}", differing(&sums, &before));
    let config_b = b_demo.config_files()?;
    assert!(
        config_b == config_before,
        "differ: {:?}",
        differing(&config_b, &config_before)
    );

    browser.close().await?;
    b.stop().await?;
    a.stop().await?;
    Ok(())
}

/// A configuration folder with its `namespace: <from>` lines (at any indentation, the value
/// plain or quoted) made `namespace: <to>`: what a restore into another namespace writes.
fn readdressed(
    files: &BTreeMap<String, Vec<u8>>,
    from: &str,
    to: &str,
) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .map(|(name, bytes)| {
            let text = String::from_utf8_lossy(bytes);
            let out: String = text
                .split_inclusive('\n')
                .map(|line| {
                    let body = line.trim_end_matches(['\n', '\r']);
                    let rest = body.trim_start();
                    let indent = &body[..body.len() - rest.len()];
                    match rest.strip_prefix("namespace:").map(str::trim) {
                        Some(v) if v == from || v == format!("\"{from}\"") => {
                            format!("{indent}namespace: {to}{}", &line[body.len()..])
                        }
                        _ => line.to_owned(),
                    }
                })
                .collect();
            (name.clone(), out.into_bytes())
        })
        .collect()
}

/// Polls operation `id` (up to 120 s) until one of `steps` is running; returns the record.
async fn wait_step_running(server: &Lifeboat, id: &str, steps: &[&str]) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let op = get_json(server, &format!("/operations/{id}")).await?;
        let running = op["steps"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["status"] == "running" && steps.iter().any(|want| s["id"] == *want))
        });
        if running {
            return Ok(op);
        }
        anyhow::ensure!(
            op["status"] == "running" || op["status"] == "pending",
            "operation {id} ended before any of {steps:?} ran: {op:#}"
        );
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "none of {steps:?} ran within 120 s: {op:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_restore_says_what_state_the_instance_is_in_and_retries()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let data = dir.path().join("data");
    let mut a = Lifeboat::start(&data, &[]).await?;
    wait_instance(&a).await?;
    let demo = Instance::own(&a).await?;
    let before = demo.checksums().await?;
    let backup = backup(&a).await?;
    demo.delete_user("user00042").await?;
    let browser = Browser::start().await?;

    // In place, then into a new namespace: each killed past the point of no return.
    for (target, ns) in [(Target::Same, "demo"), (Target::New("second"), "second")] {
        browser.login(&a).await?;
        open_dialog(&browser, &a, &backup).await?;
        fill_dialog(&browser, target).await?;
        let op_id = confirm(&browser).await?;
        // Postgres stopped, pgBackRest replacing its files (or it starting on them).
        wait_step_running(&a, &op_id, &["postgres", "start"]).await?;
        drop(a); // SIGKILL
        a = Lifeboat::start(&data, &[]).await?;
        wait_instance(&a).await?;

        // The page says the restore did not finish, what state the target is in, and what
        // to do.
        browser.login(&a).await?;
        browser
            .client
            .goto(&format!("{}/operations/{op_id}", a.url))
            .await?;
        let status = wait_page_final(&browser, 30).await?;
        assert_eq!(status, "Interrupted", "{ns}");
        let error = browser.text_of("[data-testid=operation-error]").await?;
        let state = format!(
            "the restore did not finish. The system Postgres of namespace {ns} was being \
             replaced: it is stopped and its data is incomplete until a restore succeeds."
        );
        assert!(error.contains(&state), "{error}");
        assert!(error.contains("run the restore again"), "{error}");
        let note = browser.text_of("[data-testid=retry-note]").await?;
        assert!(note.contains("Retry restore"), "{note}");
        let steps = page_steps(&browser).await?;
        assert!(
            steps
                .iter()
                .any(|(id, s)| ["postgres", "start"].contains(&id.as_str()) && s == "Failed"),
            "the step that was running is marked failed: {steps:?}"
        );
        if ns == "demo" {
            lifeboat_e2e::page::scroll_to(&browser, "[data-testid=retry-restore]").await?;
            browser
                .screenshot(&workspace_root().join("docs/screenshots/restore-interrupted.png"))
                .await?;
        }

        // Retry restore: the dialog again, for the same backup and namespace, phrase required.
        lifeboat_e2e::page::click(&browser, "[data-testid=retry-restore]").await?;
        let dialog = browser.text_of("[data-testid=restore-dialog]").await?;
        assert!(dialog.contains(&backup), "{dialog}");
        match target {
            Target::Same => assert!(
                is_selected(&browser, "[data-testid=restore-target-same]").await?,
                "the retry targets this namespace"
            ),
            Target::New(_) => {
                assert!(is_selected(&browser, "[data-testid=restore-target-new]").await?);
                let preset = element(&browser, "[data-testid=restore-namespace]")
                    .await?
                    .prop("value")
                    .await?;
                assert_eq!(preset.as_deref(), Some(ns));
                assert!(
                    is_selected(&browser, "[data-testid=restore-replace]").await?,
                    "the retry replaces the half-restored instance"
                );
            }
        }
        type_phrase(&browser).await?;
        let retry_id = confirm(&browser).await?;
        assert_ne!(retry_id, op_id);
        let status = wait_page_final(&browser, RESTORE_SECS).await?;
        assert_eq!(
            status,
            "Succeeded",
            "{}",
            browser.text_of("[data-testid=operation]").await?
        );
        assert_page_succeeded(&browser).await?;
        assert_api_succeeded(&a, &retry_id, &backup, ns).await?;

        let list = get_json(&a, "/instances").await?;
        let entry = list["instances"]
            .as_array()
            .and_then(|l| l.iter().find(|i| i["namespace"] == ns))
            .with_context(|| format!("{ns} is not listed: {list:#}"))?;
        assert!(entry.get("restore_incomplete").is_none(), "{entry:#}");
        let after = Instance::from_json(entry)?.checksums().await?;
        assert!(
            after == before,
            "{ns} differs: {:?}",
            differing(&after, &before)
        );
    }
    let names: Vec<String> = Instance::all(&a)
        .await?
        .into_iter()
        .map(|i| i.namespace)
        .collect();
    assert_eq!(names, ["demo", "second"]);

    browser.close().await?;
    a.stop().await?;
    Ok(())
}
