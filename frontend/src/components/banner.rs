//! An error banner carrying the server's message and hint.

use yew::prelude::*;

use crate::api::ApiFailure;

/// Properties of [`ErrorBanner`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct ErrorBannerProps {
    /// What failed.
    pub failure: ApiFailure,
    /// A lead-in such as "The backups could not be loaded."
    #[prop_or_default]
    pub title: Option<AttrValue>,
    /// Offered as a "Try again" button when given.
    #[prop_or_default]
    pub on_retry: Option<Callback<()>>,
}

/// A banner announced to screen readers (`role="alert"`), with an icon and words so that
/// colour is never the only signal.
#[function_component(ErrorBanner)]
pub fn error_banner(props: &ErrorBannerProps) -> Html {
    let retry = props.on_retry.clone().map(|cb| {
        html! {
            <button type="button" class="lb-btn lb-btn-secondary" onclick={move |_| cb.emit(())}>
                { "Try again" }
            </button>
        }
    });
    html! {
        <div class="lb-banner lb-banner-error" role="alert" data-testid="error-banner">
            <span class="lb-banner-icon" aria-hidden="true">{ "✕" }</span>
            <div class="lb-banner-body">
                if let Some(title) = &props.title {
                    <p class="lb-banner-title">{ title.clone() }</p>
                }
                <p class="lb-banner-message" data-testid="error-message">{ props.failure.message() }</p>
                if let Some(hint) = props.failure.hint() {
                    <p class="lb-banner-hint" data-testid="error-hint">{ hint }</p>
                }
            </div>
            { for retry }
        </div>
    }
}
