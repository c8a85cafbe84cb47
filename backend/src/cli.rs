//! The command line: `lifeboat serve` and its flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::runtime::Runtime;
use crate::runtime::host::toolbox::Toolbox;
use crate::runtime::kubernetes::{KubeOptions, KubeRuntime, KubeSettings};
use crate::runtime::local::LocalRuntime;
use crate::state::{AppState, Settings};
use crate::telemetry::LogFormat;

/// Backup and restore for Dash Enterprise.
#[derive(Debug, Parser)]
#[command(name = "lifeboat", version, about)]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "LIFEBOAT_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the web page.
    Serve(Box<ServeArgs>),
    /// Started by `serve` itself: kills its tools' process groups when it dies.
    #[command(hide = true, name = "guard")]
    Guard,
}

/// Flags of `lifeboat serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default; expose it deliberately.
    #[arg(long, default_value = "127.0.0.1:8080", env = "LIFEBOAT_LISTEN")]
    pub listen: SocketAddr,
    /// Where Lifeboat keeps its state (config, secrets, operations, the demo instance).
    /// Defaults to `$XDG_DATA_HOME/lifeboat` or `~/.local/share/lifeboat`.
    #[arg(long, env = "LIFEBOAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The built web page (Trunk's `dist/`).
    #[arg(long, default_value = "dist", env = "LIFEBOAT_STATIC_DIR")]
    pub static_dir: PathBuf,
    /// Origins (scheme://host:port) whose pages may mount the plugin and call the API,
    /// e.g. App Manager's. None by default: cross-origin requests are refused.
    #[arg(
        long = "allowed-origin",
        env = "LIFEBOAT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// App Manager's OIDC issuer (Keycloak realm URL). When set, bearer JWTs from it are
    /// accepted for users holding `--oidc-role`.
    #[arg(long, env = "LIFEBOAT_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The audience (`aud`) App Manager's tokens carry for Lifeboat.
    #[arg(long, env = "LIFEBOAT_OIDC_AUDIENCE", default_value = "lifeboat")]
    pub oidc_audience: String,
    /// The issuer's JWKS URL; defaults to Keycloak's `<issuer>/protocol/openid-connect/certs`.
    #[arg(long, env = "LIFEBOAT_OIDC_JWKS_URL")]
    pub oidc_jwks_url: Option<String>,
    /// The realm role a user needs.
    #[arg(long, env = "LIFEBOAT_OIDC_ROLE", default_value = "admin")]
    pub oidc_role: String,
    /// The issuer's public client the standalone page's "Sign in with Keycloak" uses
    /// (authorization code flow with PKCE; its redirect URIs must allow
    /// `<Lifeboat's origin>/auth/keycloak/callback`).
    #[arg(long, env = "LIFEBOAT_OIDC_CLIENT_ID", default_value = "lifeboat")]
    pub oidc_client_id: String,
    /// The local runtime: run a real Keycloak beside the demo's Postgres (realms laid out as
    /// Dash Enterprise's, its users in `<data_dir>/demo-users.json`) and trust its realm
    /// `dash` for sign-in unless `--oidc-issuer` names another. `--demo-keycloak=false`
    /// runs the demo without it (a Keycloak-like schema of Lifeboat's own stands in).
    #[arg(
        long,
        env = "LIFEBOAT_DEMO_KEYCLOAK",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub demo_keycloak: bool,
    /// Where Keycloak is installed (default `~/.cache/lifeboat/keycloak-<version>`, where
    /// `scripts/install.sh keycloak` puts it).
    #[arg(long, env = "LIFEBOAT_KEYCLOAK_HOME")]
    pub keycloak_home: Option<PathBuf>,
    /// Where Dash Enterprise runs: `local` (a demo instance Lifeboat creates itself) or
    /// `kubernetes` (the namespace Lifeboat's pod runs in).
    #[arg(long, value_enum, default_value_t = RuntimeKind::Local, env = "LIFEBOAT_RUNTIME")]
    pub runtime: RuntimeKind,
    /// The kubernetes runtime: the namespace managed (default: the pod's own).
    #[arg(long, env = "LIFEBOAT_NAMESPACE")]
    pub namespace: Option<String>,
    /// The kubernetes runtime: a kubeconfig (default: the in-cluster configuration).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubernetes runtime: the folder holding Lifeboat's pgBackRest client certificate
    /// (`tls.crt`, `tls.key`) and the CA of the system Postgres' sidecar (`ca.crt`).
    #[arg(
        long,
        env = "LIFEBOAT_PGBACKREST_TLS_DIR",
        default_value = "/etc/lifeboat/pgbackrest-tls"
    )]
    pub pgbackrest_tls_dir: PathBuf,
    /// The kubernetes runtime: the ConfigMap the storage configuration is saved in
    /// (Lifeboat's Role may `get` and `update` it; it must exist).
    #[arg(long, env = "LIFEBOAT_CONFIG_MAP", default_value = "lifeboat-config")]
    pub config_map: String,
    /// The kubernetes runtime: the system Postgres' StatefulSet (and Service) name.
    #[arg(
        long,
        env = "LIFEBOAT_POSTGRES_STATEFULSET",
        default_value = "system-postgres"
    )]
    pub postgres_statefulset: String,
    /// The kubernetes runtime: the image of the Jobs that read and write apps' claims
    /// (Lifeboat's own, which carries restic).
    #[arg(long, env = "LIFEBOAT_JOB_IMAGE", default_value = concat!("lifeboat:", env!("CARGO_PKG_VERSION")))]
    pub job_image: String,
    /// How many apps' parts a backup takes at once (on Kubernetes, how many Jobs beside
    /// apps' claims run at once), 1 to 16.
    #[arg(long, env = "LIFEBOAT_APP_JOBS", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub app_jobs: u8,
    /// Seconds between two WAL shipments into the bucket (the recovery point's age), 5 to
    /// 3600; 0 ships none (a restore to a moment then reaches the newest backup only).
    #[arg(long, env = "LIFEBOAT_WAL_SHIP_SECONDS", default_value_t = 60, value_parser = wal_ship_seconds)]
    pub wal_ship_seconds: u64,
}

