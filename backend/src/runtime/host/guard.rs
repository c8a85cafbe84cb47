//! The process guard: every process a tool started dies with Lifeboat, even when Lifeboat
//! is killed with SIGKILL and can run no code of its own.
//!
//! A tool runs in its own process group under `setpriv --pdeathsig=KILL` (see
//! [`super::process::launcher`]), but a parent-death signal reaches only the tool itself:
//! what the tool forked (pgBackRest's `--process=N` workers) is reparented to init and
//! lives on, holding the stanza's lock. So `lifeboat serve` starts one helper,
//! `lifeboat guard`, whose standard input is a pipe only Lifeboat holds open. Lifeboat
//! writes `+<pgid>` when it starts a tool's group and `-<pgid>` once the group's leader has
//! been reaped; when the pipe reaches its end (Lifeboat exited, however it exited) the
//! guard kills every group still listed with SIGKILL and exits.
//!
//! The guard runs in a process group of its own, so a signal to Lifeboat's group (Ctrl-C
//! in a terminal) does not reach it before Lifeboat has stopped its tools itself.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The hidden subcommand that runs the guard.
pub const SUBCOMMAND: &str = "guard";

/// Why the guard could not be started.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The pipe or the helper process could not be made.
    #[error("cannot start the process guard ({what}): {source}")]
    Start {
        /// What failed.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// The guard of this process, once started.
static GUARD: OnceLock<Guard> = OnceLock::new();

/// This process's end of the guard's pipe.
#[derive(Debug)]
struct Guard {
    pipe: Mutex<std::io::PipeWriter>,
    /// Kept so the helper is not reaped as a zombie early; never waited for.
    _helper: std::process::Child,
}

/// Starts the guard (`exe guard`) for this process; a second call does nothing.
pub fn start(exe: &Path) -> Result<(), GuardError> {
    if GUARD.get().is_some() {
        return Ok(());
    }
    let err = |what| move |source| GuardError::Start { what, source };
    // Both ends are close-on-exec: no tool inherits the writing end (which would keep the
    // pipe open after Lifeboat died), and only the helper gets the reading end, as stdin.
    let (reader, writer) = std::io::pipe().map_err(err("pipe"))?;
    let helper = std::os::unix::process::CommandExt::process_group(
        Command::new(exe)
            .arg(SUBCOMMAND)
            .stdin(Stdio::from(reader))
            .stdout(Stdio::null()),
        0,
    )
    .spawn()
    .map_err(err("spawn"))?;
    let _ = GUARD.set(Guard {
        pipe: Mutex::new(writer),
        _helper: helper,
    });
    Ok(())
}

/// A process group the guard kills if Lifeboat dies first; released when dropped.
#[derive(Debug)]
pub struct Watched {
    pgid: Option<u32>,
}

/// Tells the guard about the process group led by `pid` (a child started with
/// `process_group(0)`). Drop the result only once the leader has been reaped, so the guard
/// never kills a group id the system has handed to someone else. Without a guard (tests
/// that build a runtime in process) this does nothing.
pub fn watch(pid: Option<u32>) -> Watched {
    let pgid = pid.filter(|_| send('+', pid));
    Watched { pgid }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            send('-', Some(pgid));
        }
    }
}

/// Writes one line to the guard; `false` when there is no guard or it is gone.
fn send(sign: char, pid: Option<u32>) -> bool {
    let (Some(guard), Some(pid)) = (GUARD.get(), pid) else {
        return false;
    };
    let mut pipe = guard.pipe.lock().unwrap_or_else(PoisonError::into_inner);
    // One short line per write: below PIPE_BUF, so never interleaved.
    match pipe.write_all(format!("{sign}{pid}\n").as_bytes()) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "the process guard is gone; a tool's workers may outlive Lifeboat");
            false
        }
    }
}

/// The guard itself: follows `input` to its end, then kills every group still listed.
/// Returns the groups it killed.
pub fn run(input: impl BufRead) -> Vec<u32> {
    let groups = follow(input);
    if !groups.is_empty() {
        // `kill -KILL -- -PGID …`: one signal per group, no unsafe code.
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .args(groups.iter().map(|g| format!("-{g}")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    groups.into_iter().collect()
}

/// The groups listed when `input` ends (or fails).
fn follow(input: impl BufRead) -> BTreeSet<u32> {
    let mut groups = BTreeSet::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        let line = line.trim();
        let (sign, pgid) = line.split_at(line.len().min(1));
        // Group 0 or 1 would be this session or init: never listed, never killed.
        match (sign, pgid.parse::<u32>()) {
            ("+", Ok(g)) if g > 1 => {
                groups.insert(g);
            }
            ("-", Ok(g)) => {
                groups.remove(&g);
            }
            _ => {}
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_what_was_started_and_not_released() {
        let input = "+100\n+200\n-100\n+300\n+1\n+0\nnonsense\n-\n+x\n+400";
        assert_eq!(
            follow(input.as_bytes()).into_iter().collect::<Vec<_>>(),
            vec![200, 300, 400]
        );
    }

    #[test]
    fn nothing_listed_nothing_killed() {
        assert!(run("+5\n-5\n".as_bytes()).is_empty());
    }
}
