//! The restore steps: pre-flight, bucket lock, fetch the snapshot into a staging folder,
//! stop the target's Postgres (the point of no return), pgBackRest restore and start with
//! WAL replay to the backup's consistent point, re-apply the configuration, verify, and the
//! post-restore checklist.
//!
//! Nothing of the target is touched before the `stop` step: a failure or cancel before it
//! leaves the target as it was (only the staging folder is removed). From `stop` on, the
//! target carries a marker (`Instance::restore_marker`) until the restore succeeds, so a
//! failed, cancelled or killed restore is reported with the state it left, Lifeboat does not
//! start a half-restored Postgres, and running the restore again starts over cleanly.

mod fetch;
mod preflight;

use std::sync::Arc;
use std::time::Instant;

use lifeboat_shared::operation::{ChecklistItem, Outcome, Step};

use super::bucket::{take_lock, while_locked};
use super::context::JobCtx;
use super::measure::{PgbackrestProgress, human};
use super::step::{StepError, StepFailure, failed, step};
use crate::command::Stream;
use crate::runtime::{Applied, Instance};

use preflight::Plan;
pub use preflight::{RequestError, Resolved, RestoreRequest, TargetKind, ToMoment, resolve};

/// The steps of a restore, in order. Into a new namespace, the `stop` step creates the
/// namespace's instance rather than stopping one, and is titled so.
pub fn restore_steps(new_namespace: bool) -> Vec<Step> {
    super::step::pending_steps(&[
        ("preflight", "Pre-flight checks"),
        ("lock", "Take the bucket lock"),
        ("fetch", "Fetch the backup from the bucket (restic)"),
        (
            "stop",
            if new_namespace {
                "Create the new namespace's system Postgres"
            } else {
                "Stop the system Postgres"
            },
        ),
        ("postgres", "Restore the system Postgres (pgBackRest)"),
        (
            "start",
            "Start Postgres and replay WAL to the backup's consistent point",
        ),
        ("configuration", "Re-apply the configuration"),
        ("verify", "Verify the restored data"),
        ("apps", "Restore the apps' data (databases, Redis, files)"),
        ("checklist", "Prepare the post-restore checklist"),
    ])
}

/// The steps of a restore of some apps' data alone (the system is not touched).
pub fn app_restore_steps() -> Vec<Step> {
    super::step::pending_steps(&[
        ("preflight", "Pre-flight checks"),
        ("lock", "Take the bucket lock"),
        ("fetch", "Fetch the apps' data from the bucket (restic)"),
        ("apps", "Restore the apps' data (databases, Redis, files)"),
        ("checklist", "Prepare the post-restore checklist"),
    ])
}

/// The steps `req` runs.
pub fn steps_of(req: &RestoreRequest) -> Vec<Step> {
    if req.apps.is_some() {
        app_restore_steps()
    } else {
        restore_steps(matches!(req.target.kind, TargetKind::New { .. }))
    }
}

/// Less free than this beside a data directory is a full disk (a WAL segment is 16 MiB).
const DATA_DIR_ROOM: u64 = 16 * 1024 * 1024;

/// What an unfinished restore leaves its target in, for error messages.
pub fn incomplete_text(namespace: &str) -> String {
    format!(
        "The system Postgres of namespace {namespace} was being replaced: it is stopped and \
         its data is incomplete until a restore succeeds."
    )
}

/// Runs the whole restore.
pub async fn run(ctx: &JobCtx, req: RestoreRequest) -> Result<Outcome, StepFailure> {
    // Fetch and pgBackRest move the data; starting Postgres replays WAL.
    if req.apps.is_some() {
        ctx.set_weights(&[("fetch", 0.5), ("apps", 0.5)]);
    } else {
        ctx.set_weights(&[
            ("fetch", 0.4),
            ("postgres", 0.4),
            ("start", 0.1),
            ("apps", 0.1),
        ]);
    }
    let plan = step(ctx, "preflight", preflight::check(ctx, &req)).await?;
    let (instance_id, namespace) = match &plan.kind {
        TargetKind::Existing(i) => (i.id().to_owned(), i.namespace().to_owned()),
        TargetKind::New { .. } => (format!("new:{}", plan.namespace), plan.namespace.clone()),
    };
    let lease = step(
        ctx,
        "lock",
        take_lock(ctx, &plan.target, &instance_id, &namespace),
    )
    .await?;
    let result = while_locked(ctx, lease, locked(ctx, &plan)).await;
    plan.staging.remove().await;
    result
}

