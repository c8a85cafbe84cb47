//! The client Lifeboat talks to the API server with: kube's own layers (base URI, retries,
//! authentication with token refresh, extra headers) over a connection that speaks HTTP/2
//! when the API server offers it, as client-go does.
//!
//! kube's default client speaks HTTP/1.1 only, so every request made while others are in
//! flight (the objects of one kind applied together, a watch beside a log stream) opens a
//! TLS connection of its own, and a watch's connection is closed when the watch is dropped
//! mid-stream. Over HTTP/2 they are streams of one connection. Lifeboat makes no websocket
//! calls (no `exec`, no `attach`), the one kind of call HTTP/2 cannot carry. Behind a proxy
//! the client is kube's own.

use std::time::Duration;

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder, ServiceExt};

/// An HTTP/2 connection with no answer to a ping sent after this much silence is dropped
/// (client-go's read-idle health check).
const PING_AFTER: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered.
const PING_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// kube refused the configuration (its certificates, its credentials).
    #[error("{0}")]
    Config(#[from] kube::Error),
    /// The configuration's `tls-server-name` is not a host name.
    #[error("tls-server-name {0:?} is not a valid server name")]
    ServerName(String),
}

/// A client for `config`.
pub fn build(config: kube::Config) -> Result<kube::Client, ClientError> {
    if config.proxy_url.is_some() {
        return Ok(kube::Client::try_from(config)?);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    http.set_nodelay(true);
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http();
    let tls = match &config.tls_server_name {
        Some(name) => {
            let server = name
                .clone()
                .try_into()
                .map_err(|_| ClientError::ServerName(name.clone()))?;
            tls.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(server))
        }
        None => tls,
    };
    let connector = tls.enable_http1().enable_http2().wrap_connector(http);
    let hyper = HyperClient::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .http2_keep_alive_interval(PING_AFTER)
        .http2_keep_alive_timeout(PING_TIMEOUT)
        .build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .service(hyper.map_err(BoxError::from));
    Ok(kube::Client::new(service, config.default_namespace))
}
