//! A plugin host page like App Manager's, on its own origin: its own navigation and
//! aggressive global CSS, the plugin mounted under `/host/settings/backup` with a
//! `getToken` that hands it the server's admin token (as App Manager hands it a Keycloak
//! token), so the plugin reaches the API with bearer auth and no cookie.

use std::net::{SocketAddr, TcpListener};

use axum::Router;
use axum::response::Html;

/// The host route the plugin lives under.
pub const BASE_PATH: &str = "/host/settings/backup";

/// The host page. With `token`, the mount options carry an async `getToken` returning it
/// (and counting its calls in `window.tokenCalls`); without, none.
pub fn page(lifeboat: &str, token: Option<&str>) -> String {
    let get_token = match token {
        Some(t) => format!(
            "getToken: async () => {{ window.tokenCalls = (window.tokenCalls || 0) + 1; return {}; }},",
            serde_json::Value::from(t)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html><html><head><title>Host</title>
<style>
  body {{ font-family: serif; color: rgb(255, 0, 0); }}
  h1 {{ font-size: 50px; }}
  p, main {{ margin: 40px; }}
</style></head>
<body>
  <nav id="host-nav"><a href="/host/apps">Apps</a> <a href="{BASE_PATH}">Backup</a></nav>
  <h1 id="host-title">Host settings</h1>
  <div id="slot"></div>
  <script type="module">
    const lifeboat = await import("{lifeboat}/plugin.js");
    await lifeboat.mount(document.getElementById("slot"),
      {{ apiBase: "{lifeboat}", basePath: "{BASE_PATH}", {get_token} }});
    window.lifeboatPlugin = lifeboat;
    document.body.dataset.mounted = "yes";
  </script>
</body></html>"#
    )
}

/// A host page server on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct Host {
    /// e.g. `http://127.0.0.1:41235`
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Host {
    /// A listener for the host, bound before Lifeboat starts (Lifeboat must be told the
    /// host's origin with `--allowed-origin`), and that origin.
    pub fn bind() -> anyhow::Result<(TcpListener, String)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let origin = format!("http://{}", listener.local_addr()?);
        Ok((listener, origin))
    }

    /// Serves [`page`] for every path on `listener`.
    pub fn start(
        listener: TcpListener,
        lifeboat_url: &str,
        token: Option<&str>,
    ) -> anyhow::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr: SocketAddr = listener.local_addr()?;
        let html = page(lifeboat_url, token);
        let app = Router::new().fallback(move || {
            let html = html.clone();
            async move { Html(html) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url: format!("http://{addr}"),
            task,
        })
    }

    /// The host URL of the plugin's main page.
    pub fn plugin_url(&self) -> String {
        format!("{}{BASE_PATH}", self.url)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.task.abort();
    }
}
