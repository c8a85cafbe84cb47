//! Checks before a restore touches anything: the request itself (at the API, before an
//! operation is recorded) and then, as the first step, the bucket, the backup, its
//! snapshots, the passphrase, the PostgreSQL version and the disk space.

use std::sync::Arc;

use lifeboat_shared::backup::{BackupManifest, RESTORE_CONFIRMATION, StartRestore};

use crate::jobs::context::JobCtx;
use crate::jobs::measure::human;
use crate::jobs::step::{StepError, failed};
use crate::runtime::{Instance, InstanceRegistry, Staging};
use crate::secrets::is_dns1123_label;
use crate::storage::{Target, catalog};

/// What an admin asked for (checked by [`resolve`] before the operation is recorded).
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The catalog id of the backup.
    pub backup_id: String,
    /// Where to.
    pub target: Resolved,
    /// Only these apps' data (into the instance's own namespace), when asked.
    pub apps: Option<Vec<String>>,
    /// Replay WAL to a moment past the backup's consistent point, when asked.
    pub to_moment: Option<ToMoment>,
}

/// A restore to a moment: where WAL replay stops, and the snapshot whose WAL it replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToMoment {
    /// RFC 3339, as asked.
    pub at: String,
    /// The restic snapshot whose `pgbackrest/archive` is laid over the backup's (`None`:
    /// the backup's own reaches it).
    pub wal_snapshot: Option<String>,
}

/// Everything pre-flight established.
pub struct Plan {
    pub(super) manifest: BackupManifest,
    pub(super) target: Target,
    pub(super) snapshot: String,
    pub(super) label: Option<String>,
    pub(super) namespace: String,
    pub(super) kind: TargetKind,
    /// Where the snapshot is fetched.
    pub(super) staging: Arc<dyn Staging>,
    /// An earlier restore into this target stopped half-way.
    pub(super) was_incomplete: bool,
    /// The apps' and workspaces' data to bring back.
    pub(super) apps: Vec<(crate::runtime::AppPart, lifeboat_shared::backup::Component)>,
    /// Only that: the system and every other app stay as they are.
    pub(super) apps_only: bool,
    /// Replay WAL to a moment, when asked.
    pub(super) to_moment: Option<ToMoment>,
}

/// Why a restore request is refused before anything is recorded.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The typed phrase is not exactly `restore backup`.
    #[error("the confirmation must be exactly \"{RESTORE_CONFIRMATION}\"")]
    Confirmation,
    /// The namespace is not a DNS-1123 label.
    #[error(
        "{0:?} is not a valid namespace: use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
    )]
    Namespace(String),
    /// Another instance lives there and the admin did not say to replace it.
    #[error("namespace {0} already holds an instance")]
    Taken(String),
    /// This Lifeboat's instance is not up yet.
    #[error("the instance is still starting")]
    NotReady,
    /// The instance there is still being brought up by Lifeboat's start-up.
    #[error("the instance in namespace {0} is still starting")]
    Starting(String),
}

/// Where a restore goes.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// Over an instance that exists (this Lifeboat's own, or one a restore created).
    Existing(Arc<dyn Instance>),
    /// A new instance, created by the restore (after removing what a restore that did not
    /// finish creating one left there, when `replace_remains`).
    New {
        /// Remove what is left in the namespace first.
        replace_remains: bool,
    },
}

/// A checked target.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The namespace.
    pub namespace: String,
    /// What is there.
    pub kind: TargetKind,
}

