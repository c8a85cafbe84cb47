//! An error banner carrying the server's message and hint.

use yew::prelude::*;

use crate::api::ApiFailure;

/// A banner announced to screen readers (`role="alert"`), with an icon and words so that
/// colour is never the only signal: `title` leads in (e.g. "The backups could not be
/// loaded."), then the failure's message and hint, and a "Try again" button when `on_retry`
/// is given. A plain function rather than a component (a component costs the bundle its
/// own lifecycle code).
pub fn error_banner(
    failure: &ApiFailure,
    title: Option<&'static str>,
    on_retry: Option<Callback<()>>,
) -> Html {
    let retry = on_retry.map(|cb| {
        html! {
            <button type="button" class="lb-btn lb-btn-secondary" onclick={move |_| cb.emit(())}>
                { "Try again" }
            </button>
        }
    });
    html! {
        <div class="lb-banner lb-banner-error" role="alert" tabindex="-1" data-testid="error-banner">
            <span class="lb-banner-icon" aria-hidden="true">{ "✕" }</span>
            <div class="lb-banner-body">
                if let Some(title) = title {
                    <p class="lb-banner-title">{ title }</p>
                }
                <p class="lb-banner-message" data-testid="error-message">{ failure.message() }</p>
                if let Some(hint) = failure.hint() {
                    <p class="lb-banner-hint" data-testid="error-hint">{ hint }</p>
                }
            </div>
            { for retry }
        </div>
    }
}
