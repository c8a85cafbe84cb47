//! Operations: one record per backup or restore, from request to outcome.
//!
//! The backend's job supervisor is the only writer; every change bumps `revision`, and
//! clients apply an update only when its revision is newer than the one they hold.

use serde::{Deserialize, Serialize};

use crate::ApiError;

/// Identifier of an operation, e.g. `op-20261125T110705Z-3f9a`.
pub type OperationId = String;

/// One backup or restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Unique, sortable by creation time.
    pub id: OperationId,
    /// Bumped on every change; clients ignore updates that are not newer.
    pub revision: u64,
    /// What this operation does.
    pub kind: OperationKind,
    /// Where it is in its life.
    pub status: OperationStatus,
    /// The steps in the order they run.
    pub steps: Vec<Step>,
    /// Latest overall progress, when the running step reports any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Non-fatal problems, capped and de-duplicated by the backend.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why it failed or was interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    /// RFC 3339 time the operation was requested.
    pub created_at: String,
    /// RFC 3339 time the operation finished, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// What a finished operation produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl Operation {
    /// The step that is running now, if any.
    pub fn current_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.status == StepStatus::Running)
    }
}

/// What an operation does, with its request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OperationKind {
    /// A backup of the whole instance.
    Backup {
        /// Free text the admin gave, possibly empty.
        description: String,
        /// Who or what started it.
        trigger: Trigger,
        /// Whether apps' own data goes in too.
        #[serde(default = "crate::yes")]
        include_apps: bool,
        /// The type asked for (a full, say); without it, the configuration's policy chose.
        /// (The page does not read it.)
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(target_arch = "wasm32", serde(skip))]
        backup_type: Option<crate::backup::BackupType>,
    },
    /// A restore of a backup into a namespace.
    Restore {
        /// The catalog id of the backup being restored.
        backup_id: String,
        /// The namespace restored into.
        target_namespace: String,
        /// Who confirmed it.
        requested_by: String,
        /// Only these apps' data, when the restore is of some apps alone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        apps: Option<Vec<String>>,
    },
    /// A kind this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

/// Who or what started a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// Backup Now, by a named user.
    Manual {
        /// The user's name.
        by: String,
    },
    /// The configured schedule.
    Scheduled,
    /// A trigger this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

/// The life of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationStatus {
    /// Accepted, not started.
    Pending,
    /// Running now.
    Running,
    /// Finished; everything worked.
    Succeeded,
    /// Finished with non-fatal warnings.
    SucceededWithWarnings,
    /// Stopped by an error; see `error`.
    Failed,
    /// Stopped on request.
    Cancelled,
    /// Lifeboat stopped while it ran; see `error`.
    Interrupted,
    /// A status this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

impl OperationStatus {
    /// Whether the operation has ended (in any way).
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

/// One step of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable identifier, e.g. `preflight`, `postgres`, `upload`.
    pub id: String,
    /// What the step does, for people.
    pub title: String,
    /// Where the step is.
    pub status: StepStatus,
    /// RFC 3339 start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339 end time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// A line of detail (e.g. the pgBackRest label, or why it was skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The life of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not reached yet.
    Pending,
    /// Running now.
    Running,
    /// Finished.
    Succeeded,
    /// Failed; the operation failed with it.
    Failed,
    /// Not needed this time.
    Skipped,
    /// Stopped half-way: the operation was cancelled while it ran.
    Cancelled,
    /// A status this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

/// Raw progress counters; percent and ETA are derived from them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Bytes processed so far.
    pub bytes_done: u64,
    /// Bytes to process in all, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
    /// Files processed so far.
    #[serde(default)]
    pub files_done: u64,
    /// Files to process in all, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_total: Option<u64>,
    /// Bytes per second over the recent past, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_bytes_per_sec: Option<f64>,
    /// Estimated seconds left, when it can be estimated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<f64>,
    /// The item being processed now (a file name or a table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// How much of the whole operation is done, `0.0..=1.0`, its steps weighted by the data
    /// they move, when the job can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_fraction: Option<f64>,
    /// Seconds left for the whole operation at the pace measured so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_eta_seconds: Option<f64>,
}

impl Progress {
    /// Fraction done in `0.0..=1.0`, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        match self.bytes_total {
            Some(0) => Some(1.0),
            Some(total) => Some((self.bytes_done as f64 / total as f64).clamp(0.0, 1.0)),
            None => None,
        }
    }
}

/// What a finished operation produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    /// A backup written to the catalog.
    Backup {
        /// Its catalog id.
        backup_id: String,
    },
    /// A restore, with what the admin must do next.
    Restore {
        /// The post-restore checklist.
        checklist: Vec<ChecklistItem>,
    },
    /// An outcome this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

/// One thing to do after a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    /// What to do, e.g. "Rebuild and Deploy".
    pub action: String,
    /// What to do it to, e.g. an app's name.
    pub subject: String,
    /// What is already done about it, in words (an app's data that came back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Text to copy exactly, when there is some (the redirect URI an identity provider
    /// must learn): the page shows it whole with a Copy button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
}

/// The body of `GET /api/v1/operations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationList {
    /// Newest first.
    pub operations: Vec<Operation>,
}

/// A message on `GET /api/v1/operations/events` (the SSE `event:` name is the tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OperationEvent {
    /// Sent first on every connection: the full list, newest first.
    Snapshot {
        /// Every known operation.
        operations: Vec<Operation>,
    },
    /// An operation was created or changed.
    Upsert {
        /// Its new state.
        operation: Box<Operation>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_handles_unknown_and_empty_totals() {
        let mut p = Progress {
            bytes_done: 5,
            ..Progress::default()
        };
        assert_eq!(p.fraction(), None);
        p.bytes_total = Some(0);
        assert_eq!(p.fraction(), Some(1.0));
        p.bytes_total = Some(10);
        assert_eq!(p.fraction(), Some(0.5));
        p.bytes_done = 20;
        assert_eq!(p.fraction(), Some(1.0));
    }

    #[test]
    fn unknown_enums_survive_a_newer_backend() {
        let s: OperationStatus = serde_json::from_str(r#""paused""#).unwrap();
        assert_eq!(s, OperationStatus::Unknown);
        assert!(s.is_terminal());
        let k: OperationKind = serde_json::from_str(r#"{"type":"verify"}"#).unwrap();
        assert_eq!(k, OperationKind::Unknown);
    }

    #[test]
    fn events_are_tagged() {
        let e = OperationEvent::Snapshot { operations: vec![] };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"snapshot","operations":[]}"#
        );
    }
}
