//! restic: building its commands and reading its answers. Pure: no IO here, and the one
//! place that speaks restic; `storage::repository` and the jobs run these commands through
//! a [`crate::runtime::Runtime`].
//!
//! The repository lives at `<bucket prefix>/restic`. Secrets reach restic only through its
//! environment (`RESTIC_PASSWORD`, provider credentials) or files the runtime writes for the
//! run (a GCS key, a new password), never its arguments.
//!
//! restic 0.14 (Debian 12) exits 1 for both "no repository" and "wrong password"; 0.17 and
//! later use 10 and 12. [`open_failure`] understands both.

pub mod backup;
pub mod keys;

use crate::command::{SecretFile, Tool, ToolCommand, ToolOutput};
use crate::secret::Secret;

/// How restic reaches a bucket: the repository string and the environment it needs
/// (credentials, the passphrase). Secrets go through the environment or files, never
/// arguments.
#[derive(Debug, Clone)]
pub struct Repository {
    /// e.g. `/data/bucket/restic`, `s3:http://127.0.0.1:9000/bucket/prefix/restic`,
    /// `azure:container:/prefix/restic`, `gs:bucket:/prefix/restic`.
    pub repository: String,
    /// Variables for the restic process, e.g. `AWS_ACCESS_KEY_ID`, `RESTIC_PASSWORD`.
    pub env: Vec<(String, Secret)>,
    /// Variables naming a file that holds a secret, e.g. `GOOGLE_APPLICATION_CREDENTIALS`.
    pub env_files: Vec<(String, Secret)>,
}

impl Repository {
    /// A repository with no credentials (a local folder).
    pub fn new(repository: impl Into<String>) -> Self {
        Self {
            repository: repository.into(),
            env: Vec::new(),
            env_files: Vec::new(),
        }
    }

    /// Whether a passphrase is configured (else the well-known no-passphrase key opens it).
    pub fn has_passphrase(&self) -> bool {
        self.env.iter().any(|(k, _)| k == "RESTIC_PASSWORD")
    }

    /// The same repository opened with `password`.
    pub fn with_password(&self, password: &Secret) -> Self {
        let mut r = self.clone();
        r.env.retain(|(k, _)| k != "RESTIC_PASSWORD");
        r.env.push(("RESTIC_PASSWORD".to_owned(), password.clone()));
        r
    }
}

/// restic needs a password even for a repository the admin chose not to encrypt with a
/// passphrase. Such repositories use this well-known key: it is *not* a secret, and the UI
/// says plainly that those backups rely on the bucket's at-rest encryption.
pub const NO_PASSPHRASE_KEY: &str = "lifeboat-no-passphrase";

/// What a restic exit code means (restic's documented codes; anything else is a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok,
    /// 3: a backup that could not read some source files.
    Partial,
    /// 10: there is no repository at that location.
    NoRepository,
    /// 11: the repository is locked by another restic.
    Locked,
    /// 12: the password does not open the repository.
    WrongPassword,
    /// 130: interrupted.
    Interrupted,
    /// 1 or any other code: a failure, see its output.
    Failed(i32),
    /// Killed by a signal.
    Killed,
}

impl Exit {
    /// Classifies an exit code.
    pub fn from_code(code: Option<i32>) -> Self {
        match code {
            Some(0) => Self::Ok,
            Some(3) => Self::Partial,
            Some(10) => Self::NoRepository,
            Some(11) => Self::Locked,
            Some(12) => Self::WrongPassword,
            Some(130) => Self::Interrupted,
            Some(c) => Self::Failed(c),
            None => Self::Killed,
        }
    }

    /// Classifies a finished run.
    pub fn of(output: &ToolOutput) -> Self {
        Self::from_code(output.exit_code)
    }
}

/// Why a repository could not be opened (or a command that opens it failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenFailure {
    /// Nothing is there yet.
    NoRepository,
    /// The passphrase does not open it.
    WrongPassword,
    /// Held by another restic.
    Locked,
    /// Anything else, with restic's words.
    Other(String),
}

/// The one classifier of a failed restic run: by exit code, and for restic before 0.17 by
/// its messages. `None` when it succeeded.
pub fn open_failure(output: &ToolOutput) -> Option<OpenFailure> {
    match Exit::of(output) {
        Exit::Ok => return None,
        Exit::NoRepository => return Some(OpenFailure::NoRepository),
        Exit::WrongPassword => return Some(OpenFailure::WrongPassword),
        Exit::Locked => return Some(OpenFailure::Locked),
        _ => {}
    }
    let tail = output_tail(output);
    Some(if tail.contains("wrong password or no key found") {
        OpenFailure::WrongPassword
    } else if tail.contains("Is there a repository at the following location?")
        || tail.contains("unable to open config file")
    {
        OpenFailure::NoRepository
    } else if tail.contains("repository is already locked") {
        OpenFailure::Locked
    } else {
        OpenFailure::Other(tail)
    })
}

