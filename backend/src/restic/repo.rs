//! Repository-level restic commands: open (`cat config`), `init`, and the key commands a
//! passphrase change needs. Secrets reach restic only through its environment and a 0600
//! password file (`--new-password-file`), never its arguments.
//!
//! restic 0.14 (Debian 12) exits 1 for both "no repository" and "wrong password"; 0.17 and
//! later use 10 and 12. [`classify`] understands both.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::{Exit, command, output_tail};
use crate::runtime::{Runtime, RuntimeError, ToolOutput};
use crate::secret::Secret;
use crate::storage::ResticRepository;

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
    /// The temporary password file could not be written.
    #[error("cannot write a temporary password file: {0}")]
    PasswordFile(std::io::Error),
    /// `key list --json` was not understood.
    #[error("cannot read restic's key list: {0}")]
    KeyList(String),
}

/// What a finished repository command means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It worked.
    Ok,
    /// Wrong passphrase.
    WrongPassword,
    /// No repository there.
    NoRepository,
    /// Locked by someone else.
    Locked,
    /// Some other failure (see the output).
    Failed,
}

/// Classifies a run by exit code, and for restic before 0.17 by its messages.
pub fn classify(output: &ToolOutput) -> Outcome {
    match Exit::of(output) {
        Exit::Ok => return Outcome::Ok,
        Exit::WrongPassword => return Outcome::WrongPassword,
        Exit::NoRepository => return Outcome::NoRepository,
        Exit::Locked => return Outcome::Locked,
        _ => {}
    }
    let text = output.stderr_tail.join("\n");
    if text.contains("wrong password or no key found") {
        Outcome::WrongPassword
    } else if text.contains("Is there a repository at the following location?")
        || text.contains("unable to open config file")
    {
        Outcome::NoRepository
    } else if text.contains("repository is already locked") {
        Outcome::Locked
    } else {
        Outcome::Failed
    }
}

fn check(what: &'static str, output: &ToolOutput) -> Result<(), RepoError> {
    match classify(output) {
        Outcome::Ok => Ok(()),
        Outcome::WrongPassword => Err(RepoError::WrongPassword),
        Outcome::NoRepository => Err(RepoError::NoRepository),
        Outcome::Locked => Err(RepoError::Locked),
        Outcome::Failed => Err(RepoError::Failed {
            what,
            tail: output_tail(output),
        }),
    }
}

async fn run(
    rt: &dyn Runtime,
    repo: &ResticRepository,
    args: Vec<String>,
    cancel: &CancellationToken,
) -> Result<ToolOutput, RuntimeError> {
    rt.run(command(repo, args), cancel.clone(), &mut |_, _| {})
        .await
}

/// Opens the repository (`restic cat config`). `Ok(())` means it exists and the
/// passphrase opens it.
pub async fn open(
    rt: &dyn Runtime,
    repo: &ResticRepository,
    cancel: &CancellationToken,
) -> Result<(), RepoError> {
    let out = run(rt, repo, vec!["cat".into(), "config".into()], cancel).await?;
    check("cat config", &out)
}

/// Creates the repository (`restic init`).
pub async fn init(
    rt: &dyn Runtime,
    repo: &ResticRepository,
    cancel: &CancellationToken,
) -> Result<(), RepoError> {
    let out = run(rt, repo, vec!["init".into()], cancel).await?;
    check("init", &out)
}

/// One key of the repository, as `restic key list --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct KeyInfo {
    /// The key's (short) id.
    pub id: String,
    /// Whether this is the key the current passphrase opened.
    #[serde(default)]
    pub current: bool,
}

