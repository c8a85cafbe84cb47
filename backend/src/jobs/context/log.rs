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

use crate::command::Tool;
pub use crate::command::redact::{REDACTED, Redactor};

/// Lines kept per operation (the newest; older ones are counted).
pub const MAX_LINES: usize = 2_000;
/// Operations whose log is kept.
const MAX_RUNS: usize = 20;

#[derive(Debug, Default)]
struct Run {
    id: String,
    lines: VecDeque<String>,
    dropped: usize,
}

static RUNS: LazyLock<Mutex<VecDeque<Run>>> = LazyLock::new(|| Mutex::new(VecDeque::new()));

/// The name a person knows a tool by.
pub fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Restic => "restic",
        Tool::Pgbackrest => "pgbackrest",
        Tool::Psql => "psql",
        Tool::PgCtl => "pg_ctl",
        Tool::Initdb => "initdb",
        Tool::PgDump => "pg_dump",
        Tool::PgRestore => "pg_restore",
        Tool::RedisCli => "redis-cli",
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
