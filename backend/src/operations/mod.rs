//! Operations: the record of truth for every backup and restore.
//!
//! Each operation lives in memory and in one JSON file under `<data_dir>/operations/`
//! (written atomically), so it survives a restart. Every change bumps the revision, is
//! written, and is published on a broadcast bus that the SSE stream forwards. Only
//! `jobs` changes an operation's status; this module just stores what it is given.
//!
//! A new operation is recorded only once it is written. A change to one that runs is
//! published even when the disk refuses it (full): the file keeps the last revision that
//! was written, whole, the change is kept in memory and written with the next write that
//! succeeds, and the caller is told ([`OperationsError::NotWritten`]).

pub mod clock;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lifeboat_shared::operation::Operation;
use tokio::sync::broadcast;

pub use store::{Store, StoreError};

/// How many upserts a slow subscriber may fall behind before it is dropped (and resyncs).
pub const BUS_CAPACITY: usize = 256;

/// Why an operation could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum OperationsError {
    /// No operation has that id.
    #[error("no operation {0}")]
    NotFound(String),
    /// Writing it to disk failed: nothing was recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change was made and published but its record could not be written; it is
    /// written with the next write that succeeds.
    #[error("{source}; the change is kept in memory and written once there is room")]
    NotWritten {
        /// Why.
        source: StoreError,
    },
}

/// The operations of this Lifeboat. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Operations {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    ops: Mutex<Records>,
    bus: broadcast::Sender<Operation>,
}

/// The operations in memory, and those whose newest revision is not on disk yet.
#[derive(Debug, Default)]
struct Records {
    ops: BTreeMap<String, Operation>,
    unwritten: BTreeSet<String>,
}

impl Records {
    /// Writes the revisions a full disk refused, oldest id first, until one fails again.
    fn write_behind(&mut self, store: &Store) {
        while let Some(id) = self.unwritten.first().cloned() {
            if let Some(op) = self.ops.get(&id)
                && let Err(e) = store.save(op)
            {
                tracing::warn!(operation = %id, error = %e, "still cannot write the operation's record");
                return;
            }
            tracing::info!(operation = %id, "wrote the operation's record the disk refused before");
            self.unwritten.remove(&id);
        }
    }
}

impl Operations {
    /// Loads every operation stored under `dir` (unreadable files are logged and skipped).
    pub fn open(dir: PathBuf) -> Self {
        let store = Store::new(dir);
        let ops = Records {
            ops: store
                .load_all()
                .into_iter()
                .map(|op| (op.id.clone(), op))
                .collect(),
            unwritten: BTreeSet::new(),
        };
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                store,
                ops: Mutex::new(ops),
                bus,
            }),
        }
    }

    fn ops(&self) -> MutexGuard<'_, Records> {
        // Plain data: a panic elsewhere cannot leave a half-applied change behind, because
        // changes are applied to a copy first.
        self.inner
            .ops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every operation, newest first.
    pub fn list(&self) -> Vec<Operation> {
        sorted(self.ops().ops.values().cloned().collect())
    }

    /// One operation.
    pub fn get(&self, id: &str) -> Option<Operation> {
        self.ops().ops.get(id).cloned()
    }

    /// The operations whose newest revision is not written yet (the disk refused it).
    pub fn unwritten(&self) -> Vec<String> {
        self.ops().unwritten.iter().cloned().collect()
    }

    /// The current list and a receiver of every later change, with nothing lost in between.
    pub fn subscribe(&self) -> (Vec<Operation>, broadcast::Receiver<Operation>) {
        let ops = self.ops();
        let rx = self.inner.bus.subscribe();
        (sorted(ops.ops.values().cloned().collect()), rx)
    }

    /// Records a new operation (revision 1): written first, published only then.
    pub fn insert(&self, mut op: Operation) -> Result<Operation, OperationsError> {
        let mut ops = self.ops();
        op.revision = 1;
        self.inner.store.save(&op)?;
        ops.write_behind(&self.inner.store);
        ops.ops.insert(op.id.clone(), op.clone());
        let _ = self.inner.bus.send(op.clone());
        Ok(op)
    }

    /// Applies `change`, bumps the revision, writes and publishes the result. When the
    /// disk refuses the write, the change is published and kept all the same
    /// ([`OperationsError::NotWritten`]).
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Operation),
    ) -> Result<Operation, OperationsError> {
        let mut ops = self.ops();
        let current = ops
            .ops
            .get(id)
            .ok_or_else(|| OperationsError::NotFound(id.to_owned()))?;
        let mut next = current.clone();
        change(&mut next);
        next.revision = current.revision + 1;
        let written = self.inner.store.save(&next);
        ops.ops.insert(next.id.clone(), next.clone());
        let _ = self.inner.bus.send(next.clone());
        match written {
            Ok(()) => {
                ops.unwritten.remove(id);
                ops.write_behind(&self.inner.store);
                Ok(next)
            }
            Err(source) => {
                ops.unwritten.insert(id.to_owned());
                Err(OperationsError::NotWritten { source })
            }
        }
    }
}

