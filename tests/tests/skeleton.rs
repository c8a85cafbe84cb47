//! The walking skeleton in a real browser: the real `lifeboat` binary serving the built page
//! standalone, and the same bundle mounted as a plugin into a host page on another origin.
//!
//! Needs `dist/` (trunk build), `target/debug/lifeboat` and chromedriver: `make test` provides
//! all three.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use fantoccini::Locator;
use lifeboat_e2e::browser::Browser;
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

/// A host page like App Manager's: its own navigation and aggressive global CSS, the plugin
/// mounted under `/host/settings/backup`.
fn host_page(lifeboat: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>Host</title>
<style>
  body {{ font-family: serif; color: rgb(255, 0, 0); }}
  h1 {{ font-size: 50px; }}
  p, main {{ margin: 40px; }}
</style></head>
<body>
  <nav id="host-nav"><a href="/host/apps">Apps</a> <a href="/host/settings/backup">Backup</a></nav>
  <h1 id="host-title">Host settings</h1>
  <div id="slot"></div>
  <script type="module">
    const lifeboat = await import("{lifeboat}/plugin.js");
    await lifeboat.mount(document.getElementById("slot"),
      {{ apiBase: "{lifeboat}", basePath: "/host/settings/backup" }});
    window.lifeboatPlugin = lifeboat;
    document.body.dataset.mounted = "yes";
  </script>
</body></html>"#
    )
}

async fn start_host(
    listener: std::net::TcpListener,
    lifeboat_url: String,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let addr = listener.local_addr()?;
    let page = host_page(&lifeboat_url);
    let app = Router::new().fallback(move || {
        let page = page.clone();
        async move { Html(page) }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}

#[tokio::test]
async fn plugin_mounts_into_a_host_page_under_a_base_path() -> anyhow::Result<()> {
    // The host must be known before Lifeboat starts, to allow its origin.
    let host_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let host = format!("http://{}", host_listener.local_addr()?);
    let data = tempfile::tempdir()?;
    let server = Lifeboat::start(data.path(), &["--allowed-origin", &host]).await?;
    let (_, host_task) = start_host(host_listener, server.url.clone()).await?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&format!("{host}/host/settings/backup")).await?;
    let title = browser
        .text_of("#slot [data-testid=backup-restore] h1")
        .await?;
    assert_eq!(title, "Backup and Restore");
    // The API is on another origin; the plugin reaches it through the allowed origin.
    browser
        .wait_for_text("#slot [data-testid=health]", &format!("Lifeboat {VERSION}"))
        .await?;
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

    // Routes live under the base path: a deep link lands on the operation page.
    c.goto(&format!("{host}/host/settings/backup/operations/op-9"))
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

    browser.close().await?;
    host_task.abort();
    Ok(())
}
