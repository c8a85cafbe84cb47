//! Apps' own data through the real page (issue 28): Backup Now from the page takes every
//! app's managed Postgres, Redis and files, and the Backups table says so; after a bad day
//! for one app (its table dropped, its Redis flushed, its files deleted) while another app,
//! a workspace and the system change too, the Restore dialog brings back that one app's data
//! alone — chosen from its searchable list, into this namespace only — and the progress page
//! follows it to the end. Then the app's rows, every key with its value and time to live,
//! and every file with its mode are as they were backed up; the other app keeps its new rows
//! and keys, the workspace its new file, and the system every table and configuration file
//! as they were just before the restore.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, PostgreSQL, pgBackRest, restic,
//! redis-server and redis-cli (`make test` provides all of them), and root (psql runs as
//! the `postgres` user for the system's checks).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::Locator;
use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::instance::{Instance, differing};
use lifeboat_e2e::page::{click, element, fill, get_json, open_up, wait_instance};
use lifeboat_e2e::restore::{
    confirm_enabled, newest_backup, open_dialog, page_checklist, page_steps, row, wait_page_final,
};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_shared::backup::{AppInfo, InstanceInfo};

/// The app whose bad day it is, and the one that carries on.
const LOST: &str = "app-001";
const BUSY: &str = "app-005";

/// How long a backup or a one-app restore may take on the loaded 2-core machine.
const OPERATION_SECS: u64 = 240;

