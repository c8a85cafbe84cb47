//! What a tool run is, independent of where it runs: the tool, its arguments, its
//! environment, and the *places* it reads and writes, named by what they are rather than by
//! a host path. Each runtime maps a [`Place`] to something real (a folder on this host, a
//! volume mounted in a pod) and a [`SecretFile`] to a 0600 file (or a Secret volume), so the
//! code that builds commands (`restic/`, `pgbackrest/`, `jobs/`) never names a host path.
//!
//! Also how a run ended ([`ToolOutput`]) and the one helper that turns its end into words.

pub mod redact;

use crate::secret::Secret;

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
    /// `pg_dump` (an app's database, custom format).
    PgDump,
    /// `pg_restore` (an app's database).
    PgRestore,
    /// `redis-cli` (an app's Redis: its RDB, its keys).
    RedisCli,
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
            Self::PgDump => "pg_dump",
            Self::PgRestore => "pg_restore",
            Self::RedisCli => "redis-cli",
        }
    }
}

/// A storage area a job or an instance owns, by what it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Volume {
    /// The pgBackRest settings of the instance in this namespace (`pgbackrest.conf`).
    PgbackrestConfig(String),
    /// What a backup of the instance in this namespace stages: `pgbackrest/` (the staging
    /// repository) and `config/` (the exported configuration).
    BackupStaging(String),
    /// Where the restore with this operation id fetches its snapshot.
    RestoreStaging(String),
    /// The apps' and workspaces' data of the instance in this namespace, as a backup reads
    /// it: `files/` (their persistent files, live) and `dumps/` (their databases and Redis,
    /// staged for the backup).
    AppData(String),
}

/// A path inside a [`Volume`] (`rel` is relative; empty means the volume itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    /// The volume.
    pub volume: Volume,
    /// The path below it, `/`-separated, never starting with `/` or holding `..`.
    pub rel: String,
}

impl Place {
    /// The volume itself.
    pub fn root(volume: Volume) -> Self {
        Self {
            volume,
            rel: String::new(),
        }
    }

    /// `rel` below the volume.
    pub fn at(volume: Volume, rel: &str) -> Self {
        Self {
            volume,
            rel: rel.trim_matches('/').to_owned(),
        }
    }

    /// A path below this place.
    pub fn join(&self, rel: &str) -> Self {
        let rel = rel.trim_matches('/');
        Self {
            volume: self.volume.clone(),
            rel: match (self.rel.is_empty(), rel.is_empty()) {
                (true, _) => rel.to_owned(),
                (false, true) => self.rel.clone(),
                (false, false) => format!("{}/{rel}", self.rel),
            },
        }
    }
}

/// A secret the tool reads from a file (restic's `--new-password-file`, a GCS key): the
/// runtime writes it where only the tool can read it and removes it after the run.
#[derive(Debug, Clone)]
pub struct SecretFile {
    /// What goes in the file.
    pub content: Secret,
}

/// One argument.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Plain text. Never a secret: arguments show in process listings and logs.
    Text(String),
    /// `prefix` followed by where `place` is for the tool, e.g. `--config=` and a file.
    Place {
        /// What comes before the path (a flag and `=`, or nothing).
        prefix: String,
        /// The place.
        place: Place,
    },
    /// `prefix` followed by the path of a file holding a secret.
    SecretFile {
        /// What comes before the path.
        prefix: String,
        /// The secret.
        file: SecretFile,
    },
}

impl Arg {
    /// The argument as text when it is plain text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Self::Text(s.clone())
    }
}

/// One invocation of a tool.
#[derive(Debug, Clone)]
pub struct ToolCommand {
    /// Which tool.
    pub tool: Tool,
    /// Its arguments.
    pub args: Vec<Arg>,
    /// Environment variables that are not secret.
    pub env: Vec<(String, String)>,
    /// Environment variables that are (credentials, passphrases).
    pub secret_env: Vec<(String, Secret)>,
    /// Environment variables naming a file that holds a secret (e.g.
    /// `GOOGLE_APPLICATION_CREDENTIALS`).
    pub secret_file_env: Vec<(String, SecretFile)>,
    /// Working directory, if it matters.
    pub cwd: Option<Place>,
    /// Run as the PostgreSQL service account (the `postgres` OS user when Lifeboat is root).
    pub as_postgres_user: bool,
}

impl ToolCommand {
    /// A command with plain-text arguments and nothing else.
    pub fn new(tool: Tool, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            tool,
            args: args.into_iter().map(|a| Arg::Text(a.into())).collect(),
            env: Vec::new(),
            secret_env: Vec::new(),
            secret_file_env: Vec::new(),
            cwd: None,
            as_postgres_user: false,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// The plain-text arguments, in order (places and secret files left out): what tests
    /// and logs look at.
    pub fn text_args(&self) -> Vec<&str> {
        self.args.iter().filter_map(Arg::as_text).collect()
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

impl ToolOutput {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The last lines of a run's output for an error message: standard error first (where
    /// the tools write their errors), then standard output without the lines `skip` says
    /// are noise (restic's JSON status lines, say).
    pub fn tail(&self, skip: impl Fn(&str) -> bool) -> String {
        self.stderr_tail
            .iter()
            .chain(self.stdout_tail.iter().filter(|l| !skip(l)))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `exit 3`, or `killed by a signal`: how a run ended, for messages.
pub fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_join_without_double_slashes() {
        let p = Place::root(Volume::RestoreStaging("op-1".into()));
        assert_eq!(p.join("pgbackrest").rel, "pgbackrest");
        assert_eq!(p.join("/a/").join("b").rel, "a/b");
        assert_eq!(p.join("").rel, "");
    }

    #[test]
    fn tails_put_errors_first_and_skip_noise() {
        let out = ToolOutput {
            exit_code: Some(1),
            stdout_tail: vec!["noise".into(), "out".into()],
            stderr_tail: vec!["err".into()],
        };
        assert_eq!(out.tail(|l| l == "noise"), "err\nout");
        assert!(!out.success());
        assert_eq!(exit_text(None), "killed by a signal");
    }
}