async fn locked(ctx: &JobCtx, plan: &Plan) -> Result<Outcome, StepFailure> {
    if plan.apps_only {
        return apps_only(ctx, plan).await;
    }
    step(ctx, "fetch", fetch_all(ctx, plan)).await?;
    // The point of no return: from here the target is being replaced.
    let (instance, created) = step(ctx, "stop", stop(ctx, plan)).await?;
    let result = replace(ctx, plan, &instance).await;
    match &result {
        Ok(_) => {
            if let Err(e) = instance.restore_marker().clear() {
                ctx.warn(format!("cannot clear the restore marker: {e}"));
            }
            ctx.set_aftermath(None);
            if created {
                ctx.runtime().instances().adopt(instance.clone());
            }
        }
        Err(_) => {
            // Postgres may have been started on the restored data before the failure: leave
            // it stopped, as the marker says.
            if let Err(e) = instance.stop().await {
                ctx.warn(format!("cannot stop the half-restored Postgres: {e}"));
            }
        }
    }
    result
}

async fn replace(
    ctx: &JobCtx,
    plan: &Plan,
    instance: &Arc<dyn Instance>,
) -> Result<Outcome, StepFailure> {
    let instance = instance.as_ref();
    step(ctx, "postgres", restore_postgres(ctx, plan, instance)).await?;
    step(ctx, "start", start(ctx, instance)).await?;
    step(ctx, "configuration", reapply_config(plan, instance)).await?;
    step(ctx, "verify", verify(plan, instance)).await?;
    let from = plan.staging.place().join(APPS_FETCHED);
    let restored = step(
        ctx,
        "apps",
        crate::jobs::apps::restore(ctx, &plan.target, instance, &plan.apps, &from),
    )
    .await?;
    let checklist = step(ctx, "checklist", checklist(ctx, plan, instance, &restored)).await?;
    Ok(Outcome::Restore { checklist })
}

/// Where in the staging the apps' snapshot is fetched.
const APPS_FETCHED: &str = "appdata";

/// The system's snapshot, then the apps' (everything in it).
async fn fetch_all(ctx: &JobCtx, plan: &Plan) -> Result<((), Option<String>), StepError> {
    let ((), detail) = fetch::fetch(ctx, plan).await?;
    let into = plan.staging.place().join(APPS_FETCHED);
    fetch::fetch_apps(ctx, plan, true, into).await?;
    let detail = match (detail, plan.apps.len()) {
        (d, 0) => d,
        (Some(d), n) => Some(format!("{d}; the apps' data ({n} parts)")),
        (None, n) => Some(format!("the apps' data ({n} parts)")),
    };
    Ok(((), detail))
}

