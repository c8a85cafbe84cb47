//! The storage configuration form in the page (Edit Configuration / Configure storage),
//! shared by the standalone suite and the plugin in the host page.
//!
//! Every helper takes `within`: a CSS selector the form's elements are looked up under
//! (`""`: the whole page; `"#slot"`: the plugin mounted in the host page).

use crate::browser::Browser;
use crate::page::{click, element, fill, select, wait_for_all};

/// The four checks that pass on any bucket that works (the fifth, `repository`, depends on
/// what the bucket holds).
const BUCKET_CHECKS: [&str; 4] = ["reachable", "credentials", "bucket", "write_read_delete"];

/// How long a verify may take in the page (the backend promises 15 s even for an endpoint
/// that hangs; restic and a loaded 2-core machine add to that).
pub const VERIFY_SECS: u64 = 45;

/// Clicks Edit Configuration / Configure storage and waits for the form.
pub async fn open(browser: &Browser, within: &str) -> anyhow::Result<()> {
    click(browser, &format!("{within} [data-testid=edit-config]")).await?;
    element(browser, &format!("{within} [data-testid=config-form]")).await?;
    Ok(())
}

/// The visible check `id` of the verify result in the page, once it has `status`
/// (`Passed`, `Failed`, `Skipped`, `Warning`) and contains every one of `needles`; returns
/// its text.
pub async fn wait_check(
    browser: &Browser,
    within: &str,
    id: &str,
    status: &str,
    needles: &[&str],
) -> anyhow::Result<String> {
    let css = format!("{within} [data-testid=verify-check][data-check={id}][data-status={status}]");
    wait_for_all(browser, &css, needles, VERIFY_SECS).await
}

/// Fills the S3 part of the form (provider, region `us-east-1`, bucket, prefix
/// `lifeboat`, endpoint, credentials).
pub async fn fill_s3(
    browser: &Browser,
    within: &str,
    endpoint: &str,
    bucket: &str,
    key_id: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let f = |field: &str| format!("{within} [data-testid=config-{field}]");
    select(browser, &f("provider"), "s3").await?;
    fill(browser, &f("region"), "us-east-1").await?;
    fill(browser, &f("bucket"), bucket).await?;
    fill(browser, &f("prefix"), "lifeboat").await?;
    fill(browser, &f("endpoint"), endpoint).await?;
    fill(browser, &f("access_key_id"), key_id).await?;
    fill(browser, &f("secret_access_key"), secret).await?;
    Ok(())
}

/// The verify result shown in the form says the bucket (or folder) does not work
/// (`data-ok="false"`).
pub async fn expect_not_working(browser: &Browser, within: &str) -> anyhow::Result<()> {
    let css = format!("{within} [data-testid=config-form] [data-testid=verify-result]");
    wait_for_all(
        browser,
        &css,
        &["does not work with this configuration yet."],
        VERIFY_SECS,
    )
    .await?;
    let ok = element(browser, &css).await?.attr("data-ok").await?;
    anyhow::ensure!(ok.as_deref() == Some("false"), "data-ok is {ok:?}");
    Ok(())
}

/// The verify result shown in the form says the bucket works (`data-ok="true"`): its text
/// contains every one of `needles`; returns that text.
pub async fn expect_working(
    browser: &Browser,
    within: &str,
    needles: &[&str],
) -> anyhow::Result<String> {
    let css =
        format!("{within} [data-testid=config-form] [data-testid=verify-result][data-ok=true]");
    wait_for_all(browser, &css, needles, VERIFY_SECS).await
}

/// Clicks Verify in the form and waits until it says the bucket (or folder) works and
/// holds no backups yet, with every bucket check passed.
pub async fn verify_empty_bucket_works(browser: &Browser, within: &str) -> anyhow::Result<()> {
    click(browser, &format!("{within} [data-testid=verify-config]")).await?;
    expect_working(
        browser,
        within,
        &[
            "works with this configuration.",
            "No backups are stored here yet",
        ],
    )
    .await?;
    for check in BUCKET_CHECKS {
        wait_check(browser, within, check, "Passed", &[]).await?;
    }
    Ok(())
}