/// `sql` in app `app`'s own database, on the app-data Postgres over TCP (as the app
/// reaches it); its unaligned, tuples-only output.
async fn psql_app(app: &AppInfo, sql: &str) -> anyhow::Result<String> {
    let pg = app.postgres.as_ref().context("the app has no database")?;
    let port = pg.port.context("no app-data Postgres port")?;
    let out = tokio::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", &pg.database, "-X", "-At"])
        .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
        .kill_on_drop(true)
        .output()
        .await
        .context("cannot run psql")?;
    if !out.status.success() {
        bail!(
            "{sql} in {}: {}",
            pg.database,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Every row of the app's `orders`, as its count and one checksum of the rows in order.
async fn rows(app: &AppInfo) -> anyhow::Result<String> {
    psql_app(
        app,
        "SELECT count(*) || ' ' || coalesce(md5(string_agg(o::text, ',' ORDER BY id)), '-') FROM orders o",
    )
    .await
}

/// `redis-cli` against the app's Redis; its output, trimmed.
async fn redis(app: &AppInfo, args: &[&str]) -> anyhow::Result<String> {
    let port = app
        .redis
        .as_ref()
        .and_then(|r| r.port)
        .with_context(|| format!("{} has no Redis port", app.name))?;
    let out = tokio::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .context("cannot run redis-cli")?;
    anyhow::ensure!(out.status.success(), "redis-cli {args:?} failed");
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A key's type, its value, and its time to live in milliseconds (`-1`: none).
type Key = (String, String, i64);

/// Every key of the app's Redis with its type, value and time to live.
async fn keys(app: &AppInfo) -> anyhow::Result<BTreeMap<String, Key>> {
    let mut all = BTreeMap::new();
    for key in redis(app, &["--scan"])
        .await?
        .lines()
        .filter(|k| !k.is_empty())
    {
        let kind = redis(app, &["TYPE", key]).await?;
        let value = match kind.as_str() {
            "string" => redis(app, &["GET", key]).await?,
            "hash" => redis(app, &["HGETALL", key]).await?,
            "list" => redis(app, &["LRANGE", key, "0", "-1"]).await?,
            "set" => redis(app, &["SORT", key, "ALPHA"]).await?,
            other => bail!("{key} is a {other}, which this test does not read"),
        };
        let ttl = redis(app, &["PTTL", key]).await?.parse()?;
        all.insert(key.to_owned(), (kind, value, ttl));
    }
    Ok(all)
}

/// The same keys with the same values; a key that expires still expires, sooner by no more
/// than the time that passed since `before` was read.
fn same_keys(
    before: &BTreeMap<String, Key>,
    after: &BTreeMap<String, Key>,
    passed: Duration,
) -> anyhow::Result<()> {
    let (b, a): (Vec<_>, Vec<_>) = (before.keys().collect(), after.keys().collect());
    anyhow::ensure!(b == a, "the keys differ: {:?}", differing(before, after));
    let passed = i64::try_from(passed.as_millis())? + 1_000;
    for (k, (kind, value, ttl)) in before {
        let (kind2, value2, ttl2) = &after[k];
        anyhow::ensure!(
            (kind, value) == (kind2, value2),
            "{k}: {value} then {value2}"
        );
        if *ttl < 0 {
            anyhow::ensure!(ttl == ttl2, "{k} lives for ever, then {ttl2} ms");
        } else {
            anyhow::ensure!(
                *ttl2 > 0 && ttl2 <= ttl && ttl - ttl2 <= passed,
                "{k}: {ttl} ms to live, then {ttl2} ms, {passed} ms later"
            );
        }
    }
    Ok(())
}

/// Every file and folder below `dir`: its content's hash (files) and its mode.
fn files(dir: &Path) -> anyhow::Result<BTreeMap<String, (u64, u32)>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, u32)>) -> anyhow::Result<()> {
        for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let e = e?;
            let meta = e.metadata()?;
            let rel = e.path().strip_prefix(root)?.display().to_string();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(format!("{rel}/"), (0, mode));
                walk(root, &e.path(), out)?;
            } else {
                use std::hash::{Hash as _, Hasher as _};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(e.path())?.hash(&mut h);
                out.insert(rel, (h.finish(), mode));
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

fn folder(files: Option<&lifeboat_shared::backup::AppFiles>) -> anyhow::Result<PathBuf> {
    files
        .and_then(|f| f.folder.clone())
        .map(PathBuf::from)
        .context("no files folder")
}

fn app<'a>(info: &'a InstanceInfo, name: &str) -> anyhow::Result<&'a AppInfo> {
    info.apps
        .iter()
        .find(|a| a.name == name)
        .with_context(|| format!("no app {name} in {:?}", info.apps))
}

/// The `data-app` of every app the Restore dialog lists, in order.
async fn listed_apps(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for el in browser
        .client
        .find_all(Locator::Css("[data-testid=restore-app]"))
        .await?
    {
        out.push(el.attr("data-app").await?.unwrap_or_default());
    }
    Ok(out)
}

/// Whether a selector matches anything on the page now.
async fn present(browser: &Browser, css: &str) -> anyhow::Result<bool> {
    Ok(!browser.client.find_all(Locator::Css(css)).await?.is_empty())
}

/// Backup Now through the page; waits for the new backup's row and returns its id.
async fn backup_now(browser: &Browser, server: &Lifeboat) -> anyhow::Result<String> {
    browser.client.goto(&format!("{}/", server.url)).await?;
    click(browser, "[data-testid=backup-now]").await?;
    element(browser, "[data-testid=backup-description]")
        .await?
        .send_keys("before the bad day")
        .await?;
    click(browser, "[data-testid=backup-start]").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(OPERATION_SECS);
    loop {
        if present(browser, "[data-testid=backup-row]").await? {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            let page = browser.text_of("[data-testid=backup-restore]").await?;
            bail!("no backup listed within {OPERATION_SECS} s: {page}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ops = get_json(server, "/operations").await?;
    let op = &ops["operations"][0];
    anyhow::ensure!(
        op["kind"]["type"] == "backup" && op["status"] == "succeeded",
        "the backup did not succeed without warnings: {op:#}"
    );
    newest_backup(server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_apps_data_restored_alone_through_the_page() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    wait_instance(&server).await?;
    let info: InstanceInfo = serde_json::from_value(get_json(&server, "/instance").await?)?;
    let demo = Instance::own(&server).await?;
    let (lost, busy) = (app(&info, LOST)?, app(&info, BUSY)?);
    // Another app with a Redis, and a workspace: neither is restored.
    let other = info
        .apps
        .iter()
        .find(|a| a.name != LOST && a.redis.is_some())
        .context("no other app with a Redis")?;
    let workspace = info.workspaces.first().context("no workspace")?;
    let (lost_files, ws_files) = (
        folder(lost.files.as_ref())?,
        folder(Some(&workspace.files))?,
    );

    // What the backup must bring back (as the demo seeds it: rows, keys some of which
    // expire, files of several modes).
    let rows_before = rows(lost).await?;
    // Before the first key is read: every key's time to live is then read after it.
    let read_at = Instant::now();
    let keys_before = keys(lost).await?;
    let files_before = files(&lost_files)?;
    anyhow::ensure!(
        rows_before.starts_with("1000 ") && keys_before.len() > 100 && files_before.len() >= 6,
        "{rows_before}, {} keys, {files_before:?}",
        keys_before.len()
    );
    anyhow::ensure!(keys_before.values().any(|(_, _, ttl)| *ttl > 0));
    let modes: Vec<u32> = files_before.values().map(|(_, m)| *m).collect();
    anyhow::ensure!(
        modes.contains(&0o600) && modes.contains(&0o755),
        "modes {:?}",
        modes.iter().map(|m| format!("{m:o}")).collect::<Vec<_>>()
    );

    // a. Backup Now through the page; the table says what it holds.
    let browser = Browser::start().await?;
    browser.login(&server).await?;
    let backup = backup_now(&browser, &server).await?;
    let list = get_json(&server, "/backups").await?;
    let components = list["backups"][0]["components"]
        .as_array()
        .context("no components")?;
    let mut in_backup: Vec<&str> = components
        .iter()
        .filter_map(|c| c["name"].as_str()?.strip_prefix("app/")?.split('/').next())
        .collect();
    in_backup.dedup();
    anyhow::ensure!(
        in_backup.contains(&LOST) && in_backup.contains(&BUSY),
        "{in_backup:?}"
    );
    let summary = browser
        .text_of(&format!(
            "{} [data-testid=backup-apps-summary]",
            row(&backup)
        ))
        .await?;
    anyhow::ensure!(
        summary.starts_with(&format!("Apps' data: {} apps, ", in_backup.len())),
        "{summary}"
    );
    click(
        &browser,
        &format!("{} [data-testid=backup-apps-summary]", row(&backup)),
    )
    .await?;
    let component = browser
        .text_of(&format!(
            "{} [data-testid=backup-component][data-component=\"app/{LOST}/postgres\"]",
            row(&backup)
        ))
        .await?;
    anyhow::ensure!(component.contains(" · pg_dump -Fc · "), "{component}");
    axe::check(
        &browser,
        "the Backups table with a backup's components open",
    )
    .await?;

    // b. The bad day: the lost app's table, keys and files gone; meanwhile another app
    // takes new orders and keys, a workspace a new file, the system a new app.
    psql_app(lost, "DROP TABLE orders").await?;
    redis(lost, &["FLUSHALL"]).await?;
    std::fs::remove_dir_all(&lost_files)?;
    std::fs::create_dir_all(&lost_files)?;
    anyhow::ensure!(rows(lost).await.is_err(), "the table is still there");
    psql_app(
        busy,
        "INSERT INTO orders SELECT i, 'new', 1, now() FROM generate_series(5001, 5005) i",
    )
    .await?;
    let busy_rows = rows(busy).await?;
    redis(other, &["SET", "after:the-backup", "kept"]).await?;
    let other_read = Instant::now();
    let other_keys = keys(other).await?;
    std::fs::write(ws_files.join("after-the-backup.txt"), "kept\n")?;
    let ws_after = files(&ws_files)?;
    demo.psql(
        "appmanager",
        "INSERT INTO apps (name, owner, git_url, status, created_at) \
         VALUES ('after-backup', 'u', 'g', 'running', now())",
    )
    .await?;
    let system = demo.checksums().await?;
    let config = demo.config_files()?;

    // c. Through the page: that app's data alone, into this namespace.
    open_dialog(&browser, &server, &backup).await?;
    click(&browser, "[data-testid=restore-scope-apps]").await?;
    element(&browser, "[data-testid=restore-apps-filter]").await?;
    for target in [
        "restore-target-same",
        "restore-target-new",
        "restore-namespace",
    ] {
        anyhow::ensure!(
            !present(&browser, &format!("[data-testid={target}]")).await?,
            "{target} is offered for some apps' data"
        );
    }
    let note = browser
        .text_of("[data-testid=restore-apps-namespace]")
        .await?;
    anyhow::ensure!(note.contains("Into this namespace (demo) only"), "{note}");
    anyhow::ensure!(
        listed_apps(&browser).await? == in_backup,
        "not every app is listed"
    );
    // Nothing chosen: the exact phrase does not enable the button, and the dialog says why.
    fill(&browser, "[data-testid=restore-phrase]", "restore backup").await?;
    anyhow::ensure!(
        !confirm_enabled(&browser).await?,
        "enabled with no app chosen"
    );
    browser
        .wait_for_text(
            "[data-testid=restore-apps-blocked]",
            "Choose at least one app",
        )
        .await?;
    fill(&browser, "[data-testid=restore-apps-filter]", LOST).await?;
    anyhow::ensure!(
        listed_apps(&browser).await? == [LOST],
        "the filter lists more"
    );
    let parts = browser
        .text_of(&format!(
            "[data-testid=restore-app][data-app={LOST}] [data-testid=restore-app-parts]"
        ))
        .await?;
    anyhow::ensure!(
        parts.starts_with("Postgres ")
            && parts.contains(" · Redis ")
            && parts.contains(" · files "),
        "{parts}"
    );
    click(
        &browser,
        &format!("[data-testid=restore-app][data-app={LOST}] input"),
    )
    .await?;
    anyhow::ensure!(
        confirm_enabled(&browser).await?,
        "disabled with an app chosen"
    );
    let what = browser.text_of("[data-testid=restore-what]").await?;
    anyhow::ensure!(
        what.contains(&format!("{LOST}: Postgres ")) && !what.contains(BUSY),
        "{what}"
    );
    let untouched = browser.text_of("[data-testid=restore-untouched]").await?;
    anyhow::ensure!(untouched.contains("every other app"), "{untouched}");
    axe::check(&browser, "the Restore dialog, one app's data chosen").await?;
    let started = Instant::now();
    let op_id = lifeboat_e2e::restore::confirm(&browser).await?;

    // d. The progress page to the end: the steps of some apps' data, the app named.
    let status = wait_page_final(&browser, OPERATION_SECS).await?;
    let page = browser.text_of("[data-testid=operation]").await?;
    anyhow::ensure!(status == "Succeeded", "{status}: {page}");
    eprintln!("{LOST}'s data restored in {:?}", started.elapsed());
    anyhow::ensure!(
        page.contains(&format!(
            "Restore of {LOST}'s data from {backup} into namespace demo"
        )),
        "{page}"
    );
    let steps = page_steps(&browser).await?;
    let ids: Vec<&str> = steps.iter().map(|(id, _)| id.as_str()).collect();
    anyhow::ensure!(
        ids == ["preflight", "lock", "fetch", "apps", "checklist"],
        "{ids:?}"
    );
    anyhow::ensure!(steps.iter().all(|(_, s)| s == "Done"), "{steps:?}");
    let apps_step = browser
        .text_of("[data-testid=operation-step][data-step=apps]")
        .await?;
    anyhow::ensure!(apps_step.contains("3 parts: 1 apps"), "{apps_step}");
    let items = page_checklist(&browser).await?;
    anyhow::ensure!(
        items.len() == 1 && items[0].contains(LOST) && items[0].contains("came back"),
        "{items:?}"
    );
    browser
        .wait_for_text(
            "[data-testid=checklist-what]",
            "Only these apps' data came back",
        )
        .await?;
    axe::check(&browser, "a finished restore of one app's data").await?;
    let op = get_json(&server, &format!("/operations/{op_id}")).await?;
    anyhow::ensure!(
        op["kind"]["apps"] == serde_json::json!([LOST]) && op["kind"]["target_namespace"] == "demo",
        "{op:#}"
    );

    // e. The app's data as backed up; everything else as it was just before.
    anyhow::ensure!(rows(lost).await? == rows_before, "{LOST}'s rows differ");
    same_keys(&keys_before, &keys(lost).await?, read_at.elapsed())?;
    let files_after = files(&lost_files)?;
    anyhow::ensure!(
        files_after == files_before,
        "{LOST}'s files differ: {:?}",
        differing(&files_after, &files_before)
    );
    anyhow::ensure!(rows(busy).await? == busy_rows, "{BUSY}'s new rows are gone");
    same_keys(&other_keys, &keys(other).await?, other_read.elapsed())
        .with_context(|| format!("{}'s keys changed", other.name))?;
    anyhow::ensure!(
        files(&ws_files)? == ws_after,
        "the workspace's files changed"
    );
    let system_after = demo.checksums().await?;
    anyhow::ensure!(
        system_after == system,
        "the system changed: {:?}",
        differing(&system_after, &system)
    );
    anyhow::ensure!(demo.config_files()? == config, "the configuration changed");
    browser.close().await?;
    Ok(())
}