/// A restore of some apps' data alone: nothing of the system is touched, and only those
/// apps' parts are fetched.
async fn apps_only(ctx: &JobCtx, plan: &Plan) -> Result<Outcome, StepFailure> {
    let TargetKind::Existing(instance) = &plan.kind else {
        return Err(StepFailure {
            step: "fetch",
            error: failed(
                "apps_restore_in_place_only",
                "some apps' data alone is restored into an existing instance only",
                None,
            ),
        });
    };
    let into = plan.staging.place().join(APPS_FETCHED);
    step(ctx, "fetch", async {
        plan.staging
            .reset()
            .await
            .map_err(|e| failed("fetch_failed", e.to_string(), None))?;
        fetch::fetch_apps(ctx, plan, false, into.clone()).await?;
        let bytes: u64 = plan.apps.iter().map(|(_, c)| c.size_bytes).sum();
        Ok((
            (),
            Some(format!("{} parts ({})", plan.apps.len(), human(bytes))),
        ))
    })
    .await?;
    let restored = step(
        ctx,
        "apps",
        crate::jobs::apps::restore(ctx, &plan.target, instance.as_ref(), &plan.apps, &into),
    )
    .await?;
    let checklist = step(ctx, "checklist", async {
        let items = app_items(&restored, None);
        let n = items.len();
        Ok((items, Some(format!("{n} apps whose data came back"))))
    })
    .await?;
    Ok(Outcome::Restore { checklist })
}

/// One checklist item per app whose data came back (`workspaces`, when given, gets the
/// workspaces whose files came back).
fn app_items(
    restored: &[crate::runtime::AppPart],
    workspaces: Option<&mut std::collections::BTreeSet<String>>,
) -> Vec<ChecklistItem> {
    use crate::runtime::PartKind;
    let mut by_app: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    let mut ws = std::collections::BTreeSet::new();
    for p in restored {
        match p.app_name() {
            Some(app) => by_app.entry(app).or_default().push(match p.kind {
                PartKind::Postgres => "Postgres database",
                PartKind::Redis => "Redis",
                PartKind::Files => "files",
            }),
            None => {
                ws.insert(p.name().to_owned());
            }
        }
    }
    if let Some(w) = workspaces {
        *w = ws;
    }
    by_app
        .into_iter()
        .map(|(app, what)| ChecklistItem {
            action: "Restart the app: its data came back".into(),
            subject: app.to_owned(),
            copy: None,
            detail: Some(format!("its {} came back", what.join(", "))),
        })
        .collect()
}

/// Stops the target's Postgres (or creates the new instance) and marks it as being replaced.
async fn stop(
    ctx: &JobCtx,
    plan: &Plan,
) -> Result<((Arc<dyn Instance>, bool), Option<String>), StepError> {
    let (instance, created) = match &plan.kind {
        TargetKind::Existing(i) => (i.clone(), false),
        TargetKind::New { replace_remains } => {
            let instances = ctx.runtime().instances();
            let not_created = |e: crate::runtime::InstanceError| {
                failed("target_not_created", e.to_string(), None)
            };
            if *replace_remains {
                instances
                    .remove(&plan.namespace)
                    .await
                    .map_err(not_created)?;
            }
            let i = instances
                .create_empty(&plan.namespace)
                .await
                .map_err(not_created)?;
            (i, true)
        }
    };
    instance
        .restore_marker()
        .mark(&ctx.id)
        .map_err(|e| failed("target_not_marked", e.to_string(), None))?;
    ctx.set_aftermath(Some(incomplete_text(&plan.namespace)));
    if created {
        return Ok((
            (instance.clone(), true),
            Some(format!(
                "created namespace {} (Postgres {})",
                plan.namespace,
                instance.postgres_endpoint()
            )),
        ));
    }
    instance
        .stop()
        .await
        .map_err(|e| failed("postgres_not_stopped", e.to_string(), None))?;
    if instance.is_running().await {
        return Err(failed(
            "postgres_still_running",
            "the system Postgres did not stop",
            Some("stop what holds it (long transactions, open sessions) and run the restore again"),
        ));
    }
    Ok(((instance, false), Some("stopped".into())))
}

