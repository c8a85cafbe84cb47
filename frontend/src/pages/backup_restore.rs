//! The Backup and Restore page: storage configuration, the operation in progress (or the
//! last one), and the backups with Backup Now and Restore.

use lifeboat_shared::backup::{BackupManifest, StartBackup};
use lifeboat_shared::operation::Operation;
use yew::prelude::*;

use crate::api::Api;
use crate::components::audit::activity;
use crate::components::backup_dialog::BackupDialog;
use crate::components::health_badge::{health_line, health_view};
use crate::components::operation_progress::{operation_progress, title, when};
use crate::components::restore_dialog::RestoreDialog;
use crate::components::status;
use crate::hooks::{Action, Loadable, Operations, use_action, use_fetch, use_redraw_every};
use crate::pages::actions::{StartRestoreAction, dismiss, follow, use_start_restore};
use crate::pages::backups::{BackupsCard, kind_word};
use crate::pages::browser::{focus_soon, now};
use crate::pages::sign_in::use_sign_in;
use crate::pages::storage::StorageSection;
use crate::router::{Link, Route};
use crate::state::{Link as FeedLink, OperationsState};

/// Which dialog is open.
#[derive(Debug, Clone, PartialEq)]
enum Dialog {
    Closed,
    Backup,
    Restore(Box<BackupManifest>),
}

/// Why the configuration cannot be saved now: an operation runs (the page's own view of it,
/// else the server's lock).
fn locked_reason(active: Option<&Operation>, locked_by: Option<&str>) -> Option<AttrValue> {
    let what = match (active, locked_by) {
        (Some(op), _) => kind_word(op).to_owned(),
        (None, Some(id)) => format!("Operation {id}"),
        (None, None) => return None,
    };
    Some(AttrValue::from(format!(
        "{what} is running: the configuration can be saved again when it ends."
    )))
}

/// The page.
#[function_component(BackupRestorePage)]
pub fn backup_restore_page() -> Html {
    let ops = use_context::<Operations>();
    let empty = OperationsState::default();
    let live: &OperationsState = ops.as_deref().unwrap_or(&empty);
    let active = live.active().cloned();
    // The next scheduled backup's countdown, and "5 min ago", stay current.
    use_redraw_every(30_000);

    // The configuration is fetched again when an operation starts or ends (its lock changes).
    let config_reload = use_state(|| 0_u32);
    let config = use_fetch(
        (active.as_ref().map(|o| o.id.clone()), *config_reload),
        |api| async move { api.config().await },
    );
    // The backups are fetched again when a backup succeeds.
    let backups_reload = use_state(|| 0_u32);
    // (Each once per load: the first snapshot of the live operations is no change.)
    let finished = use_since_load(
        live.latest_finished_backup().map(str::to_owned),
        live.loaded,
    );
    let backups = use_fetch((finished.clone(), *backups_reload), |api| async move {
        api.backups().await
    });
    // What the bucket holds, measured, with the catalog.
    let stored = use_fetch((finished, *backups_reload), |api| async move {
        api.bucket_stored().await
    });
    let dialog = use_state(|| Dialog::Closed);
    // Fetched again as the Restore dialog opens: a page loaded while the instance was
    // still starting (503) learns its namespace then.
    let restoring = matches!(*dialog, Dialog::Restore(_));
    let instance = use_fetch(
        restoring,
        |api| async move { api.instance_namespace().await },
    );
    // The audit trail is fetched again when an operation starts or ends.
    let changed = use_since_load(
        live.current().map(|o| (o.id.clone(), o.status)),
        live.loaded,
    );
    // Which page of it, and whether sign-ins are hidden.
    let audit_view = use_state(|| (0_u32, false));
    let (offset, hide) = *audit_view;
    let audit = use_fetch((changed, offset, hide), move |api| async move {
        api.audit(offset, hide).await
    });
    // Standalone and signed out: the sign-in form instead of the cards.
    let (sign_in_form, health) = use_sign_in(match &*config {
        Loadable::Failed(e) => Some(e),
        _ => None,
    });
    let announcement = use_state(String::new);
    let (start_backup, start_restore) = use_start(&dialog, &announcement);
    let locked = locked_reason(
        active.as_ref(),
        config.ok().and_then(|v| v.locked_by.as_deref()),
    );
    let link_note = match live.link {
        FeedLink::Polling if live.loaded => {
            Some("Live updates are unavailable; refreshing every 2 seconds.")
        }
        _ => None,
    };
    let reload = |r: &UseStateHandle<u32>| {
        let r = r.clone();
        Callback::from(move |()| r.set(*r + 1))
    };
    let on_backup = {
        let dialog = dialog.clone();
        Callback::from(move |_: MouseEvent| dialog.set(Dialog::Backup))
    };
    let on_restore = {
        let (dialog, start_restore) = (dialog.clone(), start_restore.clone());
        // A dialog for a backup starts from nothing: no failure of another's start.
        Callback::from(move |b: BackupManifest| {
            start_restore.clear();
            dialog.set(Dialog::Restore(Box::new(b)));
        })
    };
    let backups_card = BackupsCard {
        config: &config,
        backups: &backups,
        stored: stored.ok().copied(),
        live,
        on_backup,
        on_restore,
        on_reload: reload(&backups_reload),
    };
    let instance_namespace = instance.ok().map(|n| AttrValue::from(n.clone()));
    let unavailable = match (&*dialog, backups.ok()) {
        (Dialog::Restore(b), Some(list)) => live.unavailable_for(&list.backups, b.size_bytes),
        _ => None,
    };

    html! {
        <div class="lb-page" data-testid="backup-restore">
            <h1 class="lb-title">{ "Backup and Restore" }</h1>
            <p class="lb-sr" role="status" aria-live="polite">{ (*announcement).clone() }</p>
            if let Some(form) = sign_in_form {
                { form }
            } else {
                <StorageSection config={config.clone()} locked_reason={locked}
                    namespace={instance_namespace.clone()} on_reload={reload(&config_reload)}
                    last_backup={live.latest_finished_backup().map(|b| AttrValue::from(b.to_owned()))} />
                if let Some(op) = live.current() {
                    { current_card(op, link_note) }
                }
                { backups_card.view() }
                { activity(&audit, &audit_view) }
            }
            <footer class="lb-footer">{ health_line(&health_view(&health)) }</footer>
            { dialog_view(&dialog, (instance_namespace, unavailable), &start_backup, &start_restore) }
        </div>
    }
}

