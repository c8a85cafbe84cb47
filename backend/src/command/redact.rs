//! Removing secrets from what a tool prints: the values of the command's secret
//! environment, the user and password of any URL (restic and pgBackRest print repository
//! URLs, which may carry them), and the value of `KEY=value` pairs whose key names a
//! secret. The process runner applies it to every line of every tool before anyone sees
//! it (the parsers, the run's log, the tails that error messages quote): one door.

use super::ToolCommand;

/// Characters a run's log keeps per line.
pub const MAX_LINE: usize = 400;

/// What stands in for a removed secret.
pub const REDACTED: &str = "••••";

/// Removes what must not be shown from a tool's lines.
#[derive(Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Redacts the secrets `cmd` is given.
    pub fn for_command(cmd: &ToolCommand) -> Self {
        Self {
            secrets: cmd
                .secret_env
                .iter()
                .map(|(_, s)| s.expose().to_owned())
                .filter(|s| s.len() >= 4)
                .collect(),
        }
    }

    /// `line` with every secret removed, whole: what the process runner hands on (a
    /// tool's JSON lines are parsed, and can be long).
    pub fn clean(&self, line: &str) -> String {
        let mut out = line.to_owned();
        for s in &self.secrets {
            out = out.replace(s.as_str(), REDACTED);
        }
        out = url_credentials(&out);
        secret_assignments(&out)
    }

    /// `line` with every secret removed, cut to [`MAX_LINE`] characters: what a run's
    /// log keeps.
    pub fn line(&self, line: &str) -> String {
        cut(self.clean(line))
    }
}

/// `line` cut to [`MAX_LINE`] characters, as a run's log keeps it (for lines the runner
/// already redacted).
pub fn cut(line: String) -> String {
    if line.chars().count() > MAX_LINE {
        line.chars().take(MAX_LINE).collect::<String>() + "…"
    } else {
        line
    }
}

/// `s3:https://user:pass@host/…` → `s3:https://••••@host/…`.
fn url_credentials(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `RESTIC_PASSWORD=x`, `secret-key=x`, `token: x` → the value removed, for keys that name
/// a secret.
fn secret_assignments(line: &str) -> String {
    const NAMES: [&str; 4] = ["password", "secret", "token", "key"];
    let lower = line.to_ascii_lowercase();
    if !NAMES.iter().any(|n| lower.contains(n)) {
        return line.to_owned();
    }
    let names_secret = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["password", "passphrase", "secret", "token", "key"]
            .iter()
            .any(|n| k.contains(n))
    };
    let mut words: Vec<String> = Vec::new();
    let mut hide_next = false;
    for word in line.split(' ') {
        if hide_next && !word.is_empty() {
            words.push(REDACTED.to_owned());
            hide_next = false;
            continue;
        }
        match word.split_once(['=', ':']) {
            Some((k, "")) if names_secret(k) => {
                hide_next = true;
                words.push(word.to_owned());
            }
            Some((k, _)) if names_secret(k) => {
                let sep = &word[k.len()..=k.len()];
                words.push(format!("{k}{sep}{REDACTED}"));
            }
            _ => words.push(word.to_owned()),
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Tool;
    use crate::secret::Secret;

    #[test]
    fn secrets_never_reach_a_line() {
        let mut cmd = ToolCommand::new(Tool::Restic, ["snapshots"]);
        cmd.secret_env
            .push(("RESTIC_PASSWORD".into(), Secret::new("correct horse")));
        let r = Redactor::for_command(&cmd);
        assert_eq!(
            r.line("Fatal: wrong password correct horse"),
            "Fatal: wrong password ••••"
        );
        assert_eq!(
            r.line("repository s3:https://AKIAX:s3cr3t@moto:5000/b/restic opened"),
            "repository s3:https://••••@moto:5000/b/restic opened"
        );
        assert_eq!(
            r.line("env RESTIC_PASSWORD=abc repo-key: hunter2 plain"),
            "env RESTIC_PASSWORD=•••• repo-key: •••• plain"
        );
        assert_eq!(
            r.line("P01 DETAIL: backup file /pg/base/5/1 (8KB, 1%)"),
            "P01 DETAIL: backup file /pg/base/5/1 (8KB, 1%)"
        );
        assert_eq!(r.line(&"x".repeat(500)).chars().count(), MAX_LINE + 1);
        assert_eq!(
            r.clean(&"x".repeat(500)).len(),
            500,
            "whole, for the parsers"
        );
    }
}
