//! The page's live view of operations: one pure reducer fed by the event stream, by polling
//! and by the API's own answers (a started backup, a fetched operation). Pure, so its tests
//! are plain module tests.
//!
//! Rules: a snapshot replaces everything (it is the server's whole truth, sent first on every
//! connection and by every poll); an upsert is applied only when its revision is newer than
//! the one held, so a late or repeated message never rolls an operation back. Operations are
//! kept newest first.

use std::cmp::Ordering;
use std::rc::Rc;

use lifeboat_shared::backup::BackupManifest;
use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus};
use yew::prelude::*;

use crate::format::seconds_between;

/// How the page hears about operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// Not connected yet.
    #[default]
    Connecting,
    /// Following the server-sent event stream.
    Live,
    /// Polling `GET /api/v1/operations` (the stream is unavailable or dropped).
    Polling,
}

/// Every operation the page knows, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OperationsState {
    /// Newest first.
    pub operations: Vec<Operation>,
    /// Whether a snapshot (or a poll) has arrived yet.
    pub loaded: bool,
    /// How updates arrive.
    pub link: Link,
}

/// What can happen to [`OperationsState`].
#[derive(Debug, Clone, PartialEq)]
pub enum OperationsAction {
    /// The full list: replaces the state.
    Snapshot(Vec<Operation>),
    /// One operation created or changed: applied when its revision is newer.
    Upsert(Box<Operation>),
    /// The connection changed.
    Link(Link),
}

/// Newest first: by creation time, then by id (ids sort by creation time too).
fn newest_first(a: &Operation, b: &Operation) -> Ordering {
    b.created_at
        .cmp(&a.created_at)
        .then_with(|| b.id.cmp(&a.id))
}

impl Reducible for OperationsState {
    type Action = OperationsAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        match action {
            OperationsAction::Snapshot(mut operations) => {
                operations.sort_by(newest_first);
                Rc::new(Self {
                    operations,
                    loaded: true,
                    link: self.link,
                })
            }
            OperationsAction::Upsert(op) => {
                let held = self.operations.iter().position(|o| o.id == op.id);
                if held.is_some_and(|i| self.operations[i].revision >= op.revision) {
                    return self; // stale or repeated: nothing changes, nothing re-renders
                }
                let mut next = (*self).clone();
                if let Some(i) = held {
                    next.operations.remove(i);
                }
                let at = next
                    .operations
                    .partition_point(|o| newest_first(o, &op) == Ordering::Less);
                next.operations.insert(at, *op);
                Rc::new(next)
            }
            OperationsAction::Link(link) if link == self.link => self,
            OperationsAction::Link(link) => Rc::new(Self {
                link,
                ..(*self).clone()
            }),
        }
    }
}

