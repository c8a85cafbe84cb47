//! A titled placeholder that says what to do first.

use yew::prelude::*;

/// An empty state: `title`, one line saying what is missing, and `hint`, what to do about
/// it. A plain function rather than a component (a component costs the bundle its own
/// lifecycle code).
pub fn empty_state(title: &'static str, hint: &'static str) -> Html {
    html! {
        <div class="lb-empty" data-testid="empty-state">
            <p class="lb-empty-title">{ title }</p>
            <p class="lb-empty-hint">{ hint }</p>
        </div>
    }
}
