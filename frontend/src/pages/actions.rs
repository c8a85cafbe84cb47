//! What the pages start and follow: an operation that started joins the live state (and the
//! page moves to its progress page), the Restore dialog's start, and a dialog's Cancel.

use lifeboat_shared::backup::StartRestore;
use lifeboat_shared::operation::Operation;
use yew::prelude::*;

use crate::api::Api;
use crate::hooks::{Action, Operations, use_action};
use crate::router::{Navigator, Route, use_navigator};
use crate::state::OperationsAction;

/// An operation the page just started: it joins the live state (before the stream brings
/// it), and with a navigator the page moves to its progress page.
pub fn follow(ops: Option<&Operations>, navigator: Option<&Navigator>, op: Operation) {
    let id = op.id.clone();
    if let Some(ops) = ops {
        ops.dispatch(OperationsAction::Upsert(Box::new(op)));
    }
    if let Some(nav) = navigator {
        nav.push(&Route::Operation { id });
    }
}

/// Starts the restore of a backup id (with the dialog's request).
pub type StartRestoreAction = Action<(String, StartRestore)>;

/// "Yes, restore now" in a Restore dialog: starts the restore of a backup id; once it has
/// started, `close` closes the dialog and the page follows the restore to its progress page.
#[hook]
pub fn use_start_restore(close: Callback<()>) -> StartRestoreAction {
    let ops = use_context::<Operations>();
    let navigator = use_navigator();
    use_action(move |api: Api, (backup_id, req): (String, StartRestore)| {
        let (ops, navigator, close) = (ops.clone(), navigator.clone(), close.clone());
        async move {
            let op = api.start_restore(&backup_id, &req).await?;
            close.emit(());
            follow(ops.as_ref(), navigator.as_ref(), op);
            Ok(())
        }
    })
}

/// A dialog's Cancel (or Escape): refused while one of its two actions runs (`opening` it
/// or `starting` from it); else their failures are forgotten and `close` closes it.
pub fn dismiss<A, B>(
    opening: &Action<A>,
    starting: &Action<B>,
    close: Callback<()>,
) -> Callback<()> {
    let (opening, starting) = (opening.clone(), starting.clone());
    Callback::from(move |()| {
        if !opening.busy() && !starting.busy() {
            opening.clear();
            starting.clear();
            close.emit(());
        }
    })
}
