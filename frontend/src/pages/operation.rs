//! An operation's progress page, reachable by URL so a reload or a shared link lands here:
//! it fetches the operation, then follows it on the live feed. A finished restore shows
//! the post-restore checklist; a failure shows the error and what to do, and a restore that
//! did not finish offers "Retry restore": the Restore dialog again, for the same backup and
//! namespace.

use lifeboat_shared::ApiError;
use lifeboat_shared::backup::BackupManifest;
use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Outcome};
use yew::prelude::*;

use crate::api::{Api, ApiFailure};
use crate::components::banner::error_banner;
use crate::components::operation_progress::{operation_progress, title};
use crate::components::restore_dialog::RestoreDialog;
use crate::hooks::{Action, Loadable, Operations, use_action, use_fetch, use_redraw_every};
use crate::pages::actions::{StartRestoreAction, dismiss, use_start_restore};
use crate::pages::browser::{focus_soon, now};
use crate::pages::sign_in::use_sign_in;
use crate::router::{Link, Route};
use crate::state::OperationsAction;

/// The Restore dialog opened again by "Retry restore".
#[derive(Debug, Clone, PartialEq)]
struct Retry {
    backup: BackupManifest,
    /// This instance's namespace, when it could be loaded.
    own_namespace: Option<AttrValue>,
    /// The namespace the failed restore went into.
    target_namespace: AttrValue,
    /// The apps whose data alone it restored (none: everything).
    apps: Vec<String>,
    /// About how long the platform will be down, judged by the last restore.
    unavailable_secs: Option<f64>,
}

/// Loads what the Restore dialog needs to retry a restore of `backup_id` into `target` (of
/// `apps`' data alone, when some are named; `live`: the operations the page knows, to
/// judge the downtime by).
async fn load_retry(
    api: &Api,
    (backup_id, target, apps): RetryOf,
    live: Option<Operations>,
) -> Result<Retry, ApiFailure> {
    let list = api.backups().await?;
    let backup = list
        .backups
        .iter()
        .find(|b| b.id == backup_id)
        .cloned()
        .ok_or_else(|| {
            ApiFailure::Server(ApiError {
                code: "backup_not_found".to_owned(),
                message: format!("Backup {backup_id} is no longer in the bucket's catalog."),
                hint: Some(
                    "Retention or another instance may have removed it: choose another backup in Backup and Restore."
                        .to_owned(),
                ),
            })
        })?;
    let own_namespace = api.instance_namespace().await.ok().map(AttrValue::from);
    let unavailable_secs = live.and_then(|s| s.unavailable_for(&list.backups, backup.size_bytes));
    Ok(Retry {
        backup,
        own_namespace,
        target_namespace: AttrValue::from(target),
        apps,
        unavailable_secs,
    })
}

/// The restore to retry: the backup's id, the namespace, the apps (none: everything).
type RetryOf = (String, String, Vec<String>);

/// Properties of [`OperationPage`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct OperationPageProps {
    /// The operation id from the URL.
    pub id: AttrValue,
}

