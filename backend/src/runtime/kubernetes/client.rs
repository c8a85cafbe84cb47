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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::path::Path;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    use super::*;

    /// `openssl <args>` in `dir`.
    fn openssl(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    }

    /// A CA and a certificate it signed for 127.0.0.1: (CA, certificate, key), DER.
    fn certificates(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            dir,
            &[
                &["req", "-x509"][..],
                &ec,
                &["-subj", "/CN=test CA", "-days", "1"],
                &["-keyout", "ca.key", "-out", "ca.pem"],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                &["req"][..],
                &ec,
                &[
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    "tls.key",
                    "-out",
                    "tls.csr",
                ],
            ]
            .concat(),
        );
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("write");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "tls.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "san.ext",
                "-outform",
                "DER",
                "-out",
                "tls.der",
            ],
        );
        openssl(
            dir,
            &["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"],
        );
        openssl(
            dir,
            &[
                "pkey", "-in", "tls.key", "-outform", "DER", "-out", "key.der",
            ],
        );
        let read = |f: &str| std::fs::read(dir.join(f)).expect("read");
        (read("ca.der"), read("tls.der"), read("key.der"))
    }

    /// Serves `/version` over TLS with ALPN h2 and http/1.1, counting connections and
    /// recording each request's HTTP version.
    async fn serve(
        cert: Vec<u8>,
        key: Vec<u8>,
        connections: Arc<AtomicUsize>,
        versions: Arc<std::sync::Mutex<Vec<http::Version>>>,
    ) -> std::net::SocketAddr {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert)],
                PrivateKeyDer::try_from(key).expect("a key"),
            )
            .expect("a server configuration");
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let (acceptor, versions) = (acceptor.clone(), versions.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service =
                        hyper::service::service_fn(move |req: http::Request<Incoming>| {
                            versions.lock().expect("lock").push(req.version());
                            async move {
                                // Long enough for the client's requests to overlap.
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                let body = r#"{"major":"1","minor":"36","gitVersion":"v1.36.3",
                                "gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"",
                                "compiler":"","platform":""}"#;
                                Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(
                                    bytes::Bytes::from(body),
                                )))
                            }
                        });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_http2_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca, cert, key) = certificates(dir.path());
        let connections = Arc::new(AtomicUsize::new(0));
        let versions = Arc::new(std::sync::Mutex::new(Vec::new()));
        let addr = serve(cert, key, connections.clone(), versions.clone()).await;
        let mut config = kube::Config::new(format!("https://{addr}").parse().expect("a URL"));
        config.root_cert = Some(vec![ca]);
        let client = build(config).expect("a client");
        // The first request finds out that the server speaks HTTP/2 (ALPN); from then on,
        // as in Lifeboat's long-lived client, requests in flight together share it.
        let first = client.apiserver_version().await.expect("an answer");
        assert_eq!(first.git_version, "v1.36.3");
        let asked = futures::future::join_all((0..4).map(|_| client.apiserver_version())).await;
        for answer in asked {
            assert_eq!(answer.expect("an answer").git_version, "v1.36.3");
        }
        assert_eq!(
            *versions.lock().expect("lock"),
            vec![http::Version::HTTP_2; 5],
            "every request over HTTP/2"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 1, "over one connection");
    }
}