/// Checks a request: the phrase, the namespace, and what lives there.
pub fn resolve(
    instances: &dyn InstanceRegistry,
    body: &StartRestore,
) -> Result<Resolved, RequestError> {
    if body.confirmation != RESTORE_CONFIRMATION {
        return Err(RequestError::Confirmation);
    }
    let namespace = body.target_namespace.trim().to_owned();
    if !is_dns1123_label(&namespace) {
        return Err(RequestError::Namespace(crate::error::quote(
            &body.target_namespace,
        )));
    }
    let primary = instances.own().ok_or(RequestError::NotReady)?;
    if instances.starting().contains(&namespace) {
        return Err(RequestError::Starting(namespace));
    }
    if primary.namespace() == namespace {
        return Ok(Resolved {
            namespace,
            kind: TargetKind::Existing(primary),
        });
    }
    if let Some(other) = instances.get(&namespace) {
        return if body.replace_existing {
            Ok(Resolved {
                namespace,
                kind: TargetKind::Existing(other),
            })
        } else {
            Err(RequestError::Taken(namespace))
        };
    }
    let remains = instances.has_remains(&namespace);
    if remains && !body.replace_existing {
        return Err(RequestError::Taken(namespace));
    }
    Ok(Resolved {
        namespace,
        kind: TargetKind::New {
            replace_remains: remains,
        },
    })
}

/// The pre-flight step.
pub(super) async fn check(
    ctx: &JobCtx,
    req: &RestoreRequest,
) -> Result<(Plan, Option<String>), StepError> {
    let runtime = ctx.runtime();
    crate::jobs::bucket::tools_present(ctx)?;
    let target = crate::jobs::bucket::current_target(ctx).await?;
    let manifest = match catalog::get(&target, &req.backup_id).await {
        Ok(Some(m)) => m,
        Ok(None) | Err(catalog::CatalogError::BadId(_)) => {
            return Err(failed(
                "backup_not_found",
                format!("backup {} is not in the bucket's catalog", req.backup_id),
                Some("refresh the Backups list: retention or another instance may have removed it"),
            ));
        }
        Err(e @ catalog::CatalogError::Damaged { .. }) => {
            return Err(failed(
                "backup_damaged",
                e.to_string(),
                Some("choose another backup: this one cannot be restored"),
            ));
        }
        Err(e) => {
            return Err(failed(
                "bucket_unreachable",
                format!("cannot read the catalog: {e}"),
                Some("check the bucket, its credentials and the network"),
            ));
        }
    };
    let snapshot = manifest
        .components
        .first()
        .map(|c| c.snapshot_id.clone())
        .ok_or_else(|| failed("backup_incomplete", "the backup lists no components", None))?;
    let label = manifest
        .component("postgres")
        .and_then(|c| c.pgbackrest_label.clone());
    let local_major = runtime.postgres_major();
    if let Some(local) = local_major
        && local != manifest.postgres_major
    {
        return Err(version_mismatch(manifest.postgres_major, local));
    }
    let is_new = matches!(req.target.kind, TargetKind::New { .. });
    let apps = apps_asked(&manifest, req.apps.as_deref())?;
    // The fetch writes the whole backup (or the apps' parts asked); a new instance then
    // gets its own data directory.
    let postgres_bytes = manifest.component("postgres").map_or(0, |c| c.size_bytes);
    let need = if req.apps.is_some() {
        apps.iter().map(|(_, c)| c.size_bytes).sum::<u64>() * 2
    } else {
        manifest.size_bytes + if is_new { postgres_bytes } else { 0 }
    };
    let want = need + need / 10 + 16 * 1024 * 1024;
    let staging = runtime.restore_staging(&ctx.id);
    if let Some(avail) = staging.free_bytes().await
        && avail < want
    {
        return Err(failed(
            "disk_space",
            format!(
                "not enough disk space to restore: {} free, {} needed",
                human(avail),
                human(want)
            ),
            Some("free space on the volume holding Lifeboat's data dir"),
        ));
    }
    let was_incomplete = match &req.target.kind {
        TargetKind::Existing(i) => i.restoring().is_some(),
        TargetKind::New { .. } => false,
    };
    if was_incomplete && req.apps.is_some() {
        return Err(failed(
            "instance_incomplete",
            "a restore into this instance did not finish: its system Postgres is stopped, so no app's data can be restored alone",
            Some("run the whole restore again first"),
        ));
    }
    let detail = describe(&manifest, req, apps.len());
    Ok((
        Plan {
            staging,
            manifest,
            target,
            snapshot,
            label,
            namespace: req.target.namespace.clone(),
            kind: req.target.kind.clone(),
            to_moment: req.to_moment.clone(),
            was_incomplete,
            apps,
            apps_only: req.apps.is_some(),
        },
        Some(detail),
    ))
}

