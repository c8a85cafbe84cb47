//! The Backup and Restore page: storage configuration, the operation in progress (or the
//! last one), and the backups with Backup Now and Restore.

use lifeboat_shared::backup::{BackupManifest, StartBackup, StartRestore};
use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Outcome};
use yew::prelude::*;

use crate::api::{Api, ApiFailure};
use crate::components::audit::activity;
use crate::components::backup_dialog::BackupDialog;
use crate::components::backups_table::BackupsTable;
use crate::components::banner::error_banner;
use crate::components::empty_state::empty_state;
use crate::components::health_badge::HealthBadge;
use crate::components::operation_progress::OperationProgress;
use crate::components::restore_dialog::RestoreDialog;
use crate::components::sign_in::sign_in;
use crate::hooks::{Loadable, Operations, use_fetch};
use crate::pages::storage::StorageSection;
use crate::router::{Link, Route, use_navigator};
use crate::state::{Link as FeedLink, OperationsAction, OperationsState};

/// Which dialog is open.
#[derive(Debug, Clone, PartialEq)]
enum Dialog {
    Closed,
    Backup,
    Restore(Box<BackupManifest>),
}

fn kind_word(op: &Operation) -> &'static str {
    match op.kind {
        OperationKind::Backup { .. } => "A backup",
        OperationKind::Restore { .. } => "A restore",
        OperationKind::Unknown => "An operation",
    }
}