fn wal_ship_seconds(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if n == 0 || (5..=3600).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is not 0 or between 5 and 3600"))
    }
}

/// How the kubernetes runtime reaches its cluster, from `serve`'s flags.
fn kube_options(args: &ServeArgs) -> KubeOptions {
    KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        namespace: args.namespace.clone(),
        settings: KubeSettings {
            statefulset: args.postgres_statefulset.clone(),
            service: args.postgres_statefulset.clone(),
            tls_dir: args.pgbackrest_tls_dir.clone(),
            job_image: args.job_image.clone(),
            app_jobs: usize::from(args.app_jobs),
            ..KubeSettings::default()
        },
        config_map: args.config_map.clone(),
    }
}

/// Which runtime `serve` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// The embedded default: a demo instance on this host.
    Local,
    /// A Dash Enterprise namespace on a Kubernetes API server.
    Kubernetes,
}

/// Authentication for `serve`: the admin token (`LIFEBOAT_ADMIN_TOKEN`, never a flag, so it
/// stays out of process listings; else the 0600 `admin-token` file) and optional OIDC.
fn auth_context(
    args: &ServeArgs,
    data_dir: &std::path::Path,
    allowed_origins: Vec<axum::http::HeaderValue>,
    demo_issuer: Option<String>,
) -> anyhow::Result<crate::auth::AuthContext> {
    let env_token = std::env::var("LIFEBOAT_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(crate::secret::Secret::new);
    let auth = crate::auth::Auth::load_or_create(data_dir, env_token)?;
    let issuer = args.oidc_issuer.as_ref().or(demo_issuer.as_ref());
    let oidc = match issuer {
        Some(issuer) => {
            let mut cfg = crate::auth::oidc::OidcConfig::keycloak(issuer, &args.oidc_audience);
            if let Some(url) = &args.oidc_jwks_url {
                cfg.jwks_url = url.clone();
            }
            cfg.required_role = args.oidc_role.clone();
            Some(crate::auth::oidc::OidcVerifier::new(cfg)?)
        }
        None => None,
    };
    let sso = issuer.map(|i| crate::auth::sso::Sso::new(i, &args.oidc_client_id));
    Ok(crate::auth::AuthContext {
        auth,
        allowed_origins,
        oidc,
        sso,
    })
}

/// The default data dir: `$XDG_DATA_HOME/lifeboat`, else `~/.local/share/lifeboat`.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("lifeboat"));
    }
    let home =
        std::env::var_os("HOME").context("neither --data-dir, XDG_DATA_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".local/share/lifeboat"))
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Guard => {
            tokio::task::spawn_blocking(|| {
                crate::runtime::host::guard::run(std::io::stdin().lock())
            })
            .await?;
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let data_dir = match args.data_dir.clone() {
        Some(d) => d,
        None => default_data_dir()?,
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    // Before any tool runs: what a tool forks must die with Lifeboat, even by SIGKILL.
    match std::env::current_exe() {
        Ok(exe) => {
            if let Err(e) = crate::runtime::host::guard::start(&exe) {
                tracing::warn!(error = %e, "a killed Lifeboat may leave its tools' workers running");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot find this program to start the process guard"),
    }

    let toolbox = Toolbox::discover();
    for tool in &toolbox.tools {
        match &tool.path {
            Some(p) => tracing::debug!(tool = tool.name, path = %p.display(), "found tool"),
            None => tracing::warn!(tool = tool.name, package = tool.package, "tool not found"),
        }
    }
    if !args.static_dir.join("index.html").is_file() {
        tracing::warn!(
            static_dir = %args.static_dir.display(),
            "the web page is not built there; run `make run` (or `trunk build`) first. The API works without it"
        );
    }

    let allowed_origins = args
        .allowed_origins
        .iter()
        .map(|o| crate::state::parse_origin(o))
        .collect::<Result<Vec<_>, _>>()?;
    // Bound first: the demo's Keycloak is told Lifeboat's origin for its `lifeboat` client.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let keycloak = match args.runtime {
        RuntimeKind::Local => demo_keycloak(&args, &data_dir, addr),
        RuntimeKind::Kubernetes => None,
    };
    let demo_issuer = keycloak.as_ref().map(|(_, issuer)| issuer.clone());
    let auth = std::sync::Arc::new(auth_context(
        &args,
        &data_dir,
        allowed_origins.clone(),
        demo_issuer,
    )?);
    let settings = Settings {
        data_dir,
        static_dir: args.static_dir.clone(),
        allowed_origins,
    };
    let state = match args.runtime {
        RuntimeKind::Local => local_state_with(
            settings,
            toolbox,
            keycloak.map(|(setup, _)| setup),
            usize::from(args.app_jobs),
        ),
        RuntimeKind::Kubernetes => {
            let runtime =
                KubeRuntime::connect(&settings.data_dir, toolbox, kube_options(&args)).await?;
            tracing::info!(namespace = runtime.namespace(), "kubernetes runtime");
            AppState::new(settings, std::sync::Arc::new(runtime))
        }
    };
    if let Some(hint) = state.runtime().install_hint() {
        tracing::error!("{hint}; backups and restores will fail until it is installed");
    }
    state.set_auth(auth.clone());
    // Operations a killed Lifeboat left running are marked interrupted; their lock released.
    crate::jobs::supervisor::recover(state.jobs()).await;
    // The instance (the demo one, or the namespace's system) comes up in the background;
    // the API answers meanwhile, and start-up is tried again until it works.
    {
        let (state, stop) = (state.clone(), state.jobs().shutdown_token().clone());
        tokio::spawn(async move {
            let runtime = state.runtime().clone();
            state.startup().run(runtime, stop).await;
        });
    }
    crate::jobs::schedule::spawn(state.jobs());
    crate::jobs::ship::spawn(
        state.jobs().deps(),
        std::time::Duration::from_secs(args.wal_ship_seconds),
    );
    tracing::info!(data_dir = %state.settings().data_dir.display(), "Lifeboat listening on http://{addr}/");
    // Like Jupyter: a one-time link (single use, 15 minutes) is the only credential ever
    // logged; the admin token itself stays in its 0600 file.
    let code = auth.auth.issue_login_code()?;
    tracing::info!("sign in once at http://{addr}/login?code={}", code.expose());
    let stopping = state.jobs().shutdown_token().clone();
    axum::serve(
        listener,
        crate::app::app(state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        crate::shutdown::signal().await;
        // Ends event streams and stops running jobs (recorded as interrupted).
        stopping.cancel();
    })
    .await
    .context("server error")?;
    state
        .jobs()
        .shutdown(std::time::Duration::from_secs(20))
        .await;
    state.runtime().instances().stop_all().await;
    tracing::info!("stopped");
    Ok(())
}

/// The state of a Lifeboat on the local runtime (what `serve` builds; tests too), its
/// instances running Keycloak when `keycloak` says where it is.
pub fn local_state(
    settings: Settings,
    toolbox: Toolbox,
    keycloak: Option<crate::runtime::local::instance::keycloak::KeycloakSetup>,
) -> AppState {
    local_state_with(settings, toolbox, keycloak, 2)
}

/// [`local_state`], taking `app_jobs` apps' parts at once in a backup (`--app-jobs`).
pub fn local_state_with(
    settings: Settings,
    toolbox: Toolbox,
    keycloak: Option<crate::runtime::local::instance::keycloak::KeycloakSetup>,
    app_jobs: usize,
) -> AppState {
    let runtime: std::sync::Arc<dyn Runtime> = std::sync::Arc::new(
        LocalRuntime::with_keycloak(&settings.data_dir, toolbox, keycloak).with_app_jobs(app_jobs),
    );
    AppState::new(settings, runtime)
}

/// The demo's Keycloak when `--demo-keycloak` (the default) and it is installed: its setup
/// and the issuer of its realm `dash`. Without an install the demo runs without it, said
/// once in the log with what to run.
fn demo_keycloak(
    args: &ServeArgs,
    data_dir: &std::path::Path,
    addr: SocketAddr,
) -> Option<(
    crate::runtime::local::instance::keycloak::KeycloakSetup,
    String,
)> {
    use crate::runtime::local::instance::{DEMO_NAMESPACE, Layout, keycloak};
    if !args.demo_keycloak {
        return None;
    }
    let install =
        match crate::keycloak::install::KeycloakInstall::find(args.keycloak_home.as_deref()) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "the demo runs without Keycloak");
                return None;
            }
        };
    let host = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    let lifeboat_origin = format!("http://{}", SocketAddr::new(host, addr.port()));
    let root = Layout::new(data_dir, DEMO_NAMESPACE).root;
    match keycloak::url_for(&root) {
        Ok(url) => Some((
            keycloak::KeycloakSetup {
                install,
                lifeboat_origin,
            },
            format!("{url}/realms/{}", crate::keycloak::realm::REALM),
        )),
        Err(e) => {
            tracing::error!(error = %e, "the demo runs without Keycloak");
            None
        }
    }
}