/// Puts the fetched pgBackRest repository in the instance's staging place and restores the
/// backup from it over the data directory.
async fn restore_postgres(
    ctx: &JobCtx,
    plan: &Plan,
    instance: &dyn Instance,
) -> Result<((), Option<String>), StepError> {
    if let Err(e) = instance
        .install_repository(&plan.staging.place().join("pgbackrest"))
        .await
    {
        return Err(match e.full_disk() {
            Some(place) => {
                let (_, free) = instance.data_dir().await;
                failed(
                    "disk_full",
                    format!(
                        "the disk holding {} filled up while the fetched backup was put in place ({}, about {} needed)",
                        place.display(),
                        crate::disk::free_words(free),
                        human(plan.manifest.size_bytes)
                    ),
                    Some(
                        "free space there (or give the instance a larger volume) and run the restore again",
                    ),
                )
            }
            None => failed("restore_io", e.to_string(), None),
        });
    }
    // A previous attempt that stopped half-way leaves files pgBackRest cannot vouch for:
    // start from an empty data directory then.
    if plan.was_incomplete {
        instance
            .empty_data()
            .await
            .map_err(|e| failed("restore_io", e.to_string(), None))?;
    }
    let total = plan
        .manifest
        .component("postgres")
        .map(|c| c.size_bytes)
        .filter(|s| *s > 0);
    let started = Instant::now();
    let mut tracker = PgbackrestProgress::new(total);
    let to = recovery_target(plan)?;
    ctx.log(format!(
        "$ pgbackrest restore {}{} (into {})",
        plan.label.as_deref().unwrap_or("(latest)"),
        to.as_deref()
            .map(|t| format!(", replaying WAL to {t}"))
            .unwrap_or_default(),
        instance.postgres_endpoint()
    ));
    // The lines come redacted from the runtime (its runner, or the restore Job's log);
    // the log keeps them cut as every tool's.
    let mut on_line = |_: Stream, line: &str| {
        if !super::context::log::is_noise(line) {
            ctx.log(crate::command::redact::cut(line.to_owned()));
        }
        if let Some(p) = tracker.line(line) {
            ctx.progress(p);
        }
    };
    let out = instance
        .restore_data(
            crate::runtime::DataRestore {
                label: plan.label.as_deref(),
                config: &plan.staging.place().join("config"),
                source_namespace: &plan.manifest.source.namespace,
                to: to.as_deref(),
            },
            ctx.cancel.clone(),
            &mut on_line,
        )
        .await
        .map_err(|e| match e {
            crate::runtime::InstanceError::Runtime(e) => StepError::from(e),
            e => failed("pgbackrest_failed", e.to_string(), None),
        })?;
    ctx.log(format!("exit {}", super::measure::exit_text(out.exit_code)));
    if out.exit_code != Some(0) {
        // pgBackRest does not always pass on `No space left on device` (a worker's write
        // error reaches the main process as `unable to write`): a data directory left with
        // less than a WAL segment's worth of room says it too.
        let (place, free) = instance.data_dir().await;
        if crate::disk::says_full(&out.tail(|_| false)) || free.is_some_and(|f| f < DATA_DIR_ROOM) {
            let free = crate::disk::free_words(free);
            return Err(failed(
                "disk_full",
                format!(
                    "the disk holding the system Postgres' data directory ({place}) filled up during pgBackRest's restore ({free}, about {} needed)",
                    total.map_or_else(|| "the backup's size".to_owned(), human)
                ),
                Some(
                    "free space there (or give Postgres a larger volume) and run the restore again",
                ),
            ));
        }
        return Err(failed(
            "pgbackrest_failed",
            format!(
                "pgBackRest restore failed (exit {}): {}",
                super::measure::exit_text(out.exit_code),
                crate::pgbackrest::output_tail(&out)
            ),
            None,
        ));
    }
    Ok((
        (),
        Some(format!(
            "{} restored ({} in {:.1} s)",
            plan.label.as_deref().unwrap_or("latest backup"),
            human(tracker.done()),
            started.elapsed().as_secs_f64()
        )),
    ))
}

/// Where WAL replay stops, as pgBackRest takes it, for a restore to a moment.
fn recovery_target(plan: &Plan) -> Result<Option<String>, StepError> {
    plan.to_moment
        .as_ref()
        .map(|m| {
            crate::pgbackrest::recovery_target(&m.at).ok_or_else(|| {
                failed(
                    "invalid_target_time",
                    format!("{:?} is not an RFC 3339 time", m.at),
                    None,
                )
            })
        })
        .transpose()
}

