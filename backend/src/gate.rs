//! The operation gate: at most one backup or restore runs at a time, and the storage
//! configuration cannot change while one does.
//!
//! A backup or restore calls [`OperationGate::try_enter`] and keeps the returned
//! [`GateGuard`] for as long as it runs; dropping the guard opens the gate again. Anything
//! that must not overlap with an operation (saving the configuration, a scheduled backup)
//! asks [`OperationGate::running`] or tries to enter itself.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lifeboat_shared::operation::OperationId;

/// Shared by every clone: cheap to clone, one gate per process.
#[derive(Debug, Clone, Default)]
pub struct OperationGate {
    running: Arc<Mutex<Option<OperationId>>>,
}

/// Holding this means the operation it names is the one running. Dropping it opens the gate.
#[derive(Debug)]
#[must_use = "the gate opens again as soon as the guard is dropped"]
pub struct GateGuard {
    running: Arc<Mutex<Option<OperationId>>>,
    id: OperationId,
}

impl OperationGate {
    /// An open gate.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self) -> MutexGuard<'_, Option<OperationId>> {
        // The slot holds plain data; a panic elsewhere cannot leave it half-written.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of the operation running now, if any.
    pub fn running(&self) -> Option<OperationId> {
        self.slot().clone()
    }

    /// Marks `id` as running, or returns the id of the operation already running.
    pub fn try_enter(&self, id: impl Into<OperationId>) -> Result<GateGuard, OperationId> {
        let mut slot = self.slot();
        if let Some(current) = slot.as_ref() {
            return Err(current.clone());
        }
        let id = id.into();
        *slot = Some(id.clone());
        Ok(GateGuard {
            running: self.running.clone(),
            id,
        })
    }
}

impl GateGuard {
    /// The operation this guard belongs to.
    pub fn id(&self) -> &OperationId {
        &self.id
    }
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        let mut slot = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref() == Some(&self.id) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_operation_at_a_time_and_drop_opens_the_gate() {
        let gate = OperationGate::new();
        assert_eq!(gate.running(), None);
        let guard = gate.try_enter("op-1").unwrap();
        assert_eq!(guard.id(), "op-1");
        assert_eq!(gate.clone().running().as_deref(), Some("op-1"));
        assert_eq!(gate.try_enter("op-2").unwrap_err(), "op-1");
        drop(guard);
        assert_eq!(gate.running(), None);
        let _g = gate.try_enter("op-2").unwrap();
        assert_eq!(gate.running().as_deref(), Some("op-2"));
    }
}