/// Start Backup and Start Restore, for the dialogs: a backup that starts is announced, a
/// restore is followed to its page.
#[hook]
fn use_start(
    dialog: &UseStateHandle<Dialog>,
    announcement: &UseStateHandle<String>,
) -> (Action<String>, StartRestoreAction) {
    let ops = use_context::<Operations>();
    let start_backup = {
        let (dialog, announcement) = (dialog.clone(), announcement.clone());
        use_action(move |api: Api, description: String| {
            let (ops, dialog, announcement) = (ops.clone(), dialog.clone(), announcement.clone());
            async move {
                let op = api
                    .start_backup(&StartBackup {
                        backup_type: None,
                        description,
                        include_apps: true,
                    })
                    .await?;
                follow(ops.as_ref(), None, op);
                announcement.set("The backup has started.".to_owned());
                dialog.set(Dialog::Closed);
                focus_soon("#lb-op-h");
                Ok(())
            }
        })
    };
    (start_backup, use_start_restore(closer(dialog)))
}

/// Closes the open dialog.
fn closer(dialog: &UseStateHandle<Dialog>) -> Callback<()> {
    let dialog = dialog.clone();
    Callback::from(move |()| dialog.set(Dialog::Closed))
}

/// `value` once it differs from what it was when the live operations first loaded (before
/// that, and while it is the same, `None`): the key of a fetch that must run again when a
/// new operation ends, not when the first snapshot merely tells the page of the last one.
#[hook]
fn use_since_load<T: Clone + PartialEq + 'static>(value: T, loaded: bool) -> Option<T> {
    let baseline = use_mut_ref(|| None::<T>);
    if !loaded {
        return None;
    }
    let mut b = baseline.borrow_mut();
    let first = b.get_or_insert_with(|| value.clone());
    (*first != value).then_some(value)
}

/// The card of the operation in progress (its bar, percent, step and time left), or one
/// line for the last one, so that the Backups table stays in view.
fn current_card(op: &Operation, link_note: Option<&'static str>) -> Html {
    let now = now();
    let link = html! {
        <Link to={Route::Operation { id: op.id.clone() }} classes="lb-link">
            { "Open the progress page" }
        </Link>
    };
    if op.status.is_terminal() {
        let end = op.finished_at.as_deref().unwrap_or(&op.created_at);
        return html! {
            <section class="lb-card lb-last" aria-labelledby="lb-op-h" data-testid="current-operation">
                <h2 id="lb-op-h">{ "Last operation" }</h2>
                <span data-testid="operation-progress" data-status={status::operation(op.status).1}>
                    { title(op) }{ " " }{ status::badge(status::operation(op.status)) }
                </span>
                <span class="lb-muted">{ when(end, now) }</span>
                { link }
            </section>
        };
    }
    html! {
        <section class="lb-card" aria-labelledby="lb-op-h" data-testid="current-operation">
            <div class="lb-card-head">
                <h2 id="lb-op-h" tabindex="-1">{ "In progress" }</h2>
                { link }
            </div>
            { operation_progress(op, now, false) }
            if let Some(note) = link_note {
                <p class="lb-hint">{ note }</p>
            }
        </section>
    }
}

/// The open dialog, if any. Closing is refused while its start is in flight; it forgets
/// the failure it showed.
fn dialog_view(
    dialog: &UseStateHandle<Dialog>,
    (instance_namespace, unavailable_secs): (Option<AttrValue>, Option<f64>),
    start_backup: &Action<String>,
    start_restore: &StartRestoreAction,
) -> Html {
    let close = dismiss(start_backup, start_restore, closer(dialog));
    match &**dialog {
        Dialog::Closed => Html::default(),
        Dialog::Backup => html! {
            <BackupDialog start={start_backup.state()}
                on_start={start_backup.callback()} on_cancel={close} />
        },
        Dialog::Restore(b) => {
            let id = b.id.clone();
            html! {
                <RestoreDialog key={b.id.clone()} backup={(**b).clone()} instance_namespace={instance_namespace}
                    {unavailable_secs} start={start_restore.state()}
                    on_confirm={start_restore.callback().reform(move |req| (id.clone(), req))}
                    on_cancel={close} />
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_configuration_is_locked_while_an_operation_runs() {
        assert_eq!(locked_reason(None, None), None);
        assert_eq!(
            locked_reason(None, Some("op-1")).as_deref(),
            Some("Operation op-1 is running: the configuration can be saved again when it ends.")
        );
    }
}
