//! The local runtime: tools run as child processes of `lifeboat` on this host.
//!
//! Each child gets its own process group, so cancelling kills the tool *and* anything it
//! started (pgBackRest forks workers); `kill_on_drop` covers a dropped future. When Lifeboat
//! runs as root, PostgreSQL tools run as the `postgres` OS user through `setpriv`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::{Runtime, RuntimeError, Stream, TAIL_LINES, Tool, ToolCommand, ToolOutput};
use crate::tools::Toolbox;

/// Runs tools as local processes.
#[derive(Debug, Clone)]
pub struct LocalRuntime {
    toolbox: Toolbox,
    /// `Some((uid, gid))` of the `postgres` user when Lifeboat runs as root.
    postgres_user: Option<(u32, u32)>,
}

impl LocalRuntime {
    /// A runtime using the tools found at start.
    pub fn new(toolbox: Toolbox) -> Self {
        Self {
            toolbox,
            postgres_user: postgres_ids_if_root(),
        }
    }

    /// The `(uid, gid)` PostgreSQL tools run as, when that differs from Lifeboat's own.
    pub fn postgres_user(&self) -> Option<(u32, u32)> {
        self.postgres_user
    }

    fn program(&self, tool: Tool) -> Result<PathBuf, RuntimeError> {
        let name = tool.program();
        if let Some(p) = self.toolbox.path(name) {
            return Ok(p.to_path_buf());
        }
        // psql is a client tool the toolbox does not require; look it up beside pg_ctl.
        // (`pg_ctl` may be a symlink into PostgreSQL's bin folder: look beside its target.)
        if let Some(pg_ctl) = self.toolbox.path("pg_ctl") {
            let real = std::fs::canonicalize(pg_ctl).unwrap_or_else(|_| pg_ctl.to_path_buf());
            for dir in [pg_ctl.parent(), real.parent()].into_iter().flatten() {
                let p = dir.join(name);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        Err(RuntimeError::Missing(name))
    }
}

/// The `postgres` user's ids, if we are root (PostgreSQL refuses to run as root).
fn postgres_ids_if_root() -> Option<(u32, u32)> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| {
                    v.split_whitespace()
                        .next()
                        .and_then(|n| n.parse::<u32>().ok())
                })
        });
    if uid != Some(0) {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&"postgres") && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}

fn push_tail(tail: &mut VecDeque<String>, line: &str) {
    if tail.len() == TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line.to_owned());
}

#[async_trait::async_trait]
impl Runtime for LocalRuntime {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn run(
        &self,
        cmd: ToolCommand,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, RuntimeError> {
        let name = cmd.tool.program();
        let program = self.program(cmd.tool)?;
        // Every tool runs under `setpriv --pdeathsig=KILL`: if Lifeboat itself is killed
        // (SIGKILL, OOM), the tool dies with it instead of running on as an orphan.
        let mut command = Command::new("setpriv");
        if let (true, Some((uid, gid))) = (cmd.as_postgres_user, self.postgres_user) {
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups");
        }
        command.arg("--pdeathsig=KILL").arg("--").arg(&program);
        command
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .envs(cmd.secret_env.iter().map(|(k, v)| (k, v.expose())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &cmd.cwd {
            command.current_dir(cwd);
        }
        tracing::debug!(tool = name, args = ?cmd.args, "running");
        let mut child = command
            .spawn()
            .map_err(|source| RuntimeError::Spawn { tool: name, source })?;
        let pid = child.id();
        let io = |source| RuntimeError::Io { tool: name, source };
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io(std::io::Error::other("no stdout")))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io(std::io::Error::other("no stderr")))?;
        let mut out_lines = BufReader::new(stdout).lines();
        let mut err_lines = BufReader::new(stderr).lines();
        let (mut out_tail, mut err_tail) = (VecDeque::new(), VecDeque::new());
        let (mut out_open, mut err_open) = (true, true);

        while out_open || err_open {
            tokio::select! {
                () = cancel.cancelled() => {
                    kill_group(pid);
                    let _ = child.wait().await;
                    return Err(RuntimeError::Cancelled(name));
                }
                line = out_lines.next_line(), if out_open => match line.map_err(io)? {
                    Some(l) => { on_line(Stream::Stdout, &l); push_tail(&mut out_tail, &l); }
                    None => out_open = false,
                },
                line = err_lines.next_line(), if err_open => match line.map_err(io)? {
                    Some(l) => { on_line(Stream::Stderr, &l); push_tail(&mut err_tail, &l); }
                    None => err_open = false,
                },
            }
        }
        let status = tokio::select! {
            () = cancel.cancelled() => {
                kill_group(pid);
                let _ = child.wait().await;
                return Err(RuntimeError::Cancelled(name));
            }
            status = child.wait() => status.map_err(io)?,
        };
        Ok(ToolOutput {
            exit_code: status.code(),
            stdout_tail: out_tail.into(),
            stderr_tail: err_tail.into(),
        })
    }
}

/// Kills the child's whole process group (it leads one, see `process_group(0)`).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        // `kill -KILL -- -PGID`: no unsafe code, and the group includes forked workers.
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{pid}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// A toolbox whose "restic" is a shell script, to test process handling without restic.
    fn fake_restic(script: &str) -> (tempfile::TempDir, LocalRuntime) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("restic");
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = LocalRuntime::new(Toolbox::discover_in(&[dir.path().to_path_buf()]));
        (dir, rt)
    }

    #[tokio::test]
    async fn streams_lines_and_keeps_tails_and_exit_code() {
        let (_d, rt) = fake_restic(r#"echo "out $SECRET_X"; echo err1 >&2; echo "arg $1"; exit 3"#);
        let mut cmd = ToolCommand::new(Tool::Restic, ["first"]);
        cmd.secret_env
            .push(("SECRET_X".into(), crate::secret::Secret::new("s3cr3t")));
        let mut seen = Vec::new();
        let out = rt
            .run(cmd, CancellationToken::new(), &mut |s, l| {
                seen.push((s, l.to_owned()))
            })
            .await
            .unwrap();
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.stdout_tail, vec!["out s3cr3t", "arg first"]);
        assert_eq!(out.stderr_tail, vec!["err1"]);
        assert!(seen.contains(&(Stream::Stderr, "err1".to_owned())));
    }

    #[tokio::test]
    async fn cancel_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-alive");
        // The tool forks a grandchild that would write a marker after 2 s.
        let (_d, rt) = fake_restic(&format!(
            "(sleep 2; touch {}) & echo started; wait",
            marker.display()
        ));
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let started = Instant::now();
        let res = rt
            .run(
                ToolCommand::new(Tool::Restic, Vec::<String>::new()),
                cancel,
                &mut |_, l| {
                    if l == "started" {
                        c2.cancel();
                    }
                },
            )
            .await;
        assert!(
            matches!(res, Err(RuntimeError::Cancelled("restic"))),
            "{res:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "the grandchild survived cancellation");
    }

    #[tokio::test]
    async fn missing_tool_is_named() {
        let rt = LocalRuntime::new(Toolbox::discover_in(&[]));
        let res = rt
            .run(
                ToolCommand::new(Tool::Pgbackrest, ["info"]),
                CancellationToken::new(),
                &mut |_, _| {},
            )
            .await;
        assert!(matches!(res, Err(RuntimeError::Missing("pgbackrest"))));
    }
}
