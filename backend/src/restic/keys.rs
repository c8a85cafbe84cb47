//! The repository's commands: `cat config` (open), `init`, and the key commands a passphrase
//! change needs, plus the one parser of `key list --json`. Pure: commands and parsers only;
//! `storage::repository` runs them.

use serde::Deserialize;

use super::{Repository, command};
use crate::command::{Arg, SecretFile, ToolCommand, ToolOutput};
use crate::secret::Secret;

/// Why restic's key list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// No JSON array in the output.
    #[error("no key list in restic's output")]
    Missing,
    /// Not the JSON restic prints.
    #[error("unreadable key list: {0}")]
    Json(#[from] serde_json::Error),
}

/// One key of the repository, as `restic key list --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeyInfo {
    /// The key's (short) id.
    pub id: String,
    /// Whether this is the key the current passphrase opened.
    #[serde(default)]
    pub current: bool,
}

/// `init`.
pub fn init(repo: &Repository) -> ToolCommand {
    command(repo, ["init"])
}

/// `key list --json`: opens the repository (proving the passphrase) and names the key in
/// use, so it doubles as the cheapest "open".
pub fn list(repo: &Repository) -> ToolCommand {
    command(repo, ["key", "list", "--json"])
}

/// `key add` of `new` (the repository's environment holds a passphrase that opens it). The
/// new passphrase reaches restic through a file the runtime writes for the run.
pub fn add(repo: &Repository, new: &Secret) -> ToolCommand {
    let mut cmd = command(repo, ["key", "add"]);
    cmd.arg(Arg::SecretFile {
        prefix: "--new-password-file=".into(),
        file: SecretFile {
            content: new.clone(),
        },
    });
    cmd
}

/// `key remove <id>` (the environment's passphrase must open another key).
pub fn remove(repo: &Repository, id: &str) -> ToolCommand {
    command(repo, ["key", "remove", id])
}

/// The keys in a successful `key list --json`'s output.
pub fn parse_list(output: &ToolOutput) -> Result<Vec<KeyInfo>, KeysError> {
    let json = output
        .stdout_tail
        .iter()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .ok_or(KeysError::Missing)?;
    Ok(serde_json::from_str(json)?)
}

/// The key the passphrase opened, as a fingerprint that is not the key (`key:<id>`).
pub fn current_fingerprint(keys: &[KeyInfo]) -> Option<String> {
    keys.iter()
        .find(|k| k.current)
        .map(|k| format!("key:{}", k.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_key_list_and_its_current_key() {
        let out = ToolOutput {
            exit_code: Some(0),
            stdout_tail: vec![
                r#"[{"current":false,"id":"aaaa1111"},{"current":true,"id":"bbbb2222","userName":"x"}]"#
                    .into(),
            ],
            stderr_tail: vec![],
        };
        let keys = parse_list(&out).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(current_fingerprint(&keys).as_deref(), Some("key:bbbb2222"));
        let empty = ToolOutput {
            stdout_tail: vec![],
            ..out
        };
        assert!(matches!(parse_list(&empty), Err(KeysError::Missing)));
    }

    #[test]
    fn a_new_password_goes_through_a_file_never_an_argument() {
        let cmd = add(&Repository::new("/r"), &Secret::new("n3w"));
        assert_eq!(cmd.text_args(), vec!["key", "add"]);
        assert!(matches!(
            &cmd.args[2],
            Arg::SecretFile { prefix, file } if prefix == "--new-password-file=" && file.content.expose() == "n3w"
        ));
    }
}
