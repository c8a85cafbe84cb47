//! restic: building its commands and reading its answers. Pure: no IO here; steps run the
//! commands through a [`crate::runtime::Runtime`].
//!
//! The repository lives at `<bucket prefix>/restic`. Secrets reach restic only through its
//! environment (`RESTIC_PASSWORD`, provider credentials), never its arguments.

pub mod backup;
pub mod repo;

use crate::runtime::{Tool, ToolCommand, ToolOutput};
use crate::secret::Secret;
use crate::storage::ResticRepository;

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

/// A restic command against `repo`: the repository and secrets go in the environment.
pub fn command(
    repo: &ResticRepository,
    args: impl IntoIterator<Item = impl Into<String>>,
) -> ToolCommand {
    let mut cmd = ToolCommand::new(Tool::Restic, args);
    cmd.env
        .push(("RESTIC_REPOSITORY".into(), repo.repository.clone()));
    // Progress and JSON are parsed; colours and a TTY progress bar would only get in the way.
    cmd.env.push(("RESTIC_PROGRESS_FPS".into(), "1".into()));
    cmd.secret_env.extend(repo.env.iter().cloned());
    if !repo.env.iter().any(|(k, _)| k == "RESTIC_PASSWORD") {
        cmd.secret_env
            .push(("RESTIC_PASSWORD".into(), Secret::new(NO_PASSPHRASE_KEY)));
    }
    cmd
}

/// The last lines of a failed run's output, for error messages (stderr first, as restic
/// writes its errors there).
pub fn output_tail(output: &ToolOutput) -> String {
    let lines: Vec<&str> = output
        .stderr_tail
        .iter()
        .chain(
            output
                .stdout_tail
                .iter()
                .filter(|l| !l.starts_with("{\"message_type\":\"status\"")),
        )
        .map(String::as_str)
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(env: Vec<(String, Secret)>) -> ResticRepository {
        ResticRepository {
            repository: "s3:http://127.0.0.1:9/b/restic".into(),
            env,
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
        assert_eq!(cmd.args, vec!["snapshots", "--json"]);
        assert!(cmd.env.contains(&(
            "RESTIC_REPOSITORY".into(),
            "s3:http://127.0.0.1:9/b/restic".into()
        )));
        let names: Vec<&str> = cmd.secret_env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["RESTIC_PASSWORD", "AWS_SECRET_ACCESS_KEY"]);
    }

    #[test]
    fn no_passphrase_uses_the_well_known_key() {
        let cmd = command(&repo(vec![]), ["cat", "config"]);
        assert_eq!(cmd.secret_env.len(), 1);
        assert_eq!(cmd.secret_env[0].1.expose(), NO_PASSPHRASE_KEY);
    }
}
