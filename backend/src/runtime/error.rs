//! Why the runtime layer failed: running a tool, setting up or using an instance, preparing
//! a staging area. One file below everything else in `runtime/`, so the host layer and the
//! seam's traits both name these without importing each other.

use std::path::PathBuf;

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
    /// A secret file for the run could not be written.
    #[error("cannot write a secret file for {tool}: {source}")]
    SecretFile {
        /// Which tool.
        tool: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The operation was cancelled (or Lifeboat is stopping); the tool was killed.
    #[error("{0} was stopped because the operation was cancelled")]
    Cancelled(&'static str),
}

/// Why an instance could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// A file or folder could not be created or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A tool could not run.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A tool ran and failed.
    #[error("{step} failed: {tail}")]
    Tool {
        /// Which step.
        step: &'static str,
        /// The end of its output.
        tail: String,
    },
    /// Postgres did not come up.
    #[error("PostgreSQL did not start: {0}")]
    Start(String),
    /// An instance already exists there.
    #[error("an instance already exists in namespace {0}")]
    Exists(String),
    /// What was asked is not possible on this runtime yet.
    #[error("{0} is not possible on this runtime yet")]
    NotHere(String),
    /// The configuration objects could not be listed.
    #[error("{0}")]
    Export(String),
    /// The cluster refused or failed what a restore asked of it.
    #[error("{0}")]
    Cluster(String),
    /// The instance's Keycloak did not start, or its realms could not be laid out.
    #[error("Keycloak: {0}")]
    Keycloak(String),
    /// An app's data service (its Postgres database, its Redis) failed what was asked.
    #[error("{0}")]
    App(String),
    /// The app (or its service) a part belongs to does not exist here, and this runtime
    /// cannot create it: the part is not restored, and the restore says so.
    #[error("{0}")]
    NoSuchApp(String),
}

impl InstanceError {
    /// Where the disk was full, when that is why it failed.
    pub fn full_disk(&self) -> Option<&std::path::Path> {
        match self {
            Self::Io { path, source, .. } if crate::disk::is_full(source) => Some(path),
            _ => None,
        }
    }
}

/// Why a staging area could not be prepared or read.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what} the staging area {place}: {source}")]
pub struct StagingError {
    /// What we were doing.
    pub what: &'static str,
    /// Where, in words.
    pub place: String,
    /// Why.
    pub source: std::io::Error,
}
