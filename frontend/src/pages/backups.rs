//! The Backups card of the main page: Backup Now (disabled, with the reason, when it
//! cannot start), and the catalog or what stands in for it (loading, the failure, an empty
//! state).

use lifeboat_shared::backup::{BackupList, BackupManifest};
use lifeboat_shared::config::ConfigView;
use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Outcome};
use yew::prelude::*;

use crate::components::backups_table::{BackupsTableProps, backups_table};
use crate::components::banner::error_banner;
use crate::components::empty_state::empty_state;
use crate::components::operation_progress::local_time;
use crate::components::repository::repository;
use crate::hooks::Loadable;
use crate::pages::browser::now;
use crate::state::OperationsState;

/// "A backup", "A restore": the subject of a sentence about a running operation.
pub fn kind_word(op: &Operation) -> &'static str {
    match op.kind {
        OperationKind::Backup { .. } => "A backup",
        OperationKind::Restore { .. } => "A restore",
        OperationKind::Unknown => "An operation",
    }
}

/// Why Backup Now cannot start, if it cannot.
fn backup_blocked(config: &Loadable<ConfigView>, active: Option<&Operation>) -> Option<String> {
    match config {
        Loadable::Loading => Some("Loading the storage configuration…".to_owned()),
        Loadable::Failed(_) => Some("The storage configuration could not be loaded.".to_owned()),
        Loadable::Loaded(v) if v.config.is_none() => {
            Some("Configure a bucket first (Storage configuration above).".to_owned())
        }
        Loadable::Loaded(_) => active.map(|op| {
            format!(
                "{} is running: start a new backup when it ends.",
                kind_word(op)
            )
        }),
    }
}

/// The backups whose operation ended with warnings (the table marks them).
fn with_warnings(live: &OperationsState) -> Vec<String> {
    live.operations
        .iter()
        .filter(|o| o.status == OperationStatus::SucceededWithWarnings)
        .filter_map(|o| match &o.outcome {
            Some(Outcome::Backup { backup_id }) => Some(backup_id.clone()),
            _ => None,
        })
        .collect()
}

/// The next scheduled backup with a countdown (`now` in seconds since the epoch): the first
/// of the schedule's next runs still ahead. Nothing without a schedule or a clock.
fn next_run(config: &Loadable<ConfigView>, now: Option<f64>) -> Html {
    let next = config
        .ok()
        .and_then(|v| v.schedule_preview.as_ref())
        .zip(now)
        .and_then(|(p, now)| {
            p.next_runs.iter().find_map(|t| {
                let left = crate::format::parse_rfc3339(t)? - now;
                (left > 0.0).then_some((t, left))
            })
        });
    match next {
        Some((t, left)) => html! {
            <p class="lb-hint" data-testid="next-run">
                { "Next scheduled backup: " }
                <time datetime={t.clone()} title={t.clone()}>{ local_time(t) }</time>
                { " (" }{ crate::format::until(left) }{ ")" }
            </p>
        },
        None => Html::default(),
    }
}

/// What the card draws from: the page's data and what its buttons do.
pub struct BackupsCard<'a> {
    /// The storage configuration (no bucket: nothing to list, nothing to back up).
    pub config: &'a Loadable<ConfigView>,
    /// The catalog.
    pub backups: &'a Loadable<BackupList>,
    /// What the bucket holds (bytes, objects), measured, when known.
    pub stored: Option<(f64, f64)>,
    /// The live operations (a running backup is the table's first row).
    pub live: &'a OperationsState,
    /// Backup Now.
    pub on_backup: Callback<MouseEvent>,
    /// Restore, on a row.
    pub on_restore: Callback<BackupManifest>,
    /// Try loading the catalog again.
    pub on_reload: Callback<()>,
}