/// The parts of the backup the restore brings back; an app named that it holds nothing of
/// is `unknown_app` (the API refuses it first; a catalog entry may change in between).
fn apps_asked(
    manifest: &BackupManifest,
    asked: Option<&[String]>,
) -> Result<Vec<(crate::runtime::AppPart, lifeboat_shared::backup::Component)>, StepError> {
    if let Some(asked) = asked {
        let unknown = crate::jobs::apps::unknown(manifest, asked);
        if !unknown.is_empty() {
            return Err(failed(
                "unknown_app",
                format!(
                    "backup {} holds no data of {}",
                    manifest.id,
                    unknown.join(", ")
                ),
                Some("choose apps the backup lists"),
            ));
        }
    }
    Ok(crate::jobs::apps::selected(manifest, asked))
}

/// The pre-flight step's words: what is restored where.
fn describe(manifest: &BackupManifest, req: &RestoreRequest, parts: usize) -> String {
    match &req.apps {
        Some(names) => format!(
            "backup {} of namespace {}: the data of {} ({parts} parts) into namespace {}",
            manifest.id,
            manifest.source.namespace,
            names.join(", "),
            req.target.namespace,
        ),
        None => format!(
            "backup {} of namespace {} ({}, PostgreSQL {}); into {} namespace {}",
            manifest.id,
            manifest.source.namespace,
            human(manifest.size_bytes),
            manifest.postgres_major,
            if matches!(req.target.kind, TargetKind::New { .. }) {
                "new"
            } else {
                "existing"
            },
            req.target.namespace,
        ),
    }
}

/// A PostgreSQL major version that is not the one installed.
pub(super) fn version_mismatch(backup: u32, local: u32) -> StepError {
    failed(
        "postgres_version_mismatch",
        format!(
            "the backup holds PostgreSQL {backup} data, but this instance runs PostgreSQL {local}"
        ),
        Some(&format!(
            "restore it where PostgreSQL {backup} runs, or upgrade with pg_upgrade after restoring there"
        )),
    )
}

/// A snapshot the catalog entry names is not in the repository.
pub(super) fn snapshot_missing(
    manifest: &lifeboat_shared::backup::BackupManifest,
    snapshot: &str,
) -> StepError {
    failed(
        "snapshot_missing",
        format!(
            "the data of backup {} (restic snapshot {snapshot}) is missing from the bucket",
            manifest.id
        ),
        Some("choose another backup; `restic check` on the repository tells what else is damaged"),
    )
}

/// The configured passphrase does not open the repository: say which one is needed.
pub(super) fn passphrase_needed(
    manifest: &lifeboat_shared::backup::BackupManifest,
    target: &crate::storage::Target,
) -> StepError {
    let configured = target.restic.has_passphrase();
    let (message, hint) = match (manifest.encrypted, configured) {
        (true, false) => (
            format!(
                "backup {} is encrypted with a passphrase, and none is configured",
                manifest.id
            ),
            format!(
                "set the passphrase that was set on namespace {} when this backup was made, {}",
                manifest.source.namespace,
                target.passphrase_place.set_hint()
            ),
        ),
        (false, true) => (
            format!(
                "backup {} was made without a passphrase, but one is configured",
                manifest.id
            ),
            format!(
                "{} (this bucket's backups rely on its at-rest encryption)",
                target.passphrase_place.clear_hint()
            ),
        ),
        _ => (
            format!(
                "the configured passphrase does not open the bucket that holds backup {}",
                manifest.id
            ),
            format!(
                "set the passphrase that was set on namespace {} when this backup was made{}, {}",
                manifest.source.namespace,
                manifest
                    .key_fingerprint
                    .as_deref()
                    .map(|k| format!(" (restic {k})"))
                    .unwrap_or_default(),
                target.passphrase_place.set_hint()
            ),
        ),
    };
    failed("wrong_passphrase", message, Some(&hint))
}
