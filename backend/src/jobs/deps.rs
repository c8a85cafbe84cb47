//! What jobs need and nothing more: the operations, the runtime with its instances, the
//! storage configuration (the bucket, retention), the gate, the audit trail and the token
//! that fires when Lifeboat stops. Shared by [`super::Jobs`], the supervisor and each job's
//! context (which hands a step only the runtime and the configuration).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::audit::AuditLog;
use crate::config::Config;
use crate::gate::OperationGate;
use crate::operations::Operations;
use crate::runtime::Runtime;

/// The handles every job shares.
#[derive(Debug)]
pub struct JobDeps {
    operations: Operations,
    runtime: Arc<dyn Runtime>,
    config: Config,
    gate: OperationGate,
    audit: AuditLog,
    shutdown: CancellationToken,
    quiet: tokio::sync::Mutex<()>,
}

impl JobDeps {
    /// The handles of one Lifeboat.
    pub fn new(
        operations: Operations,
        runtime: Arc<dyn Runtime>,
        config: Config,
        gate: OperationGate,
        audit: AuditLog,
    ) -> Self {
        Self {
            operations,
            runtime,
            config,
            gate,
            audit,
            shutdown: CancellationToken::new(),
            quiet: tokio::sync::Mutex::new(()),
        }
    }

    /// Held by a running operation and by a WAL shipment: they never run side by side.
    pub fn quiet(&self) -> &tokio::sync::Mutex<()> {
        &self.quiet
    }

    /// Fires when Lifeboat stops.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Every backup and restore, durable and live.
    pub fn operations(&self) -> &Operations {
        &self.operations
    }

    /// Where tools run and instances live.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.runtime
    }

    /// The storage configuration (the bucket, retention, the schedule).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One backup or restore at a time.
    pub fn gate(&self) -> &OperationGate {
        &self.gate
    }

    /// The audit trail.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }
}