async fn start(ctx: &JobCtx, instance: &dyn Instance) -> Result<((), Option<String>), StepError> {
    let started = Instant::now();
    instance
        .start_restored(&|what: &str| ctx.step_detail("start", what))
        .await
        .map_err(|e| {
            failed(
                "postgres_start_failed",
                e.to_string(),
                Some("see the Postgres server log named in the message"),
            )
        })?;
    // `ready` comes once the backup's consistent point is reached; promotion follows.
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if ctx.cancel.is_cancelled() {
            return Err(StepError::Cancelled);
        }
        match instance.sql().await.is_primary().await {
            Ok(true) => break,
            Ok(false) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Ok(false) => {
                return Err(failed(
                    "recovery_not_finished",
                    "Postgres is still replaying WAL after 120 seconds",
                    Some("see the Postgres server log"),
                ));
            }
            Err(e) => return Err(failed("postgres_start_failed", e.to_string(), None)),
        }
    }
    Ok((
        (),
        Some(format!(
            "accepting connections on {} after {:.1} s",
            instance.postgres_endpoint(),
            started.elapsed().as_secs_f64()
        )),
    ))
}

/// Replaces the configuration folder with the backup's, rewriting the namespace when the
/// target is another one. The swap is two renames: a reader sees the old or the new folder.
async fn reapply_config(
    plan: &Plan,
    instance: &dyn Instance,
) -> Result<((), Option<String>), StepError> {
    let from = plan.staging.place().join("config");
    let Applied {
        files,
        bytes,
        rewritten,
        notes,
    } = instance
        .apply_config(&from, &plan.manifest.source.namespace)
        .await
        .map_err(|e| failed("config_apply_failed", e.to_string(), None))?;
    let mut detail = format!("{files} files ({})", human(bytes));
    if rewritten > 0 {
        detail.push_str(&format!(
            "; namespace {} → {} in {rewritten} files",
            plan.manifest.source.namespace, plan.namespace
        ));
    }
    for note in notes {
        detail.push_str("; ");
        detail.push_str(&note);
    }
    Ok(((), Some(detail)))
}

async fn verify(plan: &Plan, instance: &dyn Instance) -> Result<((), Option<String>), StepError> {
    let counts = instance.sql().await.counts().await.map_err(|e| {
        failed(
            "verify_failed",
            format!("cannot query the restored database: {e}"),
            None,
        )
    })?;
    if plan.manifest.counts.is_empty() {
        return Ok((
            (),
            Some("Postgres accepts connections (this backup recorded no row counts)".into()),
        ));
    }
    if let Some(m) = &plan.to_moment {
        // The backup's counts are of its own point; the moment's rows are what it had.
        let get = |k: &str| counts.get(k).copied().unwrap_or(0);
        return Ok((
            (),
            Some(format!(
                "restored to {}: {} realms, {} users, {} apps, {} workspaces",
                m.at,
                get("keycloak.realm"),
                get("keycloak.user_entity"),
                get("appmanager.apps"),
                get("appmanager.workspaces"),
            )),
        ));
    }
    let mismatches: Vec<String> = plan
        .manifest
        .counts
        .iter()
        .filter(|(k, v)| counts.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: {} rows, the backup had {v}",
                counts
                    .get(k)
                    .map_or_else(|| "no".to_owned(), u64::to_string)
            )
        })
        .collect();
    if !mismatches.is_empty() {
        return Err(failed(
            "verify_failed",
            format!(
                "the restored data does not match the backup: {}",
                mismatches.join("; ")
            ),
            None,
        ));
    }
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    Ok((
        (),
        Some(format!(
            "{} realms, {} users, {} groups, {} apps, {} workspaces: as in the backup",
            get("keycloak.realm"),
            get("keycloak.user_entity"),
            get("keycloak.keycloak_group"),
            get("appmanager.apps"),
            get("appmanager.workspaces"),
        )),
    ))
}