/// The page.
#[function_component(OperationPage)]
pub fn operation_page(props: &OperationPageProps) -> Html {
    let ops = use_context::<Operations>();
    let id = props.id.clone();
    // Fetched again whenever the live record changes (about once a second while it runs),
    // for the newest lines of the run's log that come with it.
    let live_revision = ops
        .as_deref()
        .and_then(|s| s.get(&props.id))
        .map(|o| o.revision);
    let fetched = use_fetch((id.clone(), live_revision), move |api| {
        let id = id.clone();
        async move { api.operation(&id).await }
    });
    // The fetched record joins the live state; a newer one from the stream wins.
    {
        let ops = ops.clone();
        use_effect_with(fetched.ok().map(|(op, _)| op.clone()), move |op| {
            if let (Some(op), Some(ops)) = (op, ops) {
                ops.dispatch(OperationsAction::Upsert(Box::new(op.clone())));
            }
        });
    }
    // Focus the heading on arrival, so keyboard and screen reader users start here.
    let heading = use_node_ref();
    {
        let heading = heading.clone();
        use_effect_with(props.id.clone(), move |_| {
            if let Some(h) = heading.cast::<web_sys::HtmlElement>() {
                let _ = h.focus();
            }
        });
    }

    let op = ops
        .as_deref()
        .and_then(|s| s.get(&props.id).cloned())
        .or_else(|| fetched.ok().map(|(op, _)| op.clone()));

    // "Retry restore": load the backup, open the dialog, start and follow the new restore.
    let retry = use_state(|| None::<Retry>);
    let (open_retry, start_retry) = use_retry(&retry);
    // A tick in the checklist is stored in the browser, then drawn.
    let redraw = {
        let update = use_force_update();
        Callback::from(move |()| update.force_update())
    };
    // Signed out, from a deep link: sign in here, then this same page again.
    let (sign_in_form, _) = use_sign_in(match &*fetched {
        Loadable::Failed(e) if op.is_none() => Some(e),
        _ => None,
    });
    let body = match (&op, &*fetched) {
        (None, _) if sign_in_form.is_some() => sign_in_form.unwrap_or_default(),
        (Some(op), _) => operation_view(op, &open_retry, (*retry).is_none(), redraw),
        (None, Loadable::Loading) => html! {
            <p class="lb-loading" role="status">{ "Loading the operation…" }</p>
        },
        (None, Loadable::Failed(e)) => {
            error_banner(e, Some("This operation could not be loaded."), None)
        }
        (None, Loadable::Loaded(_)) => Html::default(),
    };
    let dialog = (*retry).clone().map(|r| {
        let backup_id = r.backup.id.clone();
        html! {
            <RestoreDialog key={r.backup.id.clone()} backup={r.backup.clone()} instance_namespace={r.own_namespace}
                initial_namespace={Some(r.target_namespace)} initial_apps={r.apps}
                unavailable_secs={r.unavailable_secs}
                start={start_retry.state()}
                on_confirm={start_retry.callback().reform(move |req| (backup_id.clone(), req))}
                on_cancel={dismiss(&open_retry, &start_retry, closer(&retry))} />
        }
    });

    let running = op.as_ref().is_some_and(|o| !o.status.is_terminal());
    // The running step's clock moves every second.
    use_redraw_every(if running { 1_000 } else { 60_000 });
    let cancel = use_action(|api: Api, id: AttrValue| async move { api.cancel(&id).await });
    let asking = use_state(|| false);
    let cancel = op
        .as_ref()
        .filter(|_| running)
        .map(|op| cancel_area(op, &props.id, &cancel, &asking));

    html! {
        <div class="lb-page" data-testid="operation">
            <p class="lb-breadcrumb">
                <Link to={Route::Home}>{ "← Backup and Restore" }</Link>
            </p>
            <h1 class="lb-title" tabindex="-1" ref={heading}>
                { op.as_ref().map_or_else(|| format!("Operation {}", props.id), title) }
            </h1>
            <p class="lb-muted" data-testid="operation-id">{ props.id.clone() }</p>
            { body }
            { for cancel }
            if let Some(text) = fetched.ok().map(|(_, log)| log).filter(|t| !t.is_empty()) {
                <section class="lb-card" aria-labelledby="lb-log-h">
                    <details class="lb-details" open={running}>
                        <summary id="lb-log-h">{ "Log of the run" }</summary>
                        <pre class="lb-log" data-testid="operation-log" tabindex="0">{ text.clone() }</pre>
                    </details>
                </section>
            }
            { for dialog }
        </div>
    }
}

/// "Cancel this operation" under a running operation. A restore asks once first
/// (`asking`): stopping it mid-way leaves its namespace without a working system Postgres
/// until a restore succeeds. A plain function rather than a hook or a component (either
/// costs the bundle more code).
fn cancel_area(
    op: &Operation,
    id: &AttrValue,
    cancel: &Action<AttrValue>,
    asking: &UseStateHandle<bool>,
) -> Html {
    let restore_into = match &op.kind {
        OperationKind::Restore {
            target_namespace, ..
        } => Some(target_namespace.clone()),
        _ => None,
    };
    let on_cancel = {
        let (cancel, id, asking) = (cancel.clone(), id.clone(), asking.clone());
        let ask = restore_into.is_some();
        Callback::from(move |_: MouseEvent| {
            if ask && !*asking {
                asking.set(true);
                focus_soon("[data-testid=cancel-confirm]");
            } else {
                asking.set(false);
                cancel.run(id.clone());
            }
        })
    };
    let keep = {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(false))
    };
    html! {
        if let (true, Some(ns)) = (**asking, &restore_into) {
            <div class="lb-banner lb-banner-warn" role="alertdialog" aria-labelledby="lb-cc"
                data-testid="cancel-confirm" tabindex="-1">
                <div class="lb-banner-body">
                    <p class="lb-banner-message" id="lb-cc">
                        { format!("Stop this restore? The system Postgres of namespace {ns} is being replaced: stopped now, it stays stopped and incomplete until a restore succeeds.") }
                    </p>
                    <div class="lb-actions">
                        <button type="button" class="lb-btn lb-btn-danger" onclick={on_cancel}
                            disabled={cancel.busy()} data-testid="cancel-operation-confirm">
                            { "Yes, stop the restore" }
                        </button>
                        <button type="button" class="lb-btn" onclick={keep}>{ "Keep it running" }</button>
                    </div>
                </div>
            </div>
        } else {
            <div class="lb-actions">
                <button type="button" class="lb-btn lb-btn-danger" onclick={on_cancel}
                    disabled={cancel.busy()} data-testid="cancel-operation">
                    { "Cancel this operation" }
                </button>
            </div>
        }
    }
}