/// The page.
#[function_component(BackupRestorePage)]
pub fn backup_restore_page() -> Html {
    let api = use_context::<Api>();
    let ops = use_context::<Operations>();
    let navigator = use_navigator();
    let empty = OperationsState::default();
    let live: &OperationsState = ops.as_deref().unwrap_or(&empty);
    let active = live.active().cloned();

    // The configuration is fetched again when an operation starts or ends (its lock changes).
    let config_reload = use_state(|| 0_u32);
    let config = use_fetch(
        (active.as_ref().map(|o| o.id.clone()), *config_reload),
        |api| async move { api.config().await },
    );
    // The backups are fetched again when a backup succeeds.
    let backups_reload = use_state(|| 0_u32);
    let backups = use_fetch(
        (
            live.latest_finished_backup().map(str::to_owned),
            *backups_reload,
        ),
        |api| async move { api.backups().await },
    );
    let instance = use_fetch((), |api| async move { api.instance().await });
    // The audit trail is fetched again when an operation starts or ends.
    let audit = use_fetch(
        live.current().map(|o| (o.id.clone(), o.status)),
        |api| async move { api.audit().await },
    );
    // Standalone and signed out: the sign-in form instead of the cards.
    let signed_out = match &*config {
        Loadable::Failed(e) if e.signed_out() && api.as_ref().is_some_and(|a| a.standalone) => {
            Some(e.clone())
        }
        _ => None,
    };

    let dialog = use_state(|| Dialog::Closed);
    let busy = use_state(|| false);
    let dialog_error = use_state(|| None::<ApiFailure>);
    let announcement = use_state(String::new);
    // The sign-in form's token (standalone, signed out; the form reuses `busy` and
    // `dialog_error`: no dialog is open then).
    let token = use_state(String::new);

    let configured = matches!(&*config, Loadable::Loaded(v) if v.config.is_some());
    let locked_reason: Option<AttrValue> = active
        .as_ref()
        .map(|op| {
            format!(
                "{} is running: the configuration can be saved again when it ends.",
                kind_word(op)
            )
        })
        .or_else(|| {
            config.ok().and_then(|v| v.locked_by.clone()).map(|id| {
                format!(
                    "Operation {id} is running: the configuration can be saved again when it ends."
                )
            })
        })
        .map(AttrValue::from);
    let backup_blocked: Option<String> = match &*config {
        Loadable::Loading => Some("Loading the storage configuration…".to_owned()),
        Loadable::Failed(_) => Some("The storage configuration could not be loaded.".to_owned()),
        Loadable::Loaded(v) if v.config.is_none() => {
            Some("Configure a bucket first (Storage configuration above).".to_owned())
        }
        Loadable::Loaded(_) => active.as_ref().map(|op| {
            format!(
                "{} is running: start a new backup when it ends.",
                kind_word(op)
            )
        }),
    };

    let close = {
        let (dialog, dialog_error, busy) = (dialog.clone(), dialog_error.clone(), busy.clone());
        Callback::from(move |()| {
            if !*busy {
                dialog_error.set(None);
                dialog.set(Dialog::Closed);
            }
        })
    };
    let open_backup = {
        let dialog = dialog.clone();
        Callback::from(move |_: MouseEvent| dialog.set(Dialog::Backup))
    };
    let open_restore = {
        let dialog = dialog.clone();
        Callback::from(move |b: BackupManifest| dialog.set(Dialog::Restore(Box::new(b))))
    };
    let start_backup = {
        let (api, ops) = (api.clone(), ops.clone());
        let (dialog, dialog_error, busy, announcement) = (
            dialog.clone(),
            dialog_error.clone(),
            busy.clone(),
            announcement.clone(),
        );
        Callback::from(move |description: String| {
            let Some(api) = api.clone() else { return };
            let ops = ops.clone();
            let (dialog, dialog_error, busy, announcement) = (
                dialog.clone(),
                dialog_error.clone(),
                busy.clone(),
                announcement.clone(),
            );
            busy.set(true);
            dialog_error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let result = api.start_backup(&StartBackup { description }).await;
                busy.set(false);
                match result {
                    Ok(op) => {
                        if let Some(ops) = &ops {
                            ops.dispatch(OperationsAction::Upsert(Box::new(op)));
                        }
                        announcement.set("The backup has started.".to_owned());
                        dialog.set(Dialog::Closed);
                    }
                    Err(e) => dialog_error.set(Some(e)),
                }
            });
        })
    };
    let start_restore = {
        let (api, ops, navigator) = (api.clone(), ops.clone(), navigator.clone());
        let (dialog, dialog_error, busy) = (dialog.clone(), dialog_error.clone(), busy.clone());
        Callback::from(move |req: StartRestore| {
            let Dialog::Restore(backup) = &*dialog else {
                return;
            };
            let backup_id = backup.id.clone();
            let Some(api) = api.clone() else { return };
            let (ops, navigator) = (ops.clone(), navigator.clone());
            let (dialog, dialog_error, busy) = (dialog.clone(), dialog_error.clone(), busy.clone());
            busy.set(true);
            dialog_error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let result = api.start_restore(&backup_id, &req).await;
                busy.set(false);
                match result {
                    Ok(op) => {
                        let id = op.id.clone();
                        if let Some(ops) = &ops {
                            ops.dispatch(OperationsAction::Upsert(Box::new(op)));
                        }
                        dialog.set(Dialog::Closed);
                        if let Some(nav) = navigator {
                            nav.push(&Route::Operation { id });
                        }
                    }
                    Err(e) => dialog_error.set(Some(e)),
                }
            });
        })
    };

    // The backups card.
    let running_backup = active
        .clone()
        .filter(|op| matches!(op.kind, OperationKind::Backup { .. }));
    let with_warnings: Vec<String> = live
        .operations
        .iter()
        .filter(|o| o.status == OperationStatus::SucceededWithWarnings)
        .filter_map(|o| match &o.outcome {
            Some(Outcome::Backup { backup_id }) => Some(backup_id.clone()),
            _ => None,
        })
        .collect();
    let restore_disabled = active.as_ref().map(|op| {
        AttrValue::from(format!(
            "{} is running: Restore is available again when it ends.",
            kind_word(op)
        ))
    });
    let reload_backups = {
        let r = backups_reload.clone();
        Callback::from(move |()| r.set(*r + 1))
    };
    let backups_body = match (&*config, &*backups) {
        (Loadable::Loaded(v), _) if v.config.is_none() => empty_state(
            "No backups yet.",
            "Configure a bucket to start backing up, then select Backup Now or set a schedule.",
        ),
        (_, Loadable::Loading) => html! {
            <p class="lb-loading" role="status">{ "Loading the backups…" }</p>
        },
        (_, Loadable::Failed(e)) => html! {
            { error_banner(e, Some("The backups could not be loaded."), Some(reload_backups)) }
        },
        (_, Loadable::Loaded(list)) if list.backups.is_empty() && running_backup.is_none() => {
            empty_state(
                "No backups yet.",
                "Select Backup Now to make the first one, or set a schedule with Edit Configuration.",
            )
        }
        (_, Loadable::Loaded(list)) => html! {
            <BackupsTable backups={list.backups.clone()} running={running_backup.clone()}
                with_warnings={with_warnings} restore_disabled={restore_disabled}
                on_restore={open_restore} />
        },
    };

    let current = live.current().cloned();
    let instance_namespace = instance.ok().map(|i| AttrValue::from(i.namespace.clone()));
    let link_note = match live.link {
        FeedLink::Polling if live.loaded => {
            Some("Live updates are unavailable; refreshing every 2 seconds.")
        }
        _ => None,
    };
    let on_sign_in = {
        let (api, token, busy, error) = (
            api.clone(),
            token.clone(),
            busy.clone(),
            dialog_error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(api) = api.clone() else { return };
            let (token, busy, error) = ((*token).clone(), busy.clone(), error.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match api.sign_in(&token).await {
                    // Signed in: the page loads again, its data and live updates with it.
                    Ok(()) => crate::pages::reload(),
                    Err(e) => {
                        busy.set(false);
                        error.set(Some(e));
                    }
                }
            });
        })
    };
    let reload_config = {
        let r = config_reload.clone();
        Callback::from(move |()| r.set(*r + 1))
    };

    html! {
        <div class="lb-page" data-testid="backup-restore">
            <h1 class="lb-title">{ "Backup and Restore" }</h1>
            <p class="lb-sr" role="status" aria-live="polite">{ (*announcement).clone() }</p>
            if let Some(reason) = signed_out {
                { sign_in(&reason, &token, *busy, dialog_error.as_ref(), on_sign_in) }
            } else {
            <StorageSection config={config.clone()} locked_reason={locked_reason}
                on_reload={reload_config} />
            if let Some(op) = current {
                <section class="lb-card" aria-labelledby="lb-op-h" data-testid="current-operation">
                    <div class="lb-card-head">
                        <h2 id="lb-op-h">
                            { if op.status.is_terminal() { "Last operation" } else { "In progress" } }
                        </h2>
                        <Link to={Route::Operation { id: op.id.clone() }} classes="lb-link">
                            { "Open the progress page" }
                        </Link>
                    </div>
                    <OperationProgress operation={op} now={crate::pages::now()} />
                    if let Some(note) = link_note {
                        <p class="lb-hint">{ note }</p>
                    }
                </section>
            }
            <section class="lb-card" aria-labelledby="lb-backups-h">
                <div class="lb-card-head">
                    <h2 id="lb-backups-h">{ "Backups" }</h2>
                    <button type="button" class="lb-btn lb-btn-primary" onclick={open_backup}
                        disabled={backup_blocked.is_some()} data-testid="backup-now"
                        aria-describedby={backup_blocked.as_ref().map(|_| "lb-backup-blocked")}>
                        { "Backup Now" }
                    </button>
                </div>
                if let (Some(reason), true) = (&backup_blocked, configured) {
                    <p id="lb-backup-blocked" class="lb-note" data-testid="backup-disabled-reason">
                        <span aria-hidden="true">{ "ⓘ " }</span>{ reason.clone() }
                    </p>
                } else if let Some(reason) = &backup_blocked {
                    <p id="lb-backup-blocked" class="lb-sr">{ reason.clone() }</p>
                }
                { backups_body }
            </section>
            { activity(&audit) }
            }
            <footer class="lb-footer"><HealthBadge /></footer>
            { match &*dialog {
                Dialog::Closed => Html::default(),
                Dialog::Backup => html! {
                    <BackupDialog busy={*busy} error={(*dialog_error).clone()}
                        on_start={start_backup} on_cancel={close} />
                },
                Dialog::Restore(b) => html! {
                    <RestoreDialog backup={(**b).clone()} instance_namespace={instance_namespace}
                        busy={*busy} error={(*dialog_error).clone()}
                        on_confirm={start_restore} on_cancel={close} />
                },
            } }
        </div>
    }
}