async fn checklist(
    ctx: &JobCtx,
    plan: &Plan,
    instance: &dyn Instance,
    restored: &[crate::runtime::AppPart],
) -> Result<(Vec<ChecklistItem>, Option<String>), StepError> {
    let (apps, workspaces) = instance
        .sql()
        .await
        .apps_and_workspaces()
        .await
        .map_err(|e| failed("checklist_failed", e.to_string(), None))?;
    let mut items = vec![ChecklistItem {
        action: "Log in again".into(),
        subject: format!(
            "Dash Enterprise in namespace {} (sessions from before the restore are gone)",
            instance.namespace()
        ),
        copy: None,
        detail: None,
    }];
    let mut files_back = std::collections::BTreeSet::new();
    let came_back: std::collections::BTreeMap<String, Option<String>> =
        app_items(restored, Some(&mut files_back))
            .into_iter()
            .map(|i| (i.subject, i.detail))
            .collect();
    items.extend(apps.iter().map(|a| ChecklistItem {
        action: "Rebuild and Deploy".into(),
        subject: a.clone(),
        copy: None,
        detail: came_back.get(a).cloned().flatten(),
    }));
    let workspaces: Vec<String> = workspaces
        .into_iter()
        .filter(|w| !files_back.contains(w))
        .collect();
    items.extend(workspaces.iter().map(|w| ChecklistItem {
        action: "Delete and recreate from the latest commit".into(),
        subject: w.clone(),
        copy: None,
        detail: None,
    }));
    // In another namespace Keycloak answers at another address: each identity provider
    // still sends its users back to the old one until it knows the new broker endpoint.
    // The URI whole when the instance knows its Keycloak's address; else its path, with
    // the address to put in front of it named.
    if matches!(plan.kind, TargetKind::New { .. }) {
        let keycloak = instance.info().keycloak_url;
        match instance.sql().await.identity_providers().await {
            Ok(providers) => items.extend(providers.iter().map(|p| {
                let (realm, alias) = p.split_once('/').unwrap_or(("", p));
                let path = format!("/realms/{realm}/broker/{alias}/endpoint");
                ChecklistItem {
                    action: "Register the new redirect URI at the identity provider".into(),
                    subject: match &keycloak {
                        Some(_) => format!("{alias} (realm {realm})"),
                        None => format!(
                            "{alias} (realm {realm}): the address of namespace {}'s Keycloak, then {path}",
                            plan.namespace
                        ),
                    },
                    copy: keycloak
                        .as_ref()
                        .map(|k| format!("{}{path}", k.trim_end_matches('/'))),
                    detail: None,
                }
            })),
            Err(e) => ctx.warn(format!(
                "the identity providers could not be listed for the checklist: {e}"
            )),
        }
    }
    let detail = format!(
        "{} apps to rebuild, {} workspaces to recreate",
        apps.len(),
        workspaces.len()
    );
    Ok((items, Some(detail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_start_with_preflight_and_end_with_the_checklist() {
        let ids: Vec<String> = restore_steps(false).into_iter().map(|s| s.id).collect();
        assert_eq!(ids.first().map(String::as_str), Some("preflight"));
        assert_eq!(ids.last().map(String::as_str), Some("checklist"));
        let stop = ids.iter().position(|s| s == "stop");
        let fetch = ids.iter().position(|s| s == "fetch");
        assert!(fetch < stop, "the target is touched only after the fetch");
    }

    #[test]
    fn into_a_new_namespace_the_stop_step_says_it_creates_one() {
        let title = |new| {
            restore_steps(new)
                .into_iter()
                .find(|s| s.id == "stop")
                .map(|s| s.title)
        };
        assert_eq!(title(false).as_deref(), Some("Stop the system Postgres"));
        assert_eq!(
            title(true).as_deref(),
            Some("Create the new namespace's system Postgres")
        );
    }
}