impl OperationsState {
    /// The operation with this id.
    pub fn get(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id == id)
    }

    /// The newest operation that has not ended, if any.
    pub fn active(&self) -> Option<&Operation> {
        self.operations.iter().find(|o| !o.status.is_terminal())
    }

    /// What the page shows as "the operation": the one in progress, else the last one.
    pub fn current(&self) -> Option<&Operation> {
        self.active().or_else(|| self.operations.first())
    }

    /// About how long a restore of `size` bytes leaves the platform unavailable (from its
    /// `stop` step to its end), at the rate of the newest restore that succeeded: its
    /// backup's size (from `backups`) over that time. `None` without such a restore.
    pub fn unavailable_for(&self, backups: &[BackupManifest], size: u64) -> Option<f64> {
        let (last, backup_id) = self.operations.iter().find_map(|o| match &o.kind {
            OperationKind::Restore { backup_id, .. }
                if matches!(
                    o.status,
                    OperationStatus::Succeeded | OperationStatus::SucceededWithWarnings
                ) =>
            {
                Some((o, backup_id))
            }
            _ => None,
        })?;
        let stopped = last
            .steps
            .iter()
            .find(|s| s.id == "stop")?
            .started_at
            .as_deref()?;
        let secs = seconds_between(stopped, last.finished_at.as_deref()?)?;
        let done = backups.iter().find(|b| b.id == *backup_id)?.size_bytes;
        (done > 0 && secs > 0.0).then(|| secs * size as f64 / done as f64)
    }

    /// The id of the newest backup operation that succeeded: when it changes, a new backup
    /// is in the catalog and the list should be fetched again.
    pub fn latest_finished_backup(&self) -> Option<&str> {
        self.operations
            .iter()
            .find(|o| {
                matches!(o.kind, OperationKind::Backup { .. })
                    && matches!(
                        o.status,
                        OperationStatus::Succeeded | OperationStatus::SucceededWithWarnings
                    )
            })
            .map(|o| o.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_shared::operation::Trigger;

    fn op(id: &str, created: &str, revision: u64, status: OperationStatus) -> Operation {
        Operation {
            id: id.into(),
            revision,
            kind: OperationKind::Backup {
                backup_type: None,
                description: String::new(),
                trigger: Trigger::Scheduled,
                include_apps: true,
            },
            status,
            steps: vec![],
            progress: None,
            warnings: vec![],
            error: None,
            created_at: created.into(),
            finished_at: None,
            outcome: None,
        }
    }

    fn reduce(state: Rc<OperationsState>, action: OperationsAction) -> Rc<OperationsState> {
        state.reduce(action)
    }

    fn ids(s: &OperationsState) -> Vec<&str> {
        s.operations.iter().map(|o| o.id.as_str()).collect()
    }

    const T1: &str = "2026-11-25T10:00:00Z";
    const T2: &str = "2026-11-25T11:00:00Z";
    const T3: &str = "2026-11-25T12:00:00Z";

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_restore_is_expected_to_take_as_long_as_the_last_one_did_for_its_size() {
        let backup = |id: &str, size: u64| BackupManifest {
            backup_type: Default::default(),
            depends_on: None,
            id: id.into(),
            started_at: T1.into(),
            finished_at: T1.into(),
            trigger: Trigger::Scheduled,
            description: String::new(),
            source: lifeboat_shared::backup::SourceInstance {
                instance_id: "i".into(),
                namespace: "dash".into(),
            },
            platform_version: String::new(),
            lifeboat_version: String::new(),
            postgres_major: 15,
            components: vec![],
            bytes_added: 0,
            size_bytes: size,
            encrypted: false,
            key_fingerprint: None,
            counts: Default::default(),
            wal_until: None,
            consistent_at: None,
        };
        let backups = [backup("bk-1", 1_000_000), backup("bk-2", 3_000_000)];
        let mut restore = op("op-r", T2, 1, OperationStatus::Succeeded);
        restore.kind = OperationKind::Restore {
            backup_id: "bk-1".into(),
            target_namespace: "dash".into(),
            requested_by: "admin".into(),
            apps: None,
        };
        let mut stop = step("stop");
        stop.started_at = Some("2026-11-25T11:00:10Z".into());
        restore.steps = vec![stop];
        restore.finished_at = Some("2026-11-25T11:00:50Z".into());
        let s = OperationsState {
            operations: vec![
                op("op-b", T3, 1, OperationStatus::Succeeded),
                restore.clone(),
            ],
            ..OperationsState::default()
        };
        // 1 MB was unavailable for 40 s: 3 MB, about 120 s.
        assert_eq!(s.unavailable_for(&backups, 3_000_000), Some(120.0));
        // No earlier restore, or its backup is gone from the catalog: nothing is said.
        assert_eq!(
            OperationsState::default().unavailable_for(&backups, 1),
            None
        );
        assert_eq!(s.unavailable_for(&backups[1..], 1), None);
        restore.status = OperationStatus::Failed;
        let s = OperationsState {
            operations: vec![restore],
            ..OperationsState::default()
        };
        assert_eq!(s.unavailable_for(&backups, 1), None);
    }

    fn step(id: &str) -> lifeboat_shared::operation::Step {
        lifeboat_shared::operation::Step {
            id: id.into(),
            title: String::new(),
            status: lifeboat_shared::operation::StepStatus::Succeeded,
            started_at: None,
            finished_at: None,
            detail: None,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn snapshot_replaces_and_sorts_newest_first() {
        let s = Rc::new(OperationsState::default());
        assert!(!s.loaded);
        let s = reduce(
            s,
            OperationsAction::Upsert(Box::new(op("op-old", T1, 9, OperationStatus::Failed))),
        );
        let s = reduce(
            s,
            OperationsAction::Snapshot(vec![
                op("op-a", T1, 1, OperationStatus::Succeeded),
                op("op-c", T3, 1, OperationStatus::Running),
                op("op-b", T2, 1, OperationStatus::Succeeded),
            ]),
        );
        assert!(s.loaded);
        assert_eq!(ids(&s), ["op-c", "op-b", "op-a"]);
        assert!(s.get("op-old").is_none(), "the snapshot is the whole truth");
        // A later snapshot replaces even with lower revisions (e.g. after a server restart).
        let s = reduce(
            s,
            OperationsAction::Snapshot(vec![op("op-x", T1, 1, OperationStatus::Pending)]),
        );
        assert_eq!(ids(&s), ["op-x"]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn upsert_inserts_in_order_and_updates() {
        let s = reduce(
            Rc::new(OperationsState::default()),
            OperationsAction::Snapshot(vec![
                op("op-a", T1, 1, OperationStatus::Succeeded),
                op("op-c", T3, 1, OperationStatus::Succeeded),
            ]),
        );
        let s = reduce(
            s,
            OperationsAction::Upsert(Box::new(op("op-b", T2, 1, OperationStatus::Running))),
        );
        assert_eq!(ids(&s), ["op-c", "op-b", "op-a"]);
        let s = reduce(
            s,
            OperationsAction::Upsert(Box::new(op("op-b", T2, 2, OperationStatus::Succeeded))),
        );
        assert_eq!(ids(&s), ["op-c", "op-b", "op-a"]);
        assert_eq!(
            s.get("op-b").map(|o| o.status),
            Some(OperationStatus::Succeeded)
        );
        // The same creation time falls back to the id.
        let s = reduce(
            s,
            OperationsAction::Upsert(Box::new(op("op-d", T3, 1, OperationStatus::Pending))),
        );
        assert_eq!(ids(&s), ["op-d", "op-c", "op-b", "op-a"]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn stale_and_repeated_revisions_are_ignored() {
        let s = reduce(
            Rc::new(OperationsState::default()),
            OperationsAction::Snapshot(vec![op("op-a", T1, 5, OperationStatus::Running)]),
        );
        let same = reduce(
            s.clone(),
            OperationsAction::Upsert(Box::new(op("op-a", T1, 4, OperationStatus::Pending))),
        );
        assert!(Rc::ptr_eq(&s, &same), "an older revision changes nothing");
        let same = reduce(
            s.clone(),
            OperationsAction::Upsert(Box::new(op("op-a", T1, 5, OperationStatus::Failed))),
        );
        assert!(Rc::ptr_eq(&s, &same), "a repeated revision changes nothing");
        let newer = reduce(
            s,
            OperationsAction::Upsert(Box::new(op("op-a", T1, 6, OperationStatus::Succeeded))),
        );
        assert_eq!(newer.operations[0].status, OperationStatus::Succeeded);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn current_prefers_the_running_operation() {
        let s = reduce(
            Rc::new(OperationsState::default()),
            OperationsAction::Snapshot(vec![
                op("op-a", T1, 1, OperationStatus::Running),
                op("op-b", T2, 1, OperationStatus::Failed),
            ]),
        );
        assert_eq!(s.current().map(|o| o.id.as_str()), Some("op-a"));
        assert_eq!(s.active().map(|o| o.id.as_str()), Some("op-a"));
        let s = reduce(
            s,
            OperationsAction::Upsert(Box::new(op("op-a", T1, 2, OperationStatus::Succeeded))),
        );
        assert_eq!(s.current().map(|o| o.id.as_str()), Some("op-b"));
        assert!(s.active().is_none());
        assert_eq!(s.latest_finished_backup(), Some("op-a"));
        assert!(OperationsState::default().current().is_none());
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn link_changes_only_when_different() {
        let s = Rc::new(OperationsState::default());
        let same = reduce(s.clone(), OperationsAction::Link(Link::Connecting));
        assert!(Rc::ptr_eq(&s, &same));
        let polled = reduce(s, OperationsAction::Link(Link::Polling));
        assert_eq!(polled.link, Link::Polling);
        let s = reduce(polled, OperationsAction::Snapshot(vec![]));
        assert_eq!(s.link, Link::Polling, "a snapshot keeps the link state");
    }
}