impl BackupsCard<'_> {
    /// The card. A plain function rather than a component (a component costs the bundle
    /// its own lifecycle code).
    pub fn view(self) -> Html {
        let active = self.live.active();
        let blocked = backup_blocked(self.config, active);
        let configured = matches!(self.config, Loadable::Loaded(v) if v.config.is_some());
        html! {
            <section class="lb-card" aria-labelledby="lb-backups-h">
                <div class="lb-card-head">
                    <h2 id="lb-backups-h">{ "Backups" }</h2>
                    <button type="button" class="lb-btn lb-btn-primary" onclick={self.on_backup.clone()}
                        disabled={blocked.is_some()} data-testid="backup-now"
                        aria-describedby={blocked.as_ref().map(|_| "lb-backup-blocked")}>
                        { "Backup Now" }
                    </button>
                </div>
                if let (Some(reason), true) = (&blocked, configured) {
                    <p id="lb-backup-blocked" class="lb-note" data-testid="backup-disabled-reason">
                        <span class="lb-i" aria-hidden="true">{ "i" }</span>{ reason.clone() }
                    </p>
                } else if let Some(reason) = &blocked {
                    <p id="lb-backup-blocked" class="lb-sr">{ reason.clone() }</p>
                }
                { next_run(self.config, now()) }
                { self.body(active) }
            </section>
        }
    }

    /// The table, or what stands in for it.
    fn body(self, active: Option<&Operation>) -> Html {
        let running = active
            .filter(|op| matches!(op.kind, OperationKind::Backup { .. }))
            .cloned();
        match (self.config, self.backups) {
            (Loadable::Loaded(v), _) if v.config.is_none() => empty_state(
                "No backups yet.",
                "Configure a bucket to start backing up, then select Backup Now or set a schedule.",
            ),
            (_, Loadable::Loading) => html! {
                <p class="lb-loading" role="status">{ "Loading the backups…" }</p>
            },
            (_, Loadable::Failed(e)) => error_banner(
                e,
                Some("The backups could not be loaded."),
                Some(self.on_reload),
            ),
            (_, Loadable::Loaded(list)) if list.backups.is_empty() && running.is_none() => {
                // Named as the storage card's button is named now.
                let default = matches!(self.config, Loadable::Loaded(v) if v.is_default);
                let empty = empty_state(
                    "No backups yet.",
                    if default {
                        "Select Backup Now to make the first one, or set a schedule with Configure storage above."
                    } else {
                        "Select Backup Now to make the first one, or set a schedule with Edit Configuration above."
                    },
                );
                html! { <>{ damaged(list) }{ empty }</> }
            }
            (_, Loadable::Loaded(list)) => {
                let restore_disabled = active.map(|op| {
                    AttrValue::from(format!(
                        "{} is running: Restore is available again when it ends.",
                        kind_word(op)
                    ))
                });
                let table = backups_table(&BackupsTableProps {
                    backups: list.backups.clone(),
                    running,
                    with_warnings: with_warnings(self.live),
                    restore_disabled,
                    on_restore: self.on_restore,
                    now: now(),
                });
                html! { <>{ damaged(list) }{ table }{ repository(&list.backups, self.stored) }</> }
            }
        }
    }
}

/// The catalog entries that cannot be restored: a warning with each one's date,
/// description and what is wrong, and what to do (nothing when there are none).
fn damaged(list: &BackupList) -> Html {
    if list.damaged.is_empty() {
        return Html::default();
    }
    let items = list.damaged.iter().map(|d| {
        let when = d.started_at.as_deref().map(local_time).unwrap_or_default();
        let what = d.description.clone().unwrap_or_else(|| d.id.clone());
        html! { <li>{ format!("{when} {what} ({}): {}", d.id, d.problem) }</li> }
    });
    html! {
        <div class="lb-banner lb-banner-warn" role="status" data-testid="damaged">
            <span class="lb-banner-icon" aria-hidden="true">{ "▲" }</span>
            <div class="lb-banner-body">
                <p class="lb-banner-title">{ "These backups cannot be restored" }</p>
                <ul class="lb-list">{ for items }</ul>
                <p class="lb-banner-hint">
                    { "Something removed or changed their data in the bucket (a lifecycle rule, another tool, a person). Select Backup Now for a new restorable point, and check the bucket's rules." }
                </p>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiFailure;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn backup_now_says_why_it_cannot_start() {
        let failed = Loadable::Failed(ApiFailure::Network("refused".into()));
        assert_eq!(
            backup_blocked(&Loadable::Loading, None).as_deref(),
            Some("Loading the storage configuration…")
        );
        assert_eq!(
            backup_blocked(&failed, None).as_deref(),
            Some("The storage configuration could not be loaded.")
        );
    }
}
