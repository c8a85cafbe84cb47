//! The walking skeleton in a real browser: the real `lifeboat` binary serving the built page
//! standalone, and the same bundle mounted as a plugin into a host page on another origin.
//!
//! Needs `dist/` (trunk build), `target/debug/lifeboat` and chromedriver: `make test` provides
//! all three.

use std::time::Duration;

use fantoccini::Locator;
use lifeboat_e2e::axe;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::host::{BASE_PATH, Host};
use lifeboat_e2e::page::{click, element, fill};
use lifeboat_e2e::server::Lifeboat;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[tokio::test]
async fn standalone_page_renders_and_reaches_the_api() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = Lifeboat::start(data.path(), &[]).await?;
    let browser = Browser::start().await?;
    let c = &browser.client;

    browser.login(&server).await?;
    c.goto(&format!("{}/", server.url)).await?;
    let title = browser.text_of("[data-testid=backup-restore] h1").await?;
    assert_eq!(title, "Backup and Restore");
    // The App Manager frame with its Settings navigation, "Backup and Restore" selected.
    let current = browser
        .text_of("nav[aria-label=Settings] [aria-current=page]")
        .await?;
    assert_eq!(current, "Backup and Restore");
    browser
        .wait_for_text("[data-testid=health]", &format!("Lifeboat {VERSION}"))
        .await?;
    let empty = browser.text_of("[data-testid=backup-restore]").await?;
    assert!(
        empty.contains("Configure a bucket to start backing up"),
        "{empty}"
    );
    browser
        .screenshot(&lifeboat_e2e::workspace_root().join("docs/screenshots/empty.png"))
        .await?;
    // Accessibility of the empty page, the App Manager frame included (WCAG 2.1 A/AA).
    axe::check(&browser, "the empty page (standalone)").await?;

    // A client-side route survives a reload: the server falls back to index.html.
    c.goto(&format!("{}/operations/op-123", server.url)).await?;
    let op = browser.text_of("[data-testid=operation] h1").await?;
    assert_eq!(op, "Operation op-123");

    browser.close().await?;
    let status = server.stop().await?;
    assert!(
        status.success(),
        "graceful shutdown should exit 0, got {status}"
    );
    Ok(())
}

#[tokio::test]
async fn plugin_mounts_into_a_host_page_under_a_base_path() -> anyhow::Result<()> {
    // The host must be known before Lifeboat starts, to allow its origin.
    let (host_listener, host_origin) = Host::bind()?;
    let data = tempfile::tempdir()?;
    let server = Lifeboat::start(data.path(), &["--allowed-origin", &host_origin]).await?;
    // The host hands the plugin the admin token through `getToken`, as App Manager hands
    // it a Keycloak token; the browser never signs in to Lifeboat.
    let host = Host::start(host_listener, &server.url, Some(&server.token))?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&host.plugin_url()).await?;
    let title = browser
        .text_of("#slot [data-testid=backup-restore] h1")
        .await?;
    assert_eq!(title, "Backup and Restore");
    // The API is on another origin; the plugin reaches it through the allowed origin.
    browser
        .wait_for_text("#slot [data-testid=health]", &format!("Lifeboat {VERSION}"))
        .await?;
    // Bearer auth: the configuration and the backups (both need credentials) load with
    // no cookie at all, and the host's `getToken` was asked for each call.
    element(
        &browser,
        "#slot [data-testid=config-summary][data-default=true]",
    )
    .await?;
    browser
        .wait_for_text("#slot [data-testid=empty-state]", "No backups yet.")
        .await?;
    assert!(
        c.find_all(Locator::Css("#slot [data-testid=error-banner]"))
            .await?
            .is_empty(),
        "an API call failed: {}",
        browser.text_of("#slot").await?
    );
    assert!(
        c.get_all_cookies().await?.is_empty(),
        "the plugin must not need a cookie"
    );
    let calls = c
        .execute("return window.tokenCalls || 0", vec![])
        .await?
        .as_u64()
        .unwrap_or(0);
    assert!(
        calls >= 4,
        "getToken was called {calls} times: once per API call was expected"
    );
    // Plugin mode draws no frame of its own; the host's navigation stays.
    assert!(
        c.find_all(Locator::Css("#slot nav[aria-label=Settings]"))
            .await?
            .is_empty()
    );
    assert_eq!(browser.text_of("#host-nav").await?, "Apps Backup");

    // Styles do not leak either way.
    let css = |sel: &str, prop: &str| {
        format!(
            "return getComputedStyle(document.querySelector('{sel}')).getPropertyValue('{prop}')"
        )
    };
    let ours = c.execute(&css("#slot h1", "font-size"), vec![]).await?;
    assert_eq!(ours, "22px", "host CSS leaked into the plugin");
    let ours_color = c.execute(&css("#slot h1", "color"), vec![]).await?;
    assert_ne!(
        ours_color, "rgb(255, 0, 0)",
        "host colour leaked into the plugin"
    );
    let theirs = c.execute(&css("#host-title", "font-size"), vec![]).await?;
    assert_eq!(theirs, "50px", "plugin CSS leaked into the host");
    browser
        .screenshot(&lifeboat_e2e::workspace_root().join("docs/screenshots/plugin-host.png"))
        .await?;
    // Accessibility of the plugin only: the host page's own markup (its missing `lang`,
    // its heading order) is not ours, so the check is scoped to the plugin's root element,
    // which also leaves out axe's page-level rules (they need the whole document).
    axe::check_scoped(
        &browser,
        "the plugin mounted in the host page",
        &axe::Scope {
            include: &["#slot [data-lifeboat-root]"],
            ..axe::Scope::default()
        },
    )
    .await?;

    // Routes live under the base path: a deep link lands on the operation page.
    c.goto(&format!("{}/operations/op-9", host.plugin_url()))
        .await?;
    assert_eq!(
        browser.text_of("#slot [data-testid=operation] h1").await?,
        "Operation op-9"
    );

    // Unmount removes everything the plugin put in, styles included.
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("body[data-mounted=yes]"))
        .await?;
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         window.lifeboatPlugin.unmount(document.getElementById('slot')).then(() => done(true));",
        vec![],
    )
    .await?;
    let inner = c
        .execute("return document.getElementById('slot').innerHTML", vec![])
        .await?;
    assert_eq!(inner, "");
    let styles = c
        .execute("return document.querySelectorAll('style').length", vec![])
        .await?;
    assert_eq!(styles, 1, "only the host's own <style> should remain");

    // Mounted again without `getToken`: the API refuses it (a plugin has no cookie), and
    // the page says so but offers no sign-in form of its own (the host signs users in).
    c.goto(&host.plugin_url()).await?;
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("body[data-mounted=yes]"))
        .await?;
    c.execute_async(
        &format!(
            "const done = arguments[arguments.length - 1];
             const slot = document.getElementById('slot');
             window.lifeboatPlugin.unmount(slot)
               .then(() => window.lifeboatPlugin.mount(slot, {{ apiBase: {url}, basePath: '{BASE_PATH}' }}))
               .then(() => done(true));",
            url = serde_json::Value::from(server.url.clone())
        ),
        vec![],
    )
    .await?;
    browser
        .wait_for_text(
            "#slot [data-testid=error-banner]",
            "Sign in to use Lifeboat",
        )
        .await?;
    assert!(
        c.find_all(Locator::Css("#slot [data-testid=signin]"))
            .await?
            .is_empty(),
        "a plugin must not draw the sign-in form"
    );

    browser.close().await?;
    Ok(())
}

