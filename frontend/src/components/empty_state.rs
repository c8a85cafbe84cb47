//! A titled placeholder that says what to do first.

use yew::prelude::*;

/// Properties of [`EmptyState`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct EmptyStateProps {
    /// One line: what is missing.
    pub title: AttrValue,
    /// What to do about it.
    pub hint: AttrValue,
}

/// An empty state.
#[function_component(EmptyState)]
pub fn empty_state(props: &EmptyStateProps) -> Html {
    html! {
        <div class="lb-empty">
            <p class="lb-empty-title">{ props.title.clone() }</p>
            <p class="lb-empty-hint">{ props.hint.clone() }</p>
        </div>
    }
}
