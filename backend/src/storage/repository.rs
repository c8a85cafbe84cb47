//! The restic repository in the bucket, as a whole: open it (which proves the passphrase and
//! names the key in use), create it, change its passphrase. The one place that runs
//! repository-level restic commands; the jobs, verify and the configuration's save all
//! come here. Commands and parsers are `restic`'s; this module only runs them.

use tokio_util::sync::CancellationToken;

use crate::command::{ToolCommand, ToolOutput};
use crate::restic::{self, OpenFailure, Repository, keys};
use crate::runtime::{Runtime, RuntimeError};
use crate::secret::Secret;

/// Why a repository command failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// restic could not be run.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The passphrase does not open the repository.
    #[error("the passphrase does not open the repository in the bucket")]
    WrongPassword,
    /// There is no repository.
    #[error("there is no restic repository at that location yet")]
    NoRepository,
    /// Another restic holds a lock.
    #[error("the repository is locked by another restic process")]
    Locked,
    /// Anything else: restic's own last words.
    #[error("restic {what} failed: {tail}")]
    Failed {
        /// Which command.
        what: &'static str,
        /// The end of its output.
        tail: String,
    },
    /// `key list --json` was not understood.
    #[error("cannot read restic's key list: {0}")]
    KeyList(#[from] keys::KeysError),
    /// The command got no answer in time: the bucket stopped answering (restic itself
    /// would wait for minutes).
    #[error("restic {what} got no answer from the bucket within {seconds} s")]
    TimedOut {
        /// Which command.
        what: &'static str,
        /// The limit.
        seconds: u64,
    },
}

/// How long a repository-level command (open, create, change the passphrase) may take:
/// they move a few kilobytes, so longer means the bucket stopped answering. 60 s, or
/// `LIFEBOAT_REPOSITORY_TIMEOUT_SECONDS`.
pub fn time_limit() -> std::time::Duration {
    static LIMIT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let seconds = std::env::var("LIFEBOAT_REPOSITORY_TIMEOUT_SECONDS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(60);
        std::time::Duration::from_secs(seconds)
    })
}

impl RepoError {
    fn of(what: &'static str, failure: OpenFailure) -> Self {
        match failure {
            OpenFailure::WrongPassword => Self::WrongPassword,
            OpenFailure::NoRepository => Self::NoRepository,
            OpenFailure::Locked => Self::Locked,
            OpenFailure::Other(tail) => Self::Failed { what, tail },
        }
    }
}

async fn run(
    rt: &dyn Runtime,
    what: &'static str,
    cmd: ToolCommand,
    cancel: &CancellationToken,
) -> Result<ToolOutput, RepoError> {
    let limit = time_limit();
    let within = cancel.child_token();
    let mut quiet = |_: crate::command::Stream, _: &str| {};
    let run = rt.run(cmd, within.clone(), &mut quiet);
    tokio::pin!(run);
    let out = tokio::select! {
        out = &mut run => out?,
        () = tokio::time::sleep(limit) => {
            // Kills restic (and waits for it) before saying so.
            within.cancel();
            let _ = run.await;
            return Err(RepoError::TimedOut { what, seconds: limit.as_secs() });
        }
    };
    match restic::open_failure(&out) {
        None => Ok(out),
        Some(f) => Err(RepoError::of(what, f)),
    }
}

/// Opens the repository (`key list --json`): `Ok` means it exists and the passphrase opens
/// it, with the fingerprint of the key in use (`key:<id>`, not the key).
pub async fn open(
    rt: &dyn Runtime,
    repo: &Repository,
    cancel: &CancellationToken,
) -> Result<Option<String>, RepoError> {
    let out = run(rt, "key list", keys::list(repo), cancel).await?;
    Ok(keys::current_fingerprint(&keys::parse_list(&out)?))
}

/// Creates the repository (`restic init`).
pub async fn init(
    rt: &dyn Runtime,
    repo: &Repository,
    cancel: &CancellationToken,
) -> Result<(), RepoError> {
    run(rt, "init", keys::init(repo), cancel).await.map(|_| ())
}

/// Replaces the passphrase: adds a key for `new`, then removes the key `old` opened, so every
/// existing snapshot stays readable with `new` only.
pub async fn change_passphrase(
    rt: &dyn Runtime,
    repo: &Repository,
    old: &Secret,
    new: &Secret,
    cancel: &CancellationToken,
) -> Result<(), RepoError> {
    let with_old = repo.with_password(old);
    let out = run(rt, "key list", keys::list(&with_old), cancel).await?;
    let old_id = keys::parse_list(&out)?
        .into_iter()
        .find(|k| k.current)
        .map(|k| k.id)
        .ok_or(RepoError::KeyList(keys::KeysError::Missing))?;
    run(rt, "key add", keys::add(&with_old, new), cancel).await?;
    let with_new = repo.with_password(new);
    run(rt, "key remove", keys::remove(&with_new, &old_id), cancel)
        .await
        .map(|_| ())
}
