//! The Kubernetes secret source: a Secret in Lifeboat's namespace, read through the API
//! server with Lifeboat's service account (`get` on `secrets` in that namespace).
//!
//! Admins create and rotate the Secret with `kubectl create secret generic …` (see the
//! README), so this source is read-only: [`SecretSource::write`] returns
//! [`SecretError::ReadOnly`]. Values are taken from `data` (base64 in JSON, decoded by
//! k8s-openapi's `ByteString`) and, should a server ever return it, `stringData`, which wins
//! as it does when the API server merges the two. They only ever exist as [`Secret`]s: no
//! error, log line or `Debug` output carries one, and the k8s-openapi `Secret` (whose
//! `Debug` prints the bytes) never leaves [`KubeSecrets::read`].
//!
//! `backend/tests/secrets_kube.rs` drives it against the real test control plane
//! (`lifeboat_e2e::cluster`), as a service account allowed to `get` Secrets in one namespace.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::{Api, Client};

use super::source::{
    SecretError, SecretSource, SecretValues, is_dns1123_label, is_dns1123_subdomain,
};
use crate::secret::Secret;

/// How long one read may take, retries included, before the API server counts as
/// unavailable (kube retries 429/503/504 with backoff and has no read timeout of its own).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest part of an API server's error message quoted in an error.
const MAX_QUOTED: usize = 300;

/// Secrets in one Kubernetes namespace.
#[derive(Clone)]
pub struct KubeSecrets {
    client: Client,
    namespace: String,
    timeout: Duration,
}

impl std::fmt::Debug for KubeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSecrets")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl KubeSecrets {
    /// The Secrets of `namespace`, read with `client` (e.g. `kube::Client::try_default()`,
    /// which uses the pod's service account in a cluster).
    pub fn new(client: Client, namespace: impl Into<String>) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Replaces [`DEFAULT_TIMEOUT`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The namespace read from.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn unavailable(&self, name: &str, reason: impl Into<String>) -> SecretError {
        SecretError::Unavailable {
            namespace: self.namespace.clone(),
            name: name.to_owned(),
            reason: reason.into(),
        }
    }

    /// Maps a client error to one that says what to do. Only error kinds whose text cannot
    /// hold a value (connection, TLS, auth, the server's `Status` message) are quoted.
    fn map_error(&self, name: &str, err: kube::Error) -> SecretError {
        let ns = &self.namespace;
        match err {
            kube::Error::Api(status) if status.is_not_found() => SecretError::NotFound {
                namespace: ns.clone(),
                name: name.to_owned(),
            },
            kube::Error::Api(status) if status.is_forbidden() => SecretError::Forbidden {
                namespace: ns.clone(),
                name: name.to_owned(),
            },
            kube::Error::Api(status) if status.code == 401 => self.unavailable(
                name,
                "the API server did not accept Lifeboat's credentials (401 Unauthorized); \
                 check the pod's service account token",
            ),
            kube::Error::Api(status) => {
                let reason = if status.reason.is_empty() {
                    "error"
                } else {
                    status.reason.as_str()
                };
                self.unavailable(
                    name,
                    format!(
                        "the API server answered {} {reason}: {}",
                        status.code,
                        quote(&status.message)
                    ),
                )
            }
            kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) => self.unavailable(
                name,
                "the API server's answer is not a Secret (is the cluster URL right?)",
            ),
            e @ (kube::Error::HyperError(_)
            | kube::Error::Service(_)
            | kube::Error::Auth(_)
            | kube::Error::RustlsTls(_)
            | kube::Error::TlsRequired
            | kube::Error::ProxyProtocolUnsupported { .. }
            | kube::Error::ProxyProtocolDisabled { .. }) => {
                self.unavailable(name, format!("cannot reach the API server: {}", chain(&e)))
            }
            _ => self.unavailable(name, "the request to the API server failed"),
        }
    }
}

#[async_trait::async_trait]
impl SecretSource for KubeSecrets {
    fn read_only(&self) -> bool {
        true
    }

    async fn read(&self, name: &str) -> Result<SecretValues, SecretError> {
        if !is_dns1123_subdomain(name) {
            return Err(SecretError::BadName(name.to_owned()));
        }
        if !is_dns1123_label(&self.namespace) {
            return Err(self.unavailable(
                name,
                format!("{:?} is not a valid namespace name", self.namespace),
            ));
        }
        let api: Api<KubeSecret> = Api::namespaced(self.client.clone(), &self.namespace);
        match tokio::time::timeout(self.timeout, api.get(name)).await {
            Err(_) => Err(self.unavailable(
                name,
                format!(
                    "the API server did not answer within {} s",
                    self.timeout.as_secs_f32()
                ),
            )),
            Ok(Err(e)) => Err(self.map_error(name, e)),
            Ok(Ok(secret)) => values_of(secret).map_err(|key| SecretError::NotText {
                namespace: self.namespace.clone(),
                name: name.to_owned(),
                key,
            }),
        }
    }

    async fn write(&self, _name: &str, _values: &SecretValues) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }
}

/// The Secret's values: `data` (already base64-decoded), then `stringData` on top. A value
/// that is not UTF-8 text is refused; the error is the key's name.
fn values_of(secret: KubeSecret) -> Result<SecretValues, String> {
    let mut values = SecretValues::default();
    for (key, bytes) in secret.data.unwrap_or_default() {
        match String::from_utf8(bytes.0) {
            Ok(text) => {
                values.0.insert(key, Secret::new(text));
            }
            Err(_) => return Err(key),
        }
    }
    for (key, text) in secret.string_data.unwrap_or_default() {
        values.0.insert(key, Secret::new(text));
    }
    Ok(values)
}

/// An error and its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// `text`, shortened to [`MAX_QUOTED`] characters.
fn quote(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_QUOTED) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;

    #[test]
    fn data_then_string_data() {
        let secret = KubeSecret {
            data: Some(BTreeMap::from([
                ("AWS_ACCESS_KEY_ID".to_owned(), ByteString(b"AKID".to_vec())),
                ("RESTIC_PASSPHRASE".to_owned(), ByteString(b"old".to_vec())),
            ])),
            string_data: Some(BTreeMap::from([(
                "RESTIC_PASSPHRASE".to_owned(),
                "new".to_owned(),
            )])),
            ..Default::default()
        };
        let v = values_of(secret).unwrap();
        assert_eq!(v.get("AWS_ACCESS_KEY_ID").unwrap().expose(), "AKID");
        assert_eq!(v.passphrase().unwrap().expose(), "new");
        assert_eq!(
            values_of(KubeSecret::default()).unwrap(),
            SecretValues::default()
        );
    }

    #[test]
    fn binary_value_is_refused_by_key_name() {
        let secret = KubeSecret {
            data: Some(BTreeMap::from([(
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                ByteString(vec![0xff, 0xfe, b's']),
            )])),
            ..Default::default()
        };
        assert_eq!(values_of(secret).unwrap_err(), "AWS_SECRET_ACCESS_KEY");
    }

    #[test]
    fn quote_shortens() {
        assert_eq!(quote("  short "), "short");
        let long = "é".repeat(MAX_QUOTED + 5);
        assert_eq!(quote(&long).chars().count(), MAX_QUOTED + 1);
    }
}
