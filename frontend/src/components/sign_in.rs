//! The standalone page's sign-in form: "Sign in with Keycloak" when Lifeboat trusts a realm
//! (it runs the authorization code flow itself), and the admin token traded for a session
//! cookie.
//!
//! A plain function of the page's state rather than a component: a component of its own
//! costs the bundle about a kilobyte of lifecycle code.

use yew::prelude::*;

use crate::api::ApiFailure;
use crate::components::banner::error_banner;
use crate::components::field::Field;

/// The sign-in card: `reason` is the server's `401` (its message heads the card), `token`
/// the input's value, `error` a refused sign-in, `keycloak` where a Keycloak sign-in starts.
pub fn sign_in(
    reason: &ApiFailure,
    token: &UseStateHandle<String>,
    busy: bool,
    error: Option<&ApiFailure>,
    onsubmit: Callback<SubmitEvent>,
    keycloak: Option<String>,
) -> Html {
    let on_input = {
        let token = token.clone();
        Callback::from(move |v: String| token.set(v))
    };
    html! {
        <section class="lb-card" aria-labelledby="lb-signin-h" data-testid="signin">
            <h2 id="lb-signin-h">{ reason.message() }</h2>
            if let Some(href) = keycloak {
                <p class="lb-signin-alt"><a class="lb-btn lb-btn-primary" {href} data-testid="signin-keycloak">
                    { "Sign in with Keycloak" }</a></p>
                <p>{ "Or, as Lifeboat's administrator:" }</p>
            }
            <form class="lb-dialog-form" {onsubmit}>
                <Field id="lb-signin-token" label="Admin token" kind="password" required=true
                    value={(**token).clone()} {on_input} autocomplete="current-password"
                    testid="signin-token"
                    hint="It is in the admin-token file in Lifeboat's data dir; or open the one-time sign-in link from Lifeboat's log." />
                if let Some(e) = error {
                    <div data-testid="signin-error">{ error_banner(e, None, None) }</div>
                }
                <div>
                    <button type="submit" class="lb-btn lb-btn-primary" disabled={busy}
                        data-testid="signin-submit">{ "Sign in" }</button>
                </div>
            </form>
        </section>
    }
}