/// "Retry restore" (load what the dialog needs, then open it) and the dialog's "Yes,
/// restore now".
#[hook]
fn use_retry(retry: &UseStateHandle<Option<Retry>>) -> (Action<RetryOf>, StartRestoreAction) {
    let ops = use_context::<Operations>();
    let open = {
        let retry = retry.clone();
        use_action(move |api: Api, of: RetryOf| {
            let (retry, ops) = (retry.clone(), ops.clone());
            async move {
                retry.set(Some(load_retry(&api, of, ops).await?));
                Ok(())
            }
        })
    };
    (open, use_start_restore(closer(retry)))
}

/// Closes the Restore dialog.
fn closer(retry: &UseStateHandle<Option<Retry>>) -> Callback<()> {
    let retry = retry.clone();
    Callback::from(move |()| retry.set(None))
}

/// The operation's card (progress; after a failure, what to do and "Retry restore"), and
/// the checklist after a restore.
fn operation_view(
    op: &Operation,
    open_retry: &Action<RetryOf>,
    closed: bool,
    redraw: Callback<()>,
) -> Html {
    let checklist = match (&op.status, &op.outcome) {
        (
            OperationStatus::Succeeded | OperationStatus::SucceededWithWarnings,
            Some(Outcome::Restore { checklist }),
        ) => Some(checklist.clone()),
        _ => None,
    };
    let failed = matches!(
        op.status,
        OperationStatus::Failed | OperationStatus::Interrupted | OperationStatus::Cancelled
    );
    let is_restore = matches!(op.kind, OperationKind::Restore { .. });
    let apps_only = matches!(op.kind, OperationKind::Restore { apps: Some(_), .. });
    let retry_button = match &op.kind {
        OperationKind::Restore {
            backup_id,
            target_namespace,
            apps,
            ..
        } => {
            let args = (
                backup_id.clone(),
                target_namespace.clone(),
                apps.clone().unwrap_or_default(),
            );
            let open = open_retry.callback();
            html! {
                <div class="lb-dialog-actions">
                    <button type="button" class="lb-btn lb-btn-primary"
                        disabled={open_retry.busy()} data-testid="retry-restore"
                        onclick={move |_| open.emit(args.clone())}>
                        { "Retry restore" }
                    </button>
                </div>
            }
        }
        _ => Html::default(),
    };
    html! {
        <>
            <section class="lb-card" aria-labelledby="lb-opp-h">
                <h2 id="lb-opp-h">{ title(op) }</h2>
                { operation_progress(op, now(), true) }
                if let (false, Some(Outcome::Backup { backup_id })) = (failed, &op.outcome) {
                    <p class="lb-note" data-testid="backup-row-link">
                        { "The backup is listed in the " }
                        <Link to={Route::Home} fragment={format!("backup-{backup_id}")}>{ "Backups table" }</Link>
                        { "." }
                    </p>
                }
                if failed {
                    <p class="lb-note" data-testid="retry-note">
                        { if is_restore {
                            "Nothing after the failed step ran. Select Retry restore to restore the same backup into the same namespace again (you confirm it first), or select Restore on another backup in "
                        } else {
                            "No backup was added to the catalog. To try again, select Backup Now in "
                        } }
                        <Link to={Route::Home}>{ "Backup and Restore" }</Link>
                        { "." }
                    </p>
                    { retry_button }
                    if let (Some(e), true) = (open_retry.error(), closed) {
                        { error_banner(&e, Some("The restore cannot be retried."), None) }
                    }
                }
            </section>
            if let Some(items) = checklist {
                { crate::components::checklist::checklist(&items, &op.id, apps_only, redraw) }
            }
        </>
    }
}
