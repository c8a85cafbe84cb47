//! The top bar's corner (standalone): who is signed in, and Sign out.

use yew::prelude::*;

use crate::api::Api;

/// "Signed in as alice" and Sign out, once the session is known; nothing while signed out
/// (the page shows the sign-in form then). A hook the root calls, not a component of its
/// own, and plain state and futures rather than the fetch and action hooks: a component's
/// lifecycle code, or those hooks' code for one more type, would cost the bundle more than
/// this whole corner.
#[hook]
pub fn use_account(api: Option<Api>) -> Html {
    let user = use_state(|| None::<String>);
    let leaving = use_state(|| false);
    {
        let (api, user) = (api.clone(), user.clone());
        use_effect_with((), move |()| {
            if let Some(api) = api {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(u) = api.session_user().await {
                        user.set(Some(u));
                    }
                });
            }
        });
    }
    let Some(name) = (*user).clone() else {
        return Html::default();
    };
    let onclick = {
        let leaving = leaving.clone();
        move |_: MouseEvent| {
            let Some(api) = api.clone() else { return };
            leaving.set(true);
            let leaving = leaving.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // A Keycloak user goes on to end Keycloak's session too; anyone else sees
                // the page signed out.
                match (api.sign_out().await, web_sys::window()) {
                    (Ok(Some(url)), Some(w)) => drop(w.location().assign(&url)),
                    (Ok(_), _) => crate::router::reload(),
                    (Err(_), _) => leaving.set(false),
                }
            });
        }
    };
    html! {
        <span class="lb-account" data-testid="account">
            <span data-testid="account-user"><span class="lb-account-pre">{ "Signed in as " }</span>{ name }</span>
            <button type="button" class="lb-btn lb-btn-link" {onclick} disabled={*leaving}
                data-testid="sign-out">{ "Sign out" }</button>
        </span>
    }
}
