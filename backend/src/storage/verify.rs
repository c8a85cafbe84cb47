//! Verify: does the configured bucket work, and what is in it? Checks, in order:
//! `reachable`, `credentials`, `bucket`, `write_read_delete` (a probe object under
//! `<prefix>/probes/`) and `repository` (restic). Each failure says what failed and what to
//! do. The whole run is bounded by [`VERIFY_BUDGET`], even when the endpoint hangs.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use lifeboat_shared::config::{
    CheckStatus, Provider, RepositoryState, StorageConfig, VerifyCheck, VerifyReport,
};
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use tokio_util::sync::CancellationToken;

use super::repository::{self, RepoError};
use super::{Target, TargetError};
use crate::runtime::Runtime;

/// The longest a verify may take, whatever the endpoint does.
pub const VERIFY_BUDGET: Duration = Duration::from_secs(14);
/// The longest the TCP reachability check waits.
const CONNECT_BUDGET: Duration = Duration::from_secs(3);

const ORDER: [(&str, &str); 5] = [
    ("reachable", "The storage endpoint answers"),
    ("credentials", "The credentials are accepted"),
    ("bucket", "The bucket exists"),
    (
        "write_read_delete",
        "Lifeboat can write, read and delete a test object",
    ),
    ("repository", "The backup repository in the bucket"),
];

/// The checks' titles for a local folder, which has no endpoint, credentials or bucket.
const LOCAL_TITLES: [&str; 5] = [
    "The folder is on this host",
    "A local folder needs no credentials",
    "The folder exists",
    "Lifeboat can write, read and delete a test file",
    "The backup repository in the folder",
];

/// The title of check `idx`.
fn title(idx: usize, local: bool) -> &'static str {
    if local {
        LOCAL_TITLES[idx]
    } else {
        ORDER[idx].1
    }
}

/// What went wrong talking to the store, in categories an admin can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The key was refused.
    Credentials,
    /// The key works but may not do this.
    Permission,
    /// No such bucket or container.
    NoBucket,
    /// Nothing answers at the endpoint.
    Unreachable,
    /// The TLS handshake failed.
    Tls,
    /// The endpoint accepted the connection but never answered.
    Timeout,
    /// Anything else.
    Other,
}

/// Every message of an error and its sources, lowercased, for classification.
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        text.push_str(" | ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text.to_lowercase()
}

/// Classifies an object store error.
pub fn classify(err: &object_store::Error) -> Failure {
    if matches!(err, object_store::Error::Unauthenticated { .. }) {
        return Failure::Credentials;
    }
    let t = chain_text(err);
    let has = |needles: &[&str]| needles.iter().any(|n| t.contains(n));
    if has(&[
        "invalidaccesskeyid",
        "signaturedoesnotmatch",
        "authenticationfailed",
        "invalid_grant",
        "invalidauthenticationinfo",
        "the aws access key id you provided does not exist",
        "server failed to authenticate",
        "unauthenticated",
    ]) {
        Failure::Credentials
    } else if has(&[
        "nosuchbucket",
        "containernotfound",
        "specified bucket does not exist",
        "the specified container does not exist",
    ]) {
        Failure::NoBucket
    } else if has(&["certificate", "tls", "ssl", "handshake"]) {
        Failure::Tls
    } else if has(&["timed out", "timeout", "deadline"]) {
        Failure::Timeout
    } else if has(&[
        "connection refused",
        "dns error",
        "failed to lookup",
        "error trying to connect",
        "connect error",
        "tcp connect",
        "no route to host",
        "network is unreachable",
    ]) {
        Failure::Unreachable
    } else if matches!(err, object_store::Error::PermissionDenied { .. })
        || has(&[
            "accessdenied",
            "access denied",
            "authorizationpermissionmismatch",
            "authorizationfailure",
            "forbidden",
            "403",
        ])
    {
        Failure::Permission
    } else if has(&["401"]) {
        Failure::Credentials
    } else {
        Failure::Other
    }
}