/// Standalone and signed out, the page asks for the admin token: a wrong one is refused
/// with the server's message, the right one signs in (session cookie) and the page loads.
#[tokio::test]
async fn standalone_page_signs_in_with_the_admin_token() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = Lifeboat::start(data.path(), &[]).await?;
    let browser = Browser::start().await?;
    let c = &browser.client;

    c.goto(&format!("{}/", server.url)).await?;
    browser
        .wait_for_text("[data-testid=signin] h2", "Sign in to use Lifeboat")
        .await?;
    let form = browser.text_of("[data-testid=signin]").await?;
    assert!(form.contains("Admin token"), "{form}");
    assert!(form.contains("admin-token file"), "{form}");
    assert!(form.contains("one-time sign-in link"), "{form}");
    let input = c.find(Locator::Css("[data-testid=signin-token]")).await?;
    assert_eq!(input.attr("type").await?.as_deref(), Some("password"));
    // The cards that need credentials are not drawn behind it.
    assert!(
        c.find_all(Locator::Css("[data-testid=config-summary]"))
            .await?
            .is_empty()
    );
    axe::check(&browser, "the sign-in form (standalone)").await?;

    fill(&browser, "[data-testid=signin-token]", "not-the-token").await?;
    click(&browser, "[data-testid=signin-submit]").await?;
    browser
        .wait_for_text("[data-testid=signin-error]", "That token was not accepted")
        .await?;
    assert!(
        !c.get_all_cookies()
            .await?
            .iter()
            .any(|k| k.name() == "lifeboat_session"),
        "a wrong token must not sign in"
    );
    axe::check(&browser, "the sign-in form with its error").await?;

    fill(&browser, "[data-testid=signin-token]", &server.token).await?;
    click(&browser, "[data-testid=signin-submit]").await?;
    element(&browser, "[data-testid=config-summary][data-default=true]").await?;
    browser
        .wait_for_text("[data-testid=empty-state]", "No backups yet.")
        .await?;
    assert!(
        c.find_all(Locator::Css("[data-testid=signin]"))
            .await?
            .is_empty(),
        "the form stays after signing in"
    );
    assert!(
        c.get_all_cookies()
            .await?
            .iter()
            .any(|k| k.name() == "lifeboat_session"),
        "signing in set no session cookie"
    );
    browser.close().await?;
    Ok(())
}

/// The accessibility check itself is live: a page with known violations fails it, naming
/// the rules and the elements.
#[tokio::test]
async fn the_axe_check_fails_on_a_known_violation() -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    browser
        .client
        .goto(
            "data:text/html,<!doctype html><html lang=en><title>t</title><main>\
             <img id=pic src=x.png><input id=nolabel type=text>\
             <button id=empty></button></main></html>",
        )
        .await?;
    let found = axe::violations(&browser, &axe::Scope::default()).await?;
    let ids: Vec<&str> = found.iter().map(|v| v.id.as_str()).collect();
    for rule in ["image-alt", "label", "button-name"] {
        assert!(ids.contains(&rule), "{rule} not reported: {ids:?}");
    }
    let err = axe::check(&browser, "the broken page")
        .await
        .expect_err("violations must fail the check")
        .to_string();
    assert!(
        err.contains("image-alt (critical)") && err.contains("#pic"),
        "{err}"
    );
    browser.close().await?;
    Ok(())
}
