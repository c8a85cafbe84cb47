//! An operation's progress page, reachable by URL so a reload or a shared link lands here:
//! it fetches the operation, then follows it on the live feed. A finished restore shows
//! the post-restore checklist; a failure shows the error and what to do.

use lifeboat_shared::operation::{OperationKind, OperationStatus, Outcome};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::banner::ErrorBanner;
use crate::components::checklist::Checklist;
use crate::components::operation_progress::{OperationProgress, title};
use crate::hooks::{Loadable, Operations, use_fetch};
use crate::state::OperationsAction;

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
            html! {
                <>
                    <section class="lb-card" aria-labelledby="lb-opp-h">
                        <h2 id="lb-opp-h">{ title(op) }</h2>
                        <OperationProgress operation={op.clone()} now={crate::pages::now()} />
                        if failed {
                            <p class="lb-note" data-testid="retry-note">
                                { if is_restore {
                                    "Nothing after the failed step ran. To try again, select Restore on the backup in "
                                } else {
                                    "No backup was added to the catalog. To try again, select Backup Now in "
                                } }
                                <Link<Route> to={Route::Home}>{ "Backup and Restore" }</Link<Route>>
                                { "." }
                            </p>
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
            <ErrorBanner failure={e.clone()} title="This operation could not be loaded." />
        },
        (None, Loadable::Loaded(_)) => Html::default(),
    };

    html! {
        <div class="lb-page" data-testid="operation">
            <p class="lb-breadcrumb">
                <Link<Route> to={Route::Home}>{ "← Backup and Restore" }</Link<Route>>
            </p>
            <h1 class="lb-title" tabindex="-1" ref={heading}>{ "Operation " }{ props.id.clone() }</h1>
            { body }
        </div>
    }
}