/// The plain-words message and hint for a failure.
pub fn explain(f: Failure, where_: &str) -> (String, String) {
    let (m, h) = match f {
        Failure::Credentials => (
            "the access key was refused by the storage service".to_owned(),
            "check the key id and secret (or account key / SAS token / service account key) stored under the configured secret name, and save them again".to_owned(),
        ),
        Failure::Permission => (
            "the credentials were accepted but are not allowed to do this (permission denied)".to_owned(),
            "grant the key list, read, write and delete on the bucket (e.g. an IAM policy with s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject)".to_owned(),
        ),
        Failure::NoBucket => (
            format!("there is no bucket or container {where_}"),
            "create it in the provider's console, or fix the name in the configuration".to_owned(),
        ),
        Failure::Unreachable => (
            format!("the storage endpoint {where_} cannot be reached"),
            "check the endpoint URL or region, that the service is running, and that this host may connect to it (firewall, proxy, DNS)".to_owned(),
        ),
        Failure::Tls => (
            format!("the TLS (https) connection to {where_} failed"),
            "check that the endpoint URL uses the right scheme (http or https) and that its certificate is valid for that host name".to_owned(),
        ),
        Failure::Timeout => (
            format!("the storage endpoint {where_} did not answer in time"),
            "check the endpoint URL and the network path to it; the service may be overloaded or a proxy may be swallowing requests".to_owned(),
        ),
        Failure::Other => (
            "the storage service returned an unexpected error".to_owned(),
            "the server log has the details".to_owned(),
        ),
    };
    (m, h)
}

/// Where the endpoint is, for the reachability check: `(host, port)`, or `None` for a local
/// folder.
pub fn endpoint_of(config: &StorageConfig) -> Option<(String, u16)> {
    match &config.provider {
        Provider::Local { .. } => None,
        Provider::S3 {
            region, endpoint, ..
        } => {
            if endpoint.is_empty() {
                let region = if region.is_empty() {
                    "us-east-1"
                } else {
                    region
                };
                return Some((format!("s3.{region}.amazonaws.com"), 443));
            }
            let url = url::Url::parse(endpoint).ok()?;
            Some((url.host_str()?.to_owned(), url.port_or_known_default()?))
        }
        Provider::Azure { account, .. } => {
            if account == super::target::AZURITE_ACCOUNT {
                let url = std::env::var("AZURITE_BLOB_STORAGE_URL")
                    .unwrap_or_else(|_| "http://127.0.0.1:10000".to_owned());
                let url = url::Url::parse(&url).ok()?;
                Some((url.host_str()?.to_owned(), url.port_or_known_default()?))
            } else {
                Some((format!("{account}.blob.core.windows.net"), 443))
            }
        }
        Provider::Gcs { .. } => Some(("storage.googleapis.com".to_owned(), 443)),
    }
}

/// A verify in progress: the checks done so far and the one running.
struct Run {
    checks: Vec<VerifyCheck>,
    repository: RepositoryState,
    started: Option<(usize, Instant)>,
    endpoint: String,
    /// A local folder: its checks are titled and worded as a folder's.
    local: bool,
}

impl Run {
    fn begin(&mut self, idx: usize) {
        self.started = Some((idx, Instant::now()));
    }