/// The repository's keys.
pub async fn key_list(
    rt: &dyn Runtime,
    repo: &ResticRepository,
    cancel: &CancellationToken,
) -> Result<Vec<KeyInfo>, RepoError> {
    let out = run(
        rt,
        repo,
        vec!["key".into(), "list".into(), "--json".into()],
        cancel,
    )
    .await?;
    check("key list", &out)?;
    let json = out
        .stdout_tail
        .iter()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .ok_or_else(|| RepoError::KeyList("no JSON in the output".into()))?;
    serde_json::from_str(json).map_err(|e| RepoError::KeyList(e.to_string()))
}

/// Adds a key for `new` (the repository's environment holds a passphrase that opens it).
/// The new passphrase goes through a 0600 file in `tmp_dir`, removed afterwards.
pub async fn key_add(
    rt: &dyn Runtime,
    repo: &ResticRepository,
    new: &Secret,
    tmp_dir: &Path,
    cancel: &CancellationToken,
) -> Result<(), RepoError> {
    let file = tmp_dir.join(format!(
        ".new-password-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    crate::config::atomic::ensure_dir(tmp_dir, 0o700).map_err(RepoError::PasswordFile)?;
    crate::config::atomic::write_file(&file, new.expose().as_bytes(), 0o600)
        .map_err(RepoError::PasswordFile)?;
    let result = run(
        rt,
        repo,
        vec![
            "key".into(),
            "add".into(),
            "--new-password-file".into(),
            file.to_string_lossy().into_owned(),
        ],
        cancel,
    )
    .await;
    let _ = std::fs::remove_file(&file);
    check("key add", &result?)
}

/// Removes the key `id` (the environment's passphrase must open another key).
pub async fn key_remove(
    rt: &dyn Runtime,
    repo: &ResticRepository,
    id: &str,
    cancel: &CancellationToken,
) -> Result<(), RepoError> {
    let out = run(
        rt,
        repo,
        vec!["key".into(), "remove".into(), id.to_owned()],
        cancel,
    )
    .await?;
    check("key remove", &out)
}

/// `repo` with `RESTIC_PASSWORD` set to `password`.
pub fn with_password(repo: &ResticRepository, password: &Secret) -> ResticRepository {
    let mut r = repo.clone();
    r.env.retain(|(k, _)| k != "RESTIC_PASSWORD");
    r.env.push(("RESTIC_PASSWORD".to_owned(), password.clone()));
    r
}

/// Replaces the passphrase: adds a key for `new`, then removes the key `old` opened, so every
/// existing snapshot stays readable with `new` only. `old`/`new` of `None` mean the built-in
/// no-passphrase key.
pub async fn change_passphrase(
    rt: &dyn Runtime,
    repo: &ResticRepository,
    old: &Secret,
    new: &Secret,
    tmp_dir: &Path,
    cancel: &CancellationToken,
) -> Result<(), RepoError> {
    let with_old = with_password(repo, old);
    let keys = key_list(rt, &with_old, cancel).await?;
    let old_id = keys
        .iter()
        .find(|k| k.current)
        .map(|k| k.id.clone())
        .ok_or_else(|| RepoError::KeyList("no current key".into()))?;
    key_add(rt, &with_old, new, tmp_dir, cancel).await?;
    key_remove(rt, &with_password(repo, new), &old_id, cancel).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stderr: &str) -> ToolOutput {
        ToolOutput {
            exit_code: Some(code),
            stdout_tail: vec![],
            stderr_tail: vec![stderr.to_owned()],
        }
    }

    #[test]
    fn classifies_old_and_new_restic() {
        assert_eq!(classify(&out(12, "")), Outcome::WrongPassword);
        assert_eq!(classify(&out(10, "")), Outcome::NoRepository);
        assert_eq!(
            classify(&out(1, "Fatal: wrong password or no key found")),
            Outcome::WrongPassword
        );
        assert_eq!(
            classify(&out(1, "Is there a repository at the following location?")),
            Outcome::NoRepository
        );
        assert_eq!(classify(&out(1, "Fatal: boom")), Outcome::Failed);
        assert_eq!(classify(&out(0, "")), Outcome::Ok);
    }
}
