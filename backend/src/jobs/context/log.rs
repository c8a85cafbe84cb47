//! A run's log: what the tools printed for one operation, as it ran, secrets removed.
//!
//! Kept in memory (for the operation being watched and the most recent finished ones,
//! until Lifeboat restarts), capped so that a tool that prints a line per file cannot grow
//! it without bound. Every line is redacted before it is kept: the values of the command's
//! secret environment, the user and password of any URL (restic and pgBackRest print
//! repository URLs, which may carry them), and the value of `KEY=value` pairs whose key
//! names a secret.

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex, PoisonError};

use crate::command::{Tool, ToolCommand};

/// Lines kept per operation (the newest; older ones are counted).
pub const MAX_LINES: usize = 2_000;
/// Characters kept per line.
pub const MAX_LINE: usize = 400;
/// Operations whose log is kept.
const MAX_RUNS: usize = 20;

/// What stands in for a removed secret.
pub const REDACTED: &str = "••••";

#[derive(Debug, Default)]
struct Run {
    id: String,
    lines: VecDeque<String>,
    dropped: usize,
}

static RUNS: LazyLock<Mutex<VecDeque<Run>>> = LazyLock::new(|| Mutex::new(VecDeque::new()));

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

    /// `line` with every secret removed, cut to [`MAX_LINE`] characters.
    pub fn line(&self, line: &str) -> String {
        let mut out = line.to_owned();
        for s in &self.secrets {
            out = out.replace(s.as_str(), REDACTED);
        }
        out = url_credentials(&out);
        out = secret_assignments(&out);
        if out.chars().count() > MAX_LINE {
            out = out.chars().take(MAX_LINE).collect::<String>() + "…";
        }
        out
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

/// The name a person knows a tool by.
pub fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Restic => "restic",
        Tool::Pgbackrest => "pgbackrest",
        Tool::Psql => "psql",
        Tool::PgCtl => "pg_ctl",
        Tool::Initdb => "initdb",
    }
}

/// Whether a line says nothing a person reads (restic's once-a-second JSON status).
pub fn is_noise(line: &str) -> bool {
    line.starts_with("{\"message_type\":\"status\"")
}

/// Appends an already redacted line to operation `id`'s log.
pub fn append(id: &str, line: String) {
    let mut runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    let at = match runs.iter().position(|r| r.id == id) {
        Some(i) => i,
        None => {
            if runs.len() >= MAX_RUNS {
                runs.pop_front();
            }
            runs.push_back(Run {
                id: id.to_owned(),
                ..Run::default()
            });
            runs.len() - 1
        }
    };
    let run = &mut runs[at];
    if run.lines.len() >= MAX_LINES {
        run.lines.pop_front();
        run.dropped += 1;
    }
    run.lines.push_back(line);
}

/// Operation `id`'s log as text (`None` when none is kept).
pub fn text(id: &str) -> Option<String> {
    let runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    let run = runs.iter().find(|r| r.id == id)?;
    let mut out = String::new();
    if run.dropped > 0 {
        out.push_str(&format!("… {} earlier lines not kept\n", run.dropped));
    }
    for l in &run.lines {
        out.push_str(l);
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn secrets_never_reach_the_log() {
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
    }

    #[test]
    fn the_log_keeps_the_newest_lines() {
        for i in 0..MAX_LINES + 5 {
            append("op-log-test", format!("line {i}"));
        }
        let t = text("op-log-test").unwrap();
        assert!(
            t.starts_with("… 5 earlier lines not kept\nline 5\n"),
            "{}",
            &t[..60]
        );
        assert!(t.ends_with(&format!("line {}\n", MAX_LINES + 4)));
        assert_eq!(text("op-none"), None);
    }
}