    fn finish(&mut self, status: CheckStatus, message: impl Into<String>, hint: Option<String>) {
        let Some((idx, at)) = self.started.take() else {
            return;
        };
        self.checks.push(VerifyCheck {
            id: ORDER[idx].0.to_owned(),
            title: title(idx, self.local).to_owned(),
            status,
            message: message.into(),
            hint,
            millis: u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }

    fn fail(&mut self, f: Failure) {
        let (m, h) = explain(f, &self.endpoint);
        self.finish(CheckStatus::Failed, m, Some(h));
    }

    fn ok(&mut self, message: impl Into<String>) {
        self.finish(CheckStatus::Ok, message, None);
    }
}

/// Runs every check against `target` (or reports why it could not be opened).
pub async fn verify(
    config: &StorageConfig,
    target: Result<Target, TargetError>,
    rt: &dyn Runtime,
) -> VerifyReport {
    let endpoint = match (&config.provider, endpoint_of(config)) {
        (Provider::S3 { bucket, .. } | Provider::Gcs { bucket, .. }, Some((h, p))) => {
            format!("{h}:{p} (bucket {bucket})")
        }
        (Provider::Azure { container, .. }, Some((h, p))) => {
            format!("{h}:{p} (container {container})")
        }
        _ => "the local folder".to_owned(),
    };
    let mut run = Run {
        checks: Vec::new(),
        repository: RepositoryState::Unknown,
        started: None,
        endpoint,
        local: matches!(config.provider, Provider::Local { .. }),
    };
    let cancel = CancellationToken::new();
    let outcome = tokio::time::timeout(
        VERIFY_BUDGET,
        run_checks(&mut run, config, target, rt, &cancel),
    )
    .await;
    if outcome.is_err() {
        // Kill a restic still running, then report the check that was cut short.
        cancel.cancel();
        let secs = VERIFY_BUDGET.as_secs();
        let message = format!("{} did not answer within {secs} seconds", run.endpoint);
        run.finish(
            CheckStatus::Failed,
            message,
            Some(explain(Failure::Timeout, "").1),
        );
    }
    // Every check not run is reported as skipped.
    for (idx, (id, _)) in ORDER.iter().enumerate() {
        if !run.checks.iter().any(|c| c.id == *id) {
            run.checks.push(VerifyCheck {
                id: (*id).to_owned(),
                title: title(idx, run.local).to_owned(),
                status: CheckStatus::Skipped,
                message: "not checked because an earlier check failed".to_owned(),
                hint: None,
                millis: 0,
            });
        }
    }
    let ok = run
        .checks
        .iter()
        .all(|c| matches!(c.status, CheckStatus::Ok | CheckStatus::Warning));
    VerifyReport {
        ok,
        checks: run.checks,
        repository: run.repository,
    }
}

async fn run_checks(
    run: &mut Run,
    config: &StorageConfig,
    target: Result<Target, TargetError>,
    rt: &dyn Runtime,
    cancel: &CancellationToken,
) {
    if !check_reachable(run, config).await {
        return;
    }
    let Some(target) = check_bucket(run, target).await else {
        return;
    };
    // 4. write, read and delete a probe.
    run.begin(3);
    if let Err(f) = probe(&target).await {
        run.fail(f);
        return;
    }
    run.ok("a test object was written, read back and deleted");
    check_repository(run, &target, rt, cancel).await;
}

/// 1. reachable: `false` when the endpoint does not answer (the other checks then skip).
async fn check_reachable(run: &mut Run, config: &StorageConfig) -> bool {
    run.begin(0);
    match endpoint_of(config) {
        None => run.ok("the local folder is on this host"),
        Some((host, port)) => {
            let addr = format!("{host}:{port}");
            match tokio::time::timeout(CONNECT_BUDGET, tokio::net::TcpStream::connect(&addr)).await
            {
                Ok(Ok(_)) => {
                    let ms = run
                        .started
                        .map(|(_, at)| at.elapsed().as_millis())
                        .unwrap_or(0);
                    run.ok(format!("{addr} answers (connected in {ms} ms)"));
                }
                Ok(Err(e)) => {
                    let what = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                        format!("nothing answers at {addr} (connection refused)")
                    } else {
                        format!("{addr} cannot be reached ({})", e.kind())
                    };
                    let hint = explain(Failure::Unreachable, "").1;
                    run.finish(CheckStatus::Failed, what, Some(hint));
                    return false;
                }
                Err(_) => {
                    let hint = explain(Failure::Unreachable, "").1;
                    run.finish(
                        CheckStatus::Failed,
                        format!(
                            "{addr} did not accept a connection within {} seconds",
                            CONNECT_BUDGET.as_secs()
                        ),
                        Some(hint),
                    );
                    return false;
                }
            }
        }
    }

    true
}

/// 2 + 3. credentials and bucket: one listing answers both. The opened bucket when both
/// pass.
async fn check_bucket(run: &mut Run, target: Result<Target, TargetError>) -> Option<Target> {
    run.begin(1);
    let target = match target {
        Ok(t) => t,
        Err(TargetError::LocalFolder { path, source }) => {
            // A folder has no credentials: what failed is the "bucket" itself.
            run.ok("a local folder needs no credentials");
            run.begin(2);
            run.finish(
                CheckStatus::Failed,
                format!(
                    "the folder {} cannot be created or used: {source}",
                    path.display()
                ),
                Some("choose a folder on the Lifeboat host that Lifeboat's user can create and write to".to_owned()),
            );
            return None;
        }
        Err(e) => {
            let (message, hint) = match &e {
                TargetError::MissingCredential(key) => (
                    format!("no credentials are stored: the secret has no {key}"),
                    "enter the credentials in the configuration (or create the Kubernetes Secret named in it) and save".to_owned(),
                ),
                other => (
                    format!("the storage client cannot be set up: {other}"),
                    "check the configuration's fields".to_owned(),
                ),
            };
            run.finish(CheckStatus::Failed, message, Some(hint));
            return None;
        }
    };
    let listed = list_some(&target).await;
    match listed {
        Ok(_) if run.local => {
            run.ok("a folder on this host is used with Lifeboat's own permissions");
            run.begin(2);
            run.ok("the folder exists and can be listed");
        }
        Ok(_) => {
            run.ok("the storage service accepted the credentials");
            run.begin(2);
            run.ok("the bucket exists and can be listed");
        }
        Err(e) => {
            let f = classify(&e);
            tracing::info!(error = %e, failure = ?f, "verify: listing the bucket failed");
            match f {
                Failure::NoBucket | Failure::Permission => {
                    run.ok("the storage service accepted the credentials");
                    run.begin(2);
                    run.fail(f);
                }
                Failure::Other => {
                    run.finish(
                        CheckStatus::Failed,
                        "listing the bucket failed with an unexpected error",
                        Some(explain(Failure::Other, "").1),
                    );
                }
                _ => run.fail(f),
            }
            return None;
        }
    }

    Some(target)
}

/// 5. the repository: there, opened by the passphrase, empty, or someone else's data.
async fn check_repository(
    run: &mut Run,
    target: &Target,
    rt: &dyn Runtime,
    cancel: &CancellationToken,
) {
    run.begin(4);
    match repository::open(rt, &target.restic, cancel).await {
        Ok(_) => {
            run.repository = RepositoryState::Ready;
            run.ok("a Lifeboat repository is there and the passphrase opens it");
        }
        Err(RepoError::WrongPassword) => {
            run.repository = RepositoryState::PassphraseMismatch;
            run.finish(
                CheckStatus::Failed,
                "the bucket holds a Lifeboat repository, but the configured passphrase does not open it (it was changed or deleted since those backups were made)",
                Some(format!(
                    "set the passphrase the existing backups were made with {} (or, if none was used, {}); nothing can be restored until it matches",
                    target.passphrase_place.set_hint(),
                    target.passphrase_place.clear_hint()
                )),
            );
        }
        Err(RepoError::NoRepository) => match foreign_objects(target).await {
            Ok(0) => {
                run.repository = RepositoryState::Empty;
                run.ok("no repository yet: the first backup will create it");
            }
            Ok(n) => {
                run.repository = RepositoryState::Foreign;
                run.finish(
                    CheckStatus::Warning,
                    format!("there is no Lifeboat repository, but {n}+ other objects are under the prefix"),
                    Some("choose an empty bucket or a prefix of its own for Lifeboat so its backups do not mix with other data".to_owned()),
                );
            }
            Err(f) => run.fail(f),
        },
        Err(RepoError::Locked) => {
            run.repository = RepositoryState::Ready;
            run.finish(
                CheckStatus::Warning,
                "the repository is locked by another restic (a backup may be running elsewhere)",
                Some("wait for it to finish; stale locks expire after 30 minutes".to_owned()),
            );
        }
        Err(RepoError::Runtime(e)) => {
            run.finish(
                CheckStatus::Failed,
                format!("restic could not be run: {e}"),
                Some("install restic on this host (Debian: apt-get install restic)".to_owned()),
            );
        }
        Err(e) => {
            tracing::info!(error = %e, "verify: restic could not open the repository");
            run.finish(
                CheckStatus::Failed,
                "restic could not open the repository",
                Some("the server log has restic's own words; check the credentials and that the endpoint is reachable from this host".to_owned()),
            );
        }
    }
}

async fn list_some(target: &Target) -> Result<(), object_store::Error> {
    let prefix = (!target.prefix.as_ref().is_empty()).then_some(&target.prefix);
    target.store.list_with_delimiter(prefix).await.map(|_| ())
}

/// Writes, reads back and deletes `<prefix>/probes/<unique>`.
async fn probe(target: &Target) -> Result<(), Failure> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let key = target.key(&format!("probes/verify-{}-{nanos}", std::process::id()));
    let body = Bytes::from(format!("lifeboat verify probe {nanos}"));
    let log = |stage: &str, e: &object_store::Error| {
        tracing::info!(error = %e, stage, "verify: probe failed");
        classify(e)
    };
    target
        .store
        .put(&key, PutPayload::from_bytes(body.clone()))
        .await
        .map_err(|e| log("write", &e))?;
    let read = async { target.store.get(&key).await?.bytes().await }.await;
    let deleted = target.store.delete(&key).await;
    let read = read.map_err(|e| log("read", &e))?;
    deleted.map_err(|e| log("delete", &e))?;
    if read != body {
        return Err(Failure::Other);
    }
    Ok(())
}

