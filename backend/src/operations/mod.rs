//! Operations: the record of truth for every backup and restore.
//!
//! Each operation lives in memory and in one JSON file under `<data_dir>/operations/`
//! (written atomically), so it survives a restart. Every change bumps the revision, is
//! written, and is published on a broadcast bus that the SSE stream forwards. Only
//! `jobs` changes an operation's status; this module just stores what it is given.

pub mod clock;
pub mod store;

use std::collections::BTreeMap;
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
    /// Writing it to disk failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operations of this Lifeboat. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Operations {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    ops: Mutex<BTreeMap<String, Operation>>,
    bus: broadcast::Sender<Operation>,
}

impl Operations {
    /// Loads every operation stored under `dir` (unreadable files are logged and skipped).
    pub fn open(dir: PathBuf) -> Self {
        let store = Store::new(dir);
        let ops = store
            .load_all()
            .into_iter()
            .map(|op| (op.id.clone(), op))
            .collect();
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                store,
                ops: Mutex::new(ops),
                bus,
            }),
        }
    }

    fn ops(&self) -> MutexGuard<'_, BTreeMap<String, Operation>> {
        // Plain data: a panic elsewhere cannot leave a half-applied change behind, because
        // changes are applied to a copy first.
        self.inner
            .ops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every operation, newest first.
    pub fn list(&self) -> Vec<Operation> {
        sorted(self.ops().values().cloned().collect())
    }

    /// One operation.
    pub fn get(&self, id: &str) -> Option<Operation> {
        self.ops().get(id).cloned()
    }

    /// The current list and a receiver of every later change, with nothing lost in between.
    pub fn subscribe(&self) -> (Vec<Operation>, broadcast::Receiver<Operation>) {
        let ops = self.ops();
        let rx = self.inner.bus.subscribe();
        (sorted(ops.values().cloned().collect()), rx)
    }

    /// Records a new operation (revision 1).
    pub fn insert(&self, mut op: Operation) -> Result<Operation, OperationsError> {
        let mut ops = self.ops();
        op.revision = 1;
        self.inner.store.save(&op)?;
        ops.insert(op.id.clone(), op.clone());
        let _ = self.inner.bus.send(op.clone());
        Ok(op)
    }

    /// Applies `change`, bumps the revision, writes and publishes the result.
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Operation),
    ) -> Result<Operation, OperationsError> {
        let mut ops = self.ops();
        let current = ops
            .get(id)
            .ok_or_else(|| OperationsError::NotFound(id.to_owned()))?;
        let mut next = current.clone();
        change(&mut next);
        next.revision = current.revision + 1;
        self.inner.store.save(&next)?;
        ops.insert(next.id.clone(), next.clone());
        let _ = self.inner.bus.send(next.clone());
        Ok(next)
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
                description: String::new(),
                trigger: Trigger::Scheduled,
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
}
