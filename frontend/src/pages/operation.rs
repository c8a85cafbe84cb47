//! An operation's progress page, reachable by URL so a reload or a shared link lands here:
//! it fetches the operation, then follows it on the live feed. A finished restore shows
//! the post-restore checklist; a failure shows the error and what to do, and a restore that
//! did not finish offers "Retry restore": the Restore dialog again, for the same backup and
//! namespace.

use lifeboat_shared::ApiError;
use lifeboat_shared::backup::{BackupManifest, StartRestore};
use lifeboat_shared::operation::{OperationKind, OperationStatus, Outcome};
use yew::prelude::*;

use crate::api::{Api, ApiFailure};
use crate::components::banner::error_banner;
use crate::components::checklist::Checklist;
use crate::components::operation_progress::{OperationProgress, title};
use crate::components::restore_dialog::RestoreDialog;
use crate::hooks::{Loadable, Operations, use_fetch};
use crate::router::{Link, Route, use_navigator};
use crate::state::OperationsAction;

/// The Restore dialog opened again by "Retry restore".
#[derive(Debug, Clone, PartialEq)]
struct Retry {
    backup: BackupManifest,
    /// This instance's namespace, when it could be loaded.
    own_namespace: Option<AttrValue>,
    /// The namespace the failed restore went into.
    target_namespace: AttrValue,
}

/// Loads what the Restore dialog needs to retry a restore of `backup_id`.
async fn load_retry(api: &Api, backup_id: &str, target: &str) -> Result<Retry, ApiFailure> {
    let list = api.backups().await?;
    let backup = list
        .backups
        .into_iter()
        .find(|b| b.id == backup_id)
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
    let own_namespace = api
        .instance()
        .await
        .ok()
        .map(|i| AttrValue::from(i.namespace));
    Ok(Retry {
        backup,
        own_namespace,
        target_namespace: AttrValue::from(target.to_owned()),
    })
}

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
    let fetched = use_fetch(id.clone(), move |api| {
        let id = id.clone();
        async move { api.operation(&id).await }
    });
    // The fetched record joins the live state; a newer one from the stream wins.
    {
        let ops = ops.clone();
        use_effect_with(fetched.ok().cloned(), move |op| {
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
        .or_else(|| fetched.ok().cloned());

    // "Retry restore": load the backup, open the dialog, start and follow the new restore.
    let api = use_context::<Api>();
    let navigator = use_navigator();
    let retry = use_state(|| None::<Retry>);
    let retry_busy = use_state(|| false);
    let retry_error = use_state(|| None::<ApiFailure>);
    let open_retry = {
        let api = api.clone();
        let (retry, busy, error) = (retry.clone(), retry_busy.clone(), retry_error.clone());
        Callback::from(move |(backup_id, target): (String, String)| {
            let Some(api) = api.clone() else { return };
            let (retry, busy, error) = (retry.clone(), busy.clone(), error.clone());
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let result = load_retry(&api, &backup_id, &target).await;
                busy.set(false);
                match result {
                    Ok(r) => retry.set(Some(r)),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let close_retry = {
        let (retry, busy, error) = (retry.clone(), retry_busy.clone(), retry_error.clone());
        Callback::from(move |()| {
            if !*busy {
                error.set(None);
                retry.set(None);
            }
        })
    };
    let start_retry = {
        let (api, ops) = (api.clone(), ops.clone());
        let (retry, busy, error) = (retry.clone(), retry_busy.clone(), retry_error.clone());
        Callback::from(move |req: StartRestore| {
            let (Some(api), Some(r)) = (api.clone(), (*retry).clone()) else {
                return;
            };
            let (ops, navigator) = (ops.clone(), navigator.clone());
            let (retry, busy, error) = (retry.clone(), busy.clone(), error.clone());
            busy.set(true);
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let result = api.start_restore(&r.backup.id, &req).await;
                busy.set(false);
                match result {
                    Ok(op) => {
                        let id = op.id.clone();
                        if let Some(ops) = &ops {
                            ops.dispatch(OperationsAction::Upsert(Box::new(op)));
                        }
                        retry.set(None);
                        if let Some(nav) = navigator {
                            nav.push(&Route::Operation { id });
                        }
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };

    let body = match (&op, &*fetched) {
        (Some(op), _) => {
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
            let retry_button = match (&op.kind, failed) {
                (
                    OperationKind::Restore {
                        backup_id,
                        target_namespace,
                        ..
                    },
                    true,
                ) => {
                    let args = (backup_id.clone(), target_namespace.clone());
                    let open = open_retry.clone();
                    html! {
                        <div class="lb-dialog-actions">
                            <button type="button" class="lb-btn lb-btn-primary"
                                disabled={*retry_busy} data-testid="retry-restore"
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
                        <OperationProgress operation={op.clone()} now={crate::pages::now()} />
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
                            if let (Some(e), None) = (&*retry_error, &*retry) {
                                { error_banner(e, Some("The restore cannot be retried."), None) }
                            }
                        }
                    </section>
                    if let Some(items) = checklist {
                        <Checklist {items} />
                    }
                </>
            }
        }
        (None, Loadable::Loading) => html! {
            <p class="lb-loading" role="status">{ "Loading the operation…" }</p>
        },
        (None, Loadable::Failed(e)) => html! {
            { error_banner(e, Some("This operation could not be loaded."), None) }
        },
        (None, Loadable::Loaded(_)) => Html::default(),
    };

    html! {
        <div class="lb-page" data-testid="operation">
            <p class="lb-breadcrumb">
                <Link to={Route::Home}>{ "← Backup and Restore" }</Link>
            </p>
            <h1 class="lb-title" tabindex="-1" ref={heading}>{ "Operation " }{ props.id.clone() }</h1>
            { body }
            if let Some(r) = &*retry {
                <RestoreDialog backup={r.backup.clone()} instance_namespace={r.own_namespace.clone()}
                    initial_namespace={Some(r.target_namespace.clone())}
                    busy={*retry_busy} error={(*retry_error).clone()}
                    on_confirm={start_retry} on_cancel={close_retry} />
            }
        </div>
    }
}