/// A restic command against `repo`: the repository and secrets go in the environment.
pub fn command(
    repo: &Repository,
    args: impl IntoIterator<Item = impl Into<String>>,
) -> ToolCommand {
    let mut cmd = ToolCommand::new(Tool::Restic, args);
    cmd.env
        .push(("RESTIC_REPOSITORY".into(), repo.repository.clone()));
    // Progress and JSON are parsed; colours and a TTY progress bar would only get in the way.
    cmd.env.push(("RESTIC_PROGRESS_FPS".into(), "1".into()));
    cmd.secret_env.extend(repo.env.iter().cloned());
    if !repo.has_passphrase() {
        cmd.secret_env
            .push(("RESTIC_PASSWORD".into(), Secret::new(NO_PASSPHRASE_KEY)));
    }
    cmd.secret_file_env.extend(
        repo.env_files
            .iter()
            .map(|(k, v)| (k.clone(), SecretFile { content: v.clone() })),
    );
    cmd
}

/// The last lines of a failed run's output, for error messages (stderr first, as restic
/// writes its errors there; JSON status lines left out).
pub fn output_tail(output: &ToolOutput) -> String {
    output.tail(|l| l.starts_with("{\"message_type\":\"status\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(env: Vec<(String, Secret)>) -> Repository {
        Repository {
            env,
            ..Repository::new("s3:http://127.0.0.1:9/b/restic")
        }
    }

    #[test]
    fn exit_codes_follow_the_documented_contract() {
        assert_eq!(Exit::from_code(Some(0)), Exit::Ok);
        assert_eq!(Exit::from_code(Some(12)), Exit::WrongPassword);
        assert_eq!(Exit::from_code(Some(10)), Exit::NoRepository);
        assert_eq!(Exit::from_code(Some(77)), Exit::Failed(77));
        assert_eq!(Exit::from_code(None), Exit::Killed);
    }

    #[test]
    fn secrets_go_to_the_environment_never_arguments() {
        let cmd = command(
            &repo(vec![
                ("RESTIC_PASSWORD".into(), Secret::new("pw")),
                ("AWS_SECRET_ACCESS_KEY".into(), Secret::new("k")),
            ]),
            ["snapshots", "--json"],
        );
        assert_eq!(cmd.text_args(), vec!["snapshots", "--json"]);
        assert!(cmd.env.contains(&(
            "RESTIC_REPOSITORY".into(),
            "s3:http://127.0.0.1:9/b/restic".into()
        )));
        let names: Vec<&str> = cmd.secret_env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["RESTIC_PASSWORD", "AWS_SECRET_ACCESS_KEY"]);
    }

    #[test]
    fn open_failures_are_read_from_old_and_new_restic() {
        let out = |code, err: &str| ToolOutput {
            exit_code: Some(code),
            stdout_tail: vec![],
            stderr_tail: vec![err.to_owned()],
        };
        let wrong = Some(OpenFailure::WrongPassword);
        assert_eq!(
            open_failure(&out(1, "Fatal: wrong password or no key found")),
            wrong
        );
        assert_eq!(open_failure(&out(12, "")), wrong);
        assert_eq!(open_failure(&out(10, "")), Some(OpenFailure::NoRepository));
        assert_eq!(
            open_failure(&out(1, "Is there a repository at the following location?")),
            Some(OpenFailure::NoRepository)
        );
        assert_eq!(
            open_failure(&out(1, "Fatal: boom")),
            Some(OpenFailure::Other("Fatal: boom".into()))
        );
        assert_eq!(open_failure(&out(0, "")), None);
    }

    #[test]
    fn gcs_keys_go_to_a_file_the_runtime_writes() {
        let mut r = repo(vec![]);
        r.env_files
            .push(("GOOGLE_APPLICATION_CREDENTIALS".into(), Secret::new("{}")));
        let cmd = command(&r, ["snapshots"]);
        assert_eq!(cmd.secret_file_env[0].0, "GOOGLE_APPLICATION_CREDENTIALS");
        assert!(!cmd.env.iter().any(|(k, _)| k.starts_with("GOOGLE")));
    }

    #[test]
    fn no_passphrase_uses_the_well_known_key() {
        let cmd = command(&repo(vec![]), ["cat", "config"]);
        assert_eq!(cmd.secret_env.len(), 1);
        assert_eq!(cmd.secret_env[0].1.expose(), NO_PASSPHRASE_KEY);
    }
}
