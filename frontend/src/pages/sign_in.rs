//! Standalone and signed out: the sign-in form a page shows in place of its cards.

use yew::prelude::*;

use crate::api::Api;
use crate::hooks::{use_action, use_fetch};
use crate::pages::browser::focus_soon;

/// Standalone and signed out (`failure` is a `401`): the sign-in form, which trades the
/// admin token for a session and loads the same address again, so a deep link (an
/// operation's progress page) comes back to where it pointed. `None` otherwise. Also the
/// health it fetched (whether Keycloak signs in), for a page that shows it too: one
/// `/health` per load.
#[hook]
pub fn use_sign_in(
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
