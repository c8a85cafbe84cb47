//! Edit Configuration through the real page: every storage failure an admin can make (a
//! local folder that is not absolute or cannot be created, a wrong S3 secret, a missing
//! bucket, an endpoint nobody listens on, a wrong Azure key, a passphrase that does not open
//! the bucket's backups) is shown in the page in words they can act on, and the right values
//! verify and save.
//!
//! Needs `dist/`, `target/debug/lifeboat`, chromedriver, moto, Azurite and restic (the
//! passphrase test also PostgreSQL and pgBackRest): `make test` provides all of them.

use anyhow::Context as _;
use fantoccini::Locator;
use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::config_form::{
    self, VERIFY_SECS, expect_not_working, expect_working, fill_s3, verify_empty_bucket_works,
    wait_check,
};
use lifeboat_e2e::page::{
    backup_via_api, click, fill, get_json, open_up, put_config, scroll_to, select, wait_for_all,
    wait_instance,
};
use lifeboat_e2e::server::Lifeboat;
use lifeboat_e2e::servers::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, Moto, free_port};
use serde_json::json;

/// Opens the page signed in and the configuration form.
async fn open_form(browser: &Browser, server: &Lifeboat) -> anyhow::Result<()> {
    browser.login(server).await?;
    browser.client.goto(&format!("{}/", server.url)).await?;
    config_form::open(browser, "").await?;
    axe::check(browser, "the configuration form").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_folder_that_cannot_be_used_is_shown_then_a_good_one_saves() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server).await?;
    select(&browser, "[data-testid=config-provider]", "local").await?;

    // A relative path is refused in the form itself, next to the field.
    fill(&browser, "[data-testid=config-path]", "backups").await?;
    click(&browser, "[data-testid=verify-config]").await?;
    wait_for_all(
        &browser,
        "#lb-cfg-path-error",
        &["Enter an absolute path (starting with /)"],
        VERIFY_SECS,
    )
    .await?;

    // A folder that cannot be created: a file stands where its parent should be.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder")?;
    let blocked = file.join("bucket");
    let blocked = blocked.to_str().context("utf-8 path")?;
    fill(&browser, "[data-testid=config-path]", blocked).await?;
    click(&browser, "[data-testid=verify-config]").await?;
    wait_check(
        &browser,
        "",
        "bucket",
        "Failed",
        &[
            "cannot be created or used",
            blocked,
            "What to do: choose a folder on the Lifeboat host that Lifeboat's user can create and write to",
        ],
    )
    .await?;
    wait_check(&browser, "", "credentials", "Passed", &[]).await?;
    wait_check(&browser, "", "write_read_delete", "Skipped", &[]).await?;
    expect_not_working(&browser, "").await?;
    let view = get_json(&server, "/config").await?;
    assert_eq!(view["is_default"], true, "nothing was saved: {view}");

    // A folder it can create: Verify passes, and Save stores it and shows it.
    let good = dir.path().join("backups");
    let good_text = good.to_str().context("utf-8 path")?;
    fill(&browser, "[data-testid=config-path]", good_text).await?;
    verify_empty_bucket_works(&browser, "").await?;
    // What is true of a folder: no bucket, no credentials accepted.
    let result = browser.text_of("[data-testid=verify-result]").await?;
    assert!(
        result.contains("The folder works with this configuration."),
        "{result}"
    );
    assert!(
        result.contains("A local folder needs no credentials"),
        "{result}"
    );
    assert!(
        !result.contains("bucket") && !result.contains("accepted"),
        "{result}"
    );
    click(&browser, "[data-testid=save-config]").await?;
    wait_for_all(
        &browser,
        "[data-testid=config-summary] [data-testid=config-location]",
        &["Local folder", good_text],
        VERIFY_SECS,
    )
    .await?;
    let view = get_json(&server, "/config").await?;
    assert_eq!(view["is_default"], false, "{view}");
    assert_eq!(view["config"]["provider"]["provider"], "local", "{view}");
    assert_eq!(view["config"]["provider"]["path"], good_text, "{view}");
    assert!(good.is_dir(), "the folder was not created");
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_wrong_secret_missing_bucket_and_unreachable_endpoint_are_shown_then_it_saves()
-> anyhow::Result<()> {
    let moto = Moto::start(&["backups"]).await?;
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server).await?;

    // A wrong secret key: the key is refused, and the page says what to do.
    fill_s3(
        &browser,
        "",
        &moto.endpoint,
        "backups",
        &moto.access_key_id,
        "this-is-not-the-secret",
    )
    .await?;
    click(&browser, "[data-testid=verify-config]").await?;
    wait_check(
        &browser,
        "",
        "credentials",
        "Failed",
        &[
            "access key was refused",
            "What to do: check the key id and secret",
        ],
    )
    .await?;
    wait_check(&browser, "", "reachable", "Passed", &[]).await?;
    wait_check(&browser, "", "bucket", "Skipped", &[]).await?;
    expect_not_working(&browser, "").await?;
    scroll_to(
        &browser,
        "[data-testid=config-form] [data-testid=verify-result]",
    )
    .await?;
    browser
        .screenshot(&lifeboat_e2e::workspace_root().join("docs/screenshots/config-error.png"))
        .await?;
    axe::check(&browser, "the configuration form with a failed verify").await?;

    // The right secret, but a bucket that does not exist.
    fill(
        &browser,
        "[data-testid=config-secret_access_key]",
        &moto.secret_access_key,
    )
    .await?;
    fill(&browser, "[data-testid=config-bucket]", "no-such-bucket").await?;
    click(&browser, "[data-testid=verify-config]").await?;
    wait_check(
        &browser,
        "",
        "bucket",
        "Failed",
        &[
            "there is no bucket or container",
            "no-such-bucket",
            "What to do: create it",
        ],
    )
    .await?;
    wait_check(&browser, "", "credentials", "Passed", &[]).await?;
    expect_not_working(&browser, "").await?;

    // The right bucket on an endpoint nobody listens on.
    let closed = format!("http://127.0.0.1:{}", free_port()?);
    fill(&browser, "[data-testid=config-bucket]", "backups").await?;
    fill(&browser, "[data-testid=config-endpoint]", &closed).await?;
    click(&browser, "[data-testid=verify-config]").await?;
    let port = closed.rsplit(':').next().unwrap_or_default();
    wait_check(
        &browser,
        "",
        "reachable",
        "Failed",
        &[
            "connection refused",
            port,
            "What to do: check the endpoint URL",
        ],
    )
    .await?;
    wait_check(&browser, "", "credentials", "Skipped", &[]).await?;
    expect_not_working(&browser, "").await?;

    // Nothing of this was saved.
    let view = get_json(&server, "/config").await?;
    assert_eq!(view["is_default"], true, "{view}");

    // The right endpoint: Verify passes, and Save stores it and shows it.
    fill(&browser, "[data-testid=config-endpoint]", &moto.endpoint).await?;
    verify_empty_bucket_works(&browser, "").await?;
    click(&browser, "[data-testid=save-config]").await?;
    let location = format!("s3://backups/lifeboat at {} (us-east-1)", moto.endpoint);
    wait_for_all(
        &browser,
        "[data-testid=config-summary] [data-testid=config-location]",
        &["Amazon S3", &location],
        VERIFY_SECS,
    )
    .await?;
    wait_for_all(
        &browser,
        "[data-testid=config-summary] [data-testid=verify-result][data-ok=true]",
        &["The bucket works with this configuration."],
        VERIFY_SECS,
    )
    .await
    .context("the verify run on save is shown")?;

    let view = get_json(&server, "/config").await?;
    assert_eq!(view["is_default"], false, "{view}");
    assert_eq!(view["credentials_set"], true, "{view}");
    let provider = &view["config"]["provider"];
    assert_eq!(provider["provider"], "s3", "{view}");
    assert_eq!(provider["bucket"], "backups", "{view}");
    assert_eq!(provider["endpoint"], moto.endpoint.as_str(), "{view}");

    // After a reload the page still shows it, and Verify of the saved configuration passes.
    browser.client.goto(&format!("{}/", server.url)).await?;
    wait_for_all(
        &browser,
        "[data-testid=config-location]",
        &[&location],
        VERIFY_SECS,
    )
    .await?;
    click(&browser, "[data-testid=verify-saved]").await?;
    wait_for_all(
        &browser,
        "[data-testid=config-summary]",
        &["ms)"],
        VERIFY_SECS,
    )
    .await?;
    wait_for_all(
        &browser,
        "[data-testid=config-summary] [data-testid=verify-result][data-ok=true]",
        &["The bucket works with this configuration."],
        VERIFY_SECS,
    )
    .await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_wrong_account_key_is_shown_then_the_right_one_saves() -> anyhow::Result<()> {
    let azurite = Azurite::start().await?;
    azurite.create_container("backups").await?;
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let server = Lifeboat::start(&dir.path().join("data"), &[]).await?;
    let browser = Browser::start().await?;
    open_form(&browser, &server).await?;

    select(&browser, "[data-testid=config-provider]", "azure").await?;
    fill(&browser, "[data-testid=config-account]", AZURITE_ACCOUNT).await?;
    fill(&browser, "[data-testid=config-bucket]", "backups").await?;
    fill(&browser, "[data-testid=config-prefix]", "lifeboat").await?;
    // A well-formed key (base64) that is not the account's.
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    fill(&browser, "[data-testid=config-azure_secret]", wrong).await?;
    click(&browser, "[data-testid=verify-config]").await?;
    wait_check(
        &browser,
        "",
        "credentials",
        "Failed",
        &[
            "access key was refused",
            "What to do: check the key id and secret (or account key",
        ],
    )
    .await?;
    wait_check(&browser, "", "bucket", "Skipped", &[]).await?;
    expect_not_working(&browser, "").await?;

    fill(&browser, "[data-testid=config-azure_secret]", AZURITE_KEY).await?;
    click(&browser, "[data-testid=save-config]").await?;
    wait_for_all(
        &browser,
        "[data-testid=config-summary] [data-testid=config-location]",
        &["Azure Blob Storage", "devstoreaccount1/backups/lifeboat"],
        VERIFY_SECS,
    )
    .await?;
    wait_for_all(
        &browser,
        "[data-testid=config-summary] [data-testid=verify-result][data-ok=true]",
        &[
            "The bucket works with this configuration.",
            "No backups are stored here yet",
        ],
        VERIFY_SECS,
    )
    .await?;
    let view = get_json(&server, "/config").await?;
    assert_eq!(view["config"]["provider"]["provider"], "azure", "{view}");
    assert_eq!(view["credentials_set"], true, "{view}");
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passphrase_that_does_not_open_the_backups_is_shown() -> anyhow::Result<()> {
    let moto = Moto::start(&["backups"]).await?;
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;

    // Instance A backs up into the bucket with passphrase A.
    let a = Lifeboat::start(&dir.path().join("a"), &[]).await?;
    wait_instance(&a).await?;
    let body = json!({
        "config": {
            "provider": {"provider": "s3", "region": "us-east-1", "bucket": "backups",
                         "prefix": "lifeboat", "endpoint": moto.endpoint},
            "secret_name": "lifeboat-s3",
        },
        "credentials": {"provider": "s3", "access_key_id": moto.access_key_id,
                        "secret_access_key": moto.secret_access_key},
        "passphrase": {"action": "set", "passphrase": "passphrase-A"},
    });
    let saved = put_config(&a, &body).await?;
    assert_eq!(saved["verify"]["ok"], true, "{saved}");
    let op = backup_via_api(&a, "made with passphrase A", 300).await?;
    assert_eq!(op["status"], "succeeded", "{op}");

    // Instance B is configured on the same bucket in the page, with passphrase B.
    let b = Lifeboat::start(&dir.path().join("b"), &[]).await?;
    let browser = Browser::start().await?;
    open_form(&browser, &b).await?;
    fill_s3(
        &browser,
        "",
        &moto.endpoint,
        "backups",
        &moto.access_key_id,
        &moto.secret_access_key,
    )
    .await?;
    click(&browser, "[data-testid=passphrase-set]").await?;
    fill(&browser, "[data-testid=config-passphrase]", "passphrase-B").await?;
    fill(
        &browser,
        "[data-testid=config-passphrase_repeat]",
        "passphrase-B",
    )
    .await?;
    click(&browser, "[data-testid=verify-config]").await?;
    wait_check(
        &browser,
        "",
        "repository",
        "Failed",
        &[
            "the configured passphrase does not open it",
            "What to do: set the passphrase the existing backups were made with",
        ],
    )
    .await?;
    wait_for_all(
        &browser,
        "[data-testid=config-form] [data-testid=verify-result]",
        &["made with a different passphrase: set the one they were made with where the check above says"],
        VERIFY_SECS,
    )
    .await?;
    expect_not_working(&browser, "").await?;

    // With passphrase A the same form verifies: the backups open.
    fill(&browser, "[data-testid=config-passphrase]", "passphrase-A").await?;
    fill(
        &browser,
        "[data-testid=config-passphrase_repeat]",
        "passphrase-A",
    )
    .await?;
    click(&browser, "[data-testid=verify-config]").await?;
    expect_working(
        &browser,
        "",
        &["Lifeboat backups are stored here, and this configuration opens them."],
    )
    .await?;
    wait_check(&browser, "", "repository", "Passed", &[]).await?;

    // On instance A, changing the passphrase with a wrong current one is refused in words,
    // and nothing changes.
    open_form(&browser, &a).await?;
    click(&browser, "[data-testid=passphrase-change]").await?;
    fill(
        &browser,
        "[data-testid=config-old_passphrase]",
        "passphrase-B",
    )
    .await?;
    fill(&browser, "[data-testid=config-passphrase]", "passphrase-C").await?;
    fill(
        &browser,
        "[data-testid=config-passphrase_repeat]",
        "passphrase-C",
    )
    .await?;
    click(&browser, "[data-testid=save-config]").await?;
    wait_for_all(
        &browser,
        "[data-testid=config-form] [data-testid=error-banner]",
        &[
            "The configuration was not saved.",
            "the current passphrase you entered does not open the backups in the bucket",
            "enter the passphrase the existing backups were made with",
        ],
        VERIFY_SECS,
    )
    .await?;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-testid=config-form]"))
            .await
            .is_ok(),
        "the form closed although the save was refused"
    );
    let report: serde_json::Value = a
        .api()
        .post(format!("{}/api/v1/config/verify", a.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(report["repository"], "ready", "{report}");
    browser.close().await?;
    Ok(())
}
