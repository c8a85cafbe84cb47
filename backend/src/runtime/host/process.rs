//! The process runner: tools run as child processes of `lifeboat` on this host.
//!
//! Each child gets its own process group, so cancelling kills the tool *and* anything it
//! started (pgBackRest forks workers), and whatever a tool leaves in its group when it
//! exits is killed then; `kill_on_drop` covers a dropped future. Every child
//! runs under `setpriv --pdeathsig=KILL` ([`launcher`], the one place a process is built),
//! and as the `postgres` OS user when it is a PostgreSQL tool and Lifeboat is root. A
//! tool's group is also watched by the [`super::guard`], which kills what the tool forked
//! when Lifeboat dies without running any code (SIGKILL).
//!
//! A command's places are mapped to folders by [`Paths`]; its secret files are written
//! 0600 under `<data_dir>/secrets/run/` for the run and removed after it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::paths::Paths;
use super::toolbox::Toolbox;
use crate::command::{Arg, SecretFile, Stream, TAIL_LINES, Tool, ToolCommand, ToolOutput};
use crate::runtime::error::{InstanceError, RuntimeError};

/// Runs tools as local processes.
#[derive(Debug, Clone)]
pub struct Runner {
    toolbox: Toolbox,
    paths: Paths,
    /// `Some((uid, gid))` of the `postgres` user when Lifeboat runs as root.
    postgres_user: Option<(u32, u32)>,
}

/// A `setpriv` command that runs `program` with a parent-death signal (it dies with
/// Lifeboat), as `ids` when given, in its own process group.
pub(in crate::runtime) fn launcher(program: &Path, ids: Option<(u32, u32)>) -> Command {
    let mut command = Command::new("setpriv");
    if let Some((uid, gid)) = ids {
        command
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups");
    }
    command.arg("--pdeathsig=KILL").arg("--").arg(program);
    command.stdin(Stdio::null()).process_group(0);
    command
}

impl Runner {
    /// A runner using the tools found at start, mapping places below `paths`.
    pub fn new(toolbox: Toolbox, paths: Paths) -> Self {
        Self {
            toolbox,
            paths,
            postgres_user: postgres_ids_if_root(),
        }
    }

    /// The `(uid, gid)` PostgreSQL tools run as, when that differs from Lifeboat's own.
    pub fn postgres_user(&self) -> Option<(u32, u32)> {
        self.postgres_user
    }

    /// The tools found at start.
    pub fn toolbox(&self) -> &Toolbox {
        &self.toolbox
    }