/// How many objects (at most a few) are under the prefix that are not Lifeboat's own.
async fn foreign_objects(target: &Target) -> Result<usize, Failure> {
    let prefix = (!target.prefix.as_ref().is_empty()).then_some(&target.prefix);
    let own = ["probes", "catalog", "locks", "restic"];
    let depth = target.prefix.parts().count();
    let objects: Vec<_> = target
        .store
        .list(prefix)
        .try_filter(|m| {
            let first = m.location.parts().nth(depth);
            let ours = first.is_some_and(|p| own.contains(&p.as_ref()));
            futures::future::ready(!ours)
        })
        .take(5)
        .try_collect()
        .await
        .map_err(|e| classify(&e))?;
    Ok(objects.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_for_reachability() {
        let c = |p: Provider| StorageConfig {
            backup_policy: None,
            provider: p,
            secret_name: String::new(),
            schedule: None,
            retention: Default::default(),
        };
        assert_eq!(
            endpoint_of(&c(Provider::S3 {
                region: "eu-west-1".into(),
                bucket: "b".into(),
                prefix: String::new(),
                endpoint: String::new()
            })),
            Some(("s3.eu-west-1.amazonaws.com".into(), 443))
        );
        assert_eq!(
            endpoint_of(&c(Provider::S3 {
                region: String::new(),
                bucket: "b".into(),
                prefix: String::new(),
                endpoint: "http://127.0.0.1:9000".into()
            })),
            Some(("127.0.0.1".into(), 9000))
        );
        assert_eq!(
            endpoint_of(&c(Provider::Gcs {
                bucket: "b".into(),
                prefix: String::new()
            })),
            Some(("storage.googleapis.com".into(), 443))
        );
        assert_eq!(
            endpoint_of(&c(Provider::Local {
                path: String::new()
            })),
            None
        );
    }
}