fn sorted(mut ops: Vec<Operation>) -> Vec<Operation> {
    ops.sort_by_cached_key(|o| std::cmp::Reverse((clock::sort_key(&o.created_at), o.id.clone())));
    ops
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::operation::{OperationKind, OperationStatus, Trigger};

    use super::*;

    pub(crate) fn op(id: &str, created: &str) -> Operation {
        Operation {
            id: id.into(),
            revision: 0,
            kind: OperationKind::Backup {
                backup_type: None,
                description: String::new(),
                trigger: Trigger::Scheduled,
                include_apps: true,
            },
            status: OperationStatus::Pending,
            steps: vec![],
            progress: None,
            warnings: vec![],
            error: None,
            created_at: created.into(),
            finished_at: None,
            outcome: None,
        }
    }

    #[tokio::test]
    async fn changes_are_durable_revisioned_and_published() {
        let dir = tempfile::tempdir().unwrap();
        let ops = Operations::open(dir.path().join("operations"));
        ops.insert(op("op-1", "2026-11-25T10:00:00Z")).unwrap();
        let (snapshot, mut rx) = ops.subscribe();
        assert_eq!(snapshot.len(), 1);
        ops.insert(op("op-2", "2026-11-25T11:00:00Z")).unwrap();
        let updated = ops
            .update("op-1", |o| o.status = OperationStatus::Running)
            .unwrap();
        assert_eq!(updated.revision, 2);
        assert_eq!(rx.recv().await.unwrap().id, "op-2");
        assert_eq!(rx.recv().await.unwrap().revision, 2);
        assert!(matches!(
            ops.update("nope", |_| {}),
            Err(OperationsError::NotFound(_))
        ));

        let reopened = Operations::open(dir.path().join("operations"));
        let list = reopened.list();
        assert_eq!(
            list.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            vec!["op-2", "op-1"]
        );
        assert_eq!(
            reopened.get("op-1").unwrap().status,
            OperationStatus::Running
        );
    }

    #[tokio::test]
    async fn a_change_the_disk_refuses_is_published_kept_and_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("operations");
        let ops = Operations::open(folder.clone());
        ops.insert(op("op-1", "2026-11-25T10:00:00Z")).unwrap();
        let (_, mut rx) = ops.subscribe();
        // The folder is replaced by a file: every write fails from now on.
        let saved = std::fs::read(folder.join("op-1.json")).unwrap();
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::write(&folder, b"").unwrap();
        let err = ops
            .update("op-1", |o| o.status = OperationStatus::Running)
            .unwrap_err();
        assert!(matches!(err, OperationsError::NotWritten { .. }), "{err}");
        assert_eq!(
            rx.recv().await.unwrap().revision,
            2,
            "published all the same"
        );
        assert_eq!(ops.get("op-1").unwrap().status, OperationStatus::Running);
        assert_eq!(ops.unwritten(), ["op-1"]);
        assert!(
            ops.insert(op("op-2", "2026-11-25T11:00:00Z")).is_err(),
            "a new operation is recorded only once written"
        );
        assert!(ops.get("op-2").is_none());
        // Room again: the next write that succeeds writes the kept revision too.
        std::fs::remove_file(&folder).unwrap();
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("op-1.json"), &saved).unwrap();
        ops.insert(op("op-3", "2026-11-25T12:00:00Z")).unwrap();
        assert!(ops.unwritten().is_empty());
        let reopened = Operations::open(folder);
        assert_eq!(reopened.get("op-1").unwrap().revision, 2);
        assert_eq!(
            reopened.get("op-1").unwrap().status,
            OperationStatus::Running
        );
    }
}