    /// Where places are.
    pub fn paths(&self) -> &Paths {
        &self.paths
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

    /// Runs a command that must exit 0; its output's tail is the error when it does not.
    pub async fn run_ok(
        &self,
        cmd: ToolCommand,
        step: &'static str,
    ) -> Result<ToolOutput, InstanceError> {
        let out = self
            .run(cmd, CancellationToken::new(), &mut |_, _| {})
            .await?;
        if out.exit_code == Some(0) {
            Ok(out)
        } else {
            Err(InstanceError::Tool {
                step,
                tail: crate::pgbackrest::output_tail(&out),
            })
        }
    }

    /// Runs `cmd` to completion, calling `on_line` for every line of output.
    pub async fn run(
        &self,
        cmd: ToolCommand,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, RuntimeError> {
        let name = cmd.tool.program();
        let program = self.program(cmd.tool)?;
        let secrets = SecretFiles::new(self.paths.secret_run_dir(), name);
        let mut args = Vec::with_capacity(cmd.args.len());
        for a in &cmd.args {
            args.push(match a {
                Arg::Text(t) => t.clone(),
                Arg::Place { prefix, place } => {
                    format!("{prefix}{}", self.paths.of(place).display())
                }
                Arg::SecretFile { prefix, file } => {
                    format!("{prefix}{}", secrets.write(file)?.display())
                }
            });
        }
        let mut file_env = Vec::with_capacity(cmd.secret_file_env.len());
        for (k, file) in &cmd.secret_file_env {
            file_env.push((k.clone(), secrets.write(file)?));
        }
        let ids = self.postgres_user.filter(|_| cmd.as_postgres_user);
        let mut command = launcher(&program, ids);
        command
            .args(&args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .envs(cmd.secret_env.iter().map(|(k, v)| (k, v.expose())))
            .envs(file_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match &cmd.cwd {
            Some(cwd) => {
                command.current_dir(self.paths.of(cwd));
            }
            // Lifeboat's own working directory may be closed to the postgres user.
            None if ids.is_some() => {
                command.current_dir("/");
            }
            None => {}
        }
        tracing::debug!(tool = name, args = ?cmd.text_args(), "running");
        let child = command
            .spawn()
            .map_err(|source| RuntimeError::Spawn { tool: name, source })?;
        // Released once `follow` has reaped the tool: the group id is no longer ours then.
        let watched = super::guard::watch(child.id());
        let redact = crate::command::redact::Redactor::for_command(&cmd);
        let result = follow(name, child, cancel, &redact, on_line).await;
        drop(watched);
        drop(secrets);
        result
    }
}

/// Reads a child's output to its end (or kills its group when `cancel` fires). Every line
/// is redacted before it goes anywhere (the caller, the tails an error quotes).
async fn follow(
    name: &'static str,
    mut child: tokio::process::Child,
    cancel: CancellationToken,
    redact: &crate::command::redact::Redactor,
    on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
) -> Result<ToolOutput, RuntimeError> {
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
                Some(l) => { let l = redact.clean(&l); on_line(Stream::Stdout, &l); push_tail(&mut out_tail, &l); }
                None => out_open = false,
            },
            line = err_lines.next_line(), if err_open => match line.map_err(io)? {
                Some(l) => { let l = redact.clean(&l); on_line(Stream::Stderr, &l); push_tail(&mut err_tail, &l); }
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
    // What the tool forked and left running (pgBackRest's workers of a failed run, which
    // hold its lock for seconds) ends with it: the next run must not find it. The group
    // outlives its reaped leader only while such a process is in it, so its id is still
    // this run's.
    kill_group(pid);
    Ok(ToolOutput {
        exit_code: status.code(),
        stdout_tail: out_tail.into(),
        stderr_tail: err_tail.into(),
    })
}

/// The secret files of one run: 0600 files in a 0700 folder, removed when dropped.
struct SecretFiles {
    dir: PathBuf,
    tool: &'static str,
    written: std::sync::Mutex<Vec<PathBuf>>,
}

impl SecretFiles {
    fn new(dir: PathBuf, tool: &'static str) -> Self {
        Self {
            dir,
            tool,
            written: std::sync::Mutex::default(),
        }
    }

    fn write(&self, file: &SecretFile) -> Result<PathBuf, RuntimeError> {
        let err = |source| RuntimeError::SecretFile {
            tool: self.tool,
            source,
        };
        crate::atomic::ensure_dir(&self.dir, 0o700).map_err(err)?;
        let path = self.dir.join(format!(
            "{}-{}-{:016x}",
            self.tool,
            std::process::id(),
            crate::operations::clock::random_u64()
        ));
        crate::atomic::write_file(&path, file.content.expose().as_bytes(), 0o600).map_err(err)?;
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(path.clone());
        Ok(path)
    }
}

impl Drop for SecretFiles {
    fn drop(&mut self) {
        let written = self
            .written
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for p in written.drain(..) {
            let _ = std::fs::remove_file(p);
        }
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

/// Kills the child's whole process group (it leads one, see `process_group(0)`): the tool
/// and whatever it forked. A group with nobody left in it is no error.
pub(super) fn kill_group(pid: Option<u32>) {
    let group = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// A toolbox whose "restic" is a shell script, to test process handling without restic.
    fn fake_restic(script: &str) -> (tempfile::TempDir, Runner) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("restic");
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = Runner::new(
            Toolbox::discover_in(&[dir.path().to_path_buf()]),
            Paths::new(dir.path()),
        );
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
        // The secret never leaves the runner: not to the caller, not in the tails.
        assert_eq!(out.stdout_tail, vec!["out ••••", "arg first"]);
        assert!(seen.contains(&(Stream::Stdout, "out ••••".to_owned())));
        assert_eq!(out.stderr_tail, vec!["err1"]);
        assert!(seen.contains(&(Stream::Stderr, "err1".to_owned())));
    }

    /// A real pgBackRest restore, its repository path given as a secret: pgBackRest prints
    /// its options, the path among them, and the runner removes it before anyone sees it.
    #[tokio::test]
    async fn a_secret_in_a_pgbackrest_restores_output_is_redacted_before_anyone_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runner::new(Toolbox::discover(), Paths::new(dir.path()));
        let pg = dir.path().join("pg");
        let mut cmd = ToolCommand::new(
            Tool::Pgbackrest,
            [
                "--stanza=lifeboat".to_owned(),
                format!("--pg1-path={}", pg.display()),
                "--log-level-console=detail".to_owned(),
                "restore".to_owned(),
            ],
        );
        let secret = "/tmp/lifeboat-redaction-test/hunter2-in-a-path";
        cmd.secret_env.push((
            "PGBACKREST_REPO1_PATH".into(),
            crate::secret::Secret::new(secret),
        ));
        let mut seen = Vec::new();
        let out = rt
            .run(cmd, CancellationToken::new(), &mut |_, l| {
                seen.push(l.to_owned())
            })
            .await
            .expect("pgBackRest runs (make test installs it)");
        assert_ne!(out.exit_code, Some(0), "there is no repository: {seen:?}");
        let begin = seen
            .iter()
            .find(|l| l.contains("restore command begin"))
            .unwrap_or_else(|| panic!("pgBackRest printed its options: {seen:?}"));
        assert!(begin.contains("--repo1-path=••••"), "{begin}");
        let everything = [seen, out.stdout_tail, out.stderr_tail].concat().join("\n");
        assert!(!everything.contains("hunter2"), "{everything}");
    }

    #[tokio::test]
    async fn secret_files_are_private_to_the_run_and_removed_after_it() {
        let (d, rt) =
            fake_restic(r#"stat -c %a "$KEY_FILE"; cat "$KEY_FILE"; echo; cat "${1#--pw=}""#);
        let mut cmd = ToolCommand::new(Tool::Restic, Vec::<String>::new());
        let file = |s: &str| SecretFile {
            content: crate::secret::Secret::new(s),
        };
        cmd.arg(Arg::SecretFile {
            prefix: "--pw=".into(),
            file: file("pw-1"),
        });
        cmd.secret_file_env
            .push(("KEY_FILE".into(), file("{\"k\":1}")));
        let out = rt
            .run(cmd, CancellationToken::new(), &mut |_, _| {})
            .await
            .unwrap();
        assert_eq!(out.stdout_tail, vec!["600", "{\"k\":1}", "pw-1"]);
        let left: Vec<_> = std::fs::read_dir(d.path().join("secrets/run"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "secret files left behind: {left:?}");
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
        let rt = Runner::new(
            Toolbox::discover_in(&[]),
            Paths::new(Path::new("/nonexistent")),
        );
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
