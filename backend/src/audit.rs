//! The audit trail: who changed the configuration or the passphrase, started a backup,
//! confirmed a restore or cancelled one, from where, when, and how each ended.
//!
//! Append-only JSON lines in `<data_dir>/audit.jsonl` (opened with `O_APPEND`, synced after
//! each line), outside every instance, so a restore never rewinds it. Entries never hold a
//! secret: callers describe what changed, not the values.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use lifeboat_shared::backup::AuditEntry;

use crate::operations::clock;

/// Why the trail could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file.
    #[error("audit trail {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The trail of one data dir. Cheap to clone: clones write the same trail, one at a time.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    write: std::sync::Arc<Mutex<()>>,
}

impl AuditLog {
    /// The trail at `path` (created on the first entry).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            write: std::sync::Arc::new(Mutex::new(())),
        }
    }

    /// Appends an entry stamped now. A trail that cannot be written is logged loudly; the
    /// action itself goes on (refusing a restore because a log line failed would be worse).
    pub fn record(&self, who: &str, from: &str, action: &str, detail: &str, outcome: &str) {
        let entry = AuditEntry {
            at: clock::now(),
            who: who.to_owned(),
            from: from.to_owned(),
            action: action.to_owned(),
            detail: detail.to_owned(),
            outcome: outcome.to_owned(),
        };
        if let Err(e) = self.append(&entry) {
            tracing::error!(error = %e, action, "cannot write the audit trail");
        }
    }

    fn append(&self, entry: &AuditEntry) -> Result<(), AuditError> {
        let io = |source| AuditError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(entry).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        let _guard = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        file.write_all(&line).map_err(io)?;
        file.sync_data().map_err(io)
    }

    /// The newest `limit` entries, newest first (unreadable lines are skipped).
    pub fn list(&self, limit: usize) -> Result<Vec<AuditEntry>, AuditError> {
        self.page(0, limit, &[]).map(|(entries, _)| entries)
    }

    /// Up to `limit` entries, newest first, after skipping the `offset` newest, leaving out
    /// the actions in `without` (`session.sign_in`); and whether older ones remain.
    pub fn page(
        &self,
        offset: usize,
        limit: usize,
        without: &[&str],
    ) -> Result<(Vec<AuditEntry>, bool), AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), false)),
            Err(source) => {
                return Err(AuditError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut wanted = text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<AuditEntry>(l).ok())
            .filter(|e| !without.contains(&e.action.as_str()))
            .skip(offset);
        let entries: Vec<AuditEntry> = wanted.by_ref().take(limit).collect();
        let more = wanted.next().is_some();
        Ok((entries, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_lists_newest_first_skipping_garbage() {
        let d = tempfile::tempdir().unwrap();
        let log = AuditLog::new(d.path().join("audit.jsonl"));
        assert!(log.list(10).unwrap().is_empty());
        log.record("admin", "127.0.0.1", "backup.start", "op-1", "accepted");
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("audit.jsonl"))
            .unwrap()
            .write_all(b"{half a line\n")
            .unwrap();
        log.record("lifeboat", "-", "operation.end", "op-1", "succeeded");
        let all = log.list(10).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].action, "operation.end");
        assert_eq!(all[1].who, "admin");
        // Pages, and sign-ins left out.
        log.record(
            "admin",
            "127.0.0.1",
            "session.sign_in",
            "admin token",
            "accepted",
        );
        let (first, more) = log.page(0, 1, &["session.sign_in"]).unwrap();
        assert_eq!((first[0].action.as_str(), more), ("operation.end", true));
        let (second, more) = log.page(1, 1, &["session.sign_in"]).unwrap();
        assert_eq!((second[0].action.as_str(), more), ("backup.start", false));
        assert_eq!(log.list(1).unwrap().len(), 1);
    }
}
