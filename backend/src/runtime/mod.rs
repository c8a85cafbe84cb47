//! Where the tools run. Every step runs restic, pgBackRest and PostgreSQL's tools through a
//! [`Runtime`]; nothing above this module may assume they are local processes.
//!
//! - `local` (the embedded default): child processes on this host, killed with the operation.
//! - `kubernetes` (later): Jobs or exec in the instance's namespace.
//!
//! Paths in a [`ToolCommand`] are paths *as the tool sees them*; each runtime decides what
//! they map to (a host folder, a volume in a Job's pod).

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::secret::Secret;

pub mod local;

pub use local::LocalRuntime;

/// The tools a runtime can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// restic.
    Restic,
    /// pgBackRest.
    Pgbackrest,
    /// `psql` (checks and seeding).
    Psql,
    /// `pg_ctl` (start and stop the system Postgres).
    PgCtl,
    /// `initdb` (create a cluster).
    Initdb,
}

impl Tool {
    /// The executable's name.
    pub fn program(self) -> &'static str {
        match self {
            Self::Restic => "restic",
            Self::Pgbackrest => "pgbackrest",
            Self::Psql => "psql",
            Self::PgCtl => "pg_ctl",
            Self::Initdb => "initdb",
        }
    }
}

/// One invocation of a tool.
#[derive(Debug, Clone)]
pub struct ToolCommand {
    /// Which tool.
    pub tool: Tool,
    /// Its arguments. Never put a secret here: arguments show in process listings and logs.
    pub args: Vec<String>,
    /// Environment variables that are not secret.
    pub env: Vec<(String, String)>,
    /// Environment variables that are (credentials, passphrases).
    pub secret_env: Vec<(String, Secret)>,
    /// Working directory, if it matters.
    pub cwd: Option<PathBuf>,
    /// Run as the PostgreSQL service account (the `postgres` OS user when Lifeboat is root).
    pub as_postgres_user: bool,
}

impl ToolCommand {
    /// A command with arguments and nothing else.
    pub fn new(tool: Tool, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            tool,
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            secret_env: Vec::new(),
            cwd: None,
            as_postgres_user: false,
        }
    }
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How a tool ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// The exit code (`None` if killed by a signal).
    pub exit_code: Option<i32>,
    /// The last lines of standard output (at most [`TAIL_LINES`]).
    pub stdout_tail: Vec<String>,
    /// The last lines of standard error (at most [`TAIL_LINES`]).
    pub stderr_tail: Vec<String>,
}

/// How many trailing lines of each stream a [`ToolOutput`] keeps for error messages.
pub const TAIL_LINES: usize = 20;

/// Why a tool could not be run to completion (a non-zero exit is *not* an error here: the
/// caller decides what each exit code means).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The tool is not installed where the runtime looks.
    #[error("{0} is not installed")]
    Missing(&'static str),
    /// It could not be started.
    #[error("cannot start {tool}: {source}")]
    Spawn {
        /// Which tool.
        tool: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// Reading its output or waiting for it failed.
    #[error("lost track of {tool}: {source}")]
    Io {
        /// Which tool.
        tool: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The operation was cancelled (or Lifeboat is stopping); the tool was killed.
    #[error("{0} was stopped because the operation was cancelled")]
    Cancelled(&'static str),
}

/// Runs tools. Implementations kill what they started when `cancel` fires and never leave a
/// tool running after `run` returns.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + std::fmt::Debug {
    /// `local` or `kubernetes`.
    fn name(&self) -> &'static str;

    /// Runs `cmd` to completion, calling `on_line` for every line of output as it comes.
    async fn run(
        &self,
        cmd: ToolCommand,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, RuntimeError>;
}
