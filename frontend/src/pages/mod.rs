//! Routed pages: they fetch data and compose components.

pub mod backup_restore;
mod backups;
pub mod operation;
pub mod storage;

use lifeboat_shared::backup::StartRestore;
use lifeboat_shared::operation::Operation;
use yew::prelude::*;

use crate::api::Api;
use crate::hooks::{Action, Operations, use_action, use_fetch};
use crate::router::{Navigator, Route, use_navigator};
use crate::state::OperationsAction;

/// An operation the page just started: it joins the live state (before the stream brings
/// it), and with a navigator the page moves to its progress page.
pub(crate) fn follow(ops: Option<&Operations>, navigator: Option<&Navigator>, op: Operation) {
    let id = op.id.clone();
    if let Some(ops) = ops {
        ops.dispatch(OperationsAction::Upsert(Box::new(op)));
    }
    if let Some(nav) = navigator {
        nav.push(&Route::Operation { id });
    }
}

/// Starts the restore of a backup id (with the dialog's request).
pub(crate) type StartRestoreAction = Action<(String, StartRestore)>;

/// "Yes, restore now" in a Restore dialog: starts the restore of a backup id; once it has
/// started, `close` closes the dialog and the page follows the restore to its progress page.
#[hook]
pub(crate) fn use_start_restore(close: Callback<()>) -> StartRestoreAction {
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
pub(crate) fn dismiss<A, B>(
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

/// Standalone and signed out (`failure` is a `401`): the sign-in form, which trades the
/// admin token for a session and loads the same address again, so a deep link (an
/// operation's progress page) comes back to where it pointed. `None` otherwise. Also the
/// health it fetched (whether Keycloak signs in), for a page that shows it too: one
/// `/health` per load.
#[hook]
pub(crate) fn use_sign_in(
    failure: Option<&crate::api::ApiFailure>,
) -> (
    Option<Html>,
    UseStateHandle<crate::hooks::Loadable<lifeboat_shared::Health>>,
) {
    let api = use_context::<Api>();
    let action = use_action(|api: Api, token: String| async move {
        api.sign_in(&token)
            .await
            .inspect_err(|_| focus_soon("[data-testid=signin-error] [role=alert]"))?;
        // Signed in: the page loads again, its data and live updates with it. The form
        // stays busy until the page unloads.
        crate::router::reload();
        std::future::pending::<()>().await;
        Ok(())
    });
    let token = use_state(String::new);
    // Lifeboat says in its health whether it trusts a Keycloak realm to sign in with.
    let health = use_fetch((), |api| async move { api.health().await });
    let Some(reason) = failure.filter(|e| e.signed_out() && api.is_some_and(|a| a.standalone))
    else {
        return (None, health);
    };
    let keycloak = health
        .ok()
        .and_then(|h| h.keycloak_sign_in.clone())
        .map(|start| format!("{start}?return={}", here()));
    let onsubmit = {
        let (action, token) = (action.clone(), token.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            action.run((*token).clone());
        })
    };
    let form = crate::components::sign_in::sign_in(
        reason,
        &token,
        action.busy(),
        action.error().as_ref(),
        onsubmit,
        keycloak,
    );
    (Some(form), health)
}

/// `value` once it differs from what it was when the live operations first loaded (before
/// that, and while it is the same, `None`): the key of a fetch that must run again when a
/// new operation ends, not when the first snapshot merely tells the page of the last one.
#[hook]
pub(crate) fn use_since_load<T: Clone + PartialEq + 'static>(value: T, loaded: bool) -> Option<T> {
    let baseline = use_mut_ref(|| None::<T>);
    if !loaded {
        return None;
    }
    let mut b = baseline.borrow_mut();
    let first = b.get_or_insert_with(|| value.clone());
    (*first != value).then_some(value)
}

/// The page's own path, URL-encoded (where a Keycloak sign-in comes back to).
fn here() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .map(|p| String::from(js_sys::encode_uri_component(&p)))
            .unwrap_or_else(|| "%2F".into())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        "%2F".into()
    }
}

/// Now, in seconds since the epoch (the browser's clock; `None` off the browser).
pub(crate) fn now() -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(js_sys::Date::now() / 1000.0)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Moves focus to the first element matching `selector` once the page has drawn what
/// changed (a new operation's heading, the error that says why something was refused), so
/// that it never falls to the page's body when the button that had it goes away or is
/// disabled.
pub(crate) fn focus_soon(selector: &'static str) {
    gloo_timers::callback::Timeout::new(0, move || {
        use wasm_bindgen::JsCast as _;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    })
    .forget();
}

/// The browser's IANA time zone, proposed for a new schedule; `UTC` when unknown.
pub(crate) fn browser_time_zone() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        if let Some(tz) = js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|v| v.as_string())
        {
            return tz;
        }
    }
    "UTC".to_owned()
}
