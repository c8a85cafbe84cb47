//! Headless Chromium through a chromedriver child process on a free loopback port.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::{Child, Command};

/// A chromedriver process plus one WebDriver session; closed and killed on drop.
#[derive(Debug)]
pub struct Browser {
    /// chromedriver, leading its own process group: Chromium and its helpers run in that
    /// group, and dropping the browser kills the group (a test that failed before `close`
    /// left its Chromium running otherwise: chromedriver's death does not end it).
    driver: Child,
    /// The WebDriver session.
    pub client: Client,
    /// Chromium's profile, removed on drop (chromedriver's own temporary profiles outlive a
    /// killed session and fill `/tmp`).
    _profile: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Browser {
    /// Starts chromedriver (never with `--allowed-ips`, which would bind every interface)
    /// and a headless session.
    pub async fn start() -> anyhow::Result<Self> {
        Self::launch(false, &[]).await
    }

    /// Like [`Browser::start`], resolving each `(host, ip)` to that (loopback) IP, as
    /// cluster DNS resolves a Service's name for a pod: the page can follow redirects to
    /// in-cluster names such as `keycloak.<namespace>.svc`.
    pub async fn start_resolving(hosts: &[(&str, &str)]) -> anyhow::Result<Self> {
        let rules: Vec<String> = hosts
            .iter()
            .map(|(h, ip)| format!("MAP {h} {ip}"))
            .collect();
        Self::launch(
            false,
            &[format!("--host-resolver-rules={}", rules.join(","))],
        )
        .await
    }

    /// Like [`Browser::start`], with the back/forward cache on: chromedriver turns it off
    /// by default (`--disable-back-forward-cache`), so pages left behind are discarded;
    /// a person's browser keeps them, frozen, with their connections.
    pub async fn start_with_bfcache() -> anyhow::Result<Self> {
        Self::launch(true, &[]).await
    }

    async fn launch(bfcache: bool, extra_args: &[String]) -> anyhow::Result<Self> {
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port()?;
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {driver_bin}: install chromium-driver"))?;
        let profile = tempfile::Builder::new()
            .prefix("lifeboat-chromium-")
            .tempdir()?;
        let mut caps = serde_json::Map::new();
        let mut args = vec![
            format!("--user-data-dir={}", profile.path().display()),
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-quic".into(),
            "--window-size=1280,900".into(),
            // No CSS transitions: a screenshot shows the final state, not a bar mid-slide.
            "--force-prefers-reduced-motion".into(),
        ];
        args.extend(extra_args.iter().cloned());
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "args": args,
                "excludeSwitches": if bfcache { vec!["disable-back-forward-cache"] } else { vec![] }
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_err = None;
        for _ in 0..50 {
            match ClientBuilder::rustls()?
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Ok(Self {
                        driver,
                        client,
                        _profile: profile,
                    });
                }
                Err(e) => last_err = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("chromedriver did not accept a session: {last_err:?}")
    }

    /// Waits up to 15 s for an element matching `css` and returns its text.
    pub async fn text_of(&self, css: &str) -> anyhow::Result<String> {
        let el = self
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element {css}"))?;
        Ok(el.text().await?)
    }

    /// Waits up to 15 s until the element matching `css` has text containing `needle`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text_of(css).await.unwrap_or_default();
            if text.contains(needle) {
                return Ok(text);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{css} never contained {needle:?}; last text: {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs in to `server` through its one-time link (as an admin would from the log).
    pub async fn login(&self, server: &crate::server::Lifeboat) -> anyhow::Result<()> {
        self.client.goto(&server.login_url).await?;
        let cookies = self.client.get_all_cookies().await?;
        anyhow::ensure!(
            cookies.iter().any(|c| c.name() == "lifeboat_session"),
            "signing in through {} set no session cookie",
            server.login_url
        );
        Ok(())
    }

    /// Saves a PNG screenshot (for the README and for debugging failures).
    pub async fn screenshot(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let png = self.client.screenshot().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            // SIGKILL to the group chromedriver leads (`kill -KILL -- -<pgid>`).
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
