//! Shows whether the Lifeboat server answers, its version, and whether its instance is
//! still starting.

use lifeboat_shared::{Health, HealthStatus};
use yew::prelude::*;

use crate::api::ApiFailure;
use crate::hooks::Loadable;

/// What the badge knows.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthView {
    /// Waiting for the first answer.
    Loading,
    /// The server answered.
    Up(Health),
    /// The call failed.
    Down(ApiFailure),
}

/// What the page's `GET /api/v1/health` says, for [`health_line`] (the page fetches it:
/// a component of its own here would cost the bundle its lifecycle code).
pub fn health_view(health: &Loadable<Health>) -> HealthView {
    match health {
        Loadable::Loading => HealthView::Loading,
        Loadable::Loaded(h) => HealthView::Up(h.clone()),
        Loadable::Failed(e) => HealthView::Down(e.clone()),
    }
}

/// Properties of [`HealthLine`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct HealthLineProps {
    /// What to show.
    pub view: HealthView,
}

/// Renders a [`HealthView`] as a component; pure, so tests can render every state.
#[function_component(HealthLine)]
pub fn health_line_component(props: &HealthLineProps) -> Html {
    health_line(&props.view)
}

/// Renders a [`HealthView`].
pub fn health_line(view: &HealthView) -> Html {
    let (class, text) = match view {
        HealthView::Loading => ("lb-health", "Checking the Lifeboat server…".to_owned()),
        HealthView::Up(Health {
            instance_start: Some(s),
            version,
            ..
        }) => (
            "lb-health lb-health-warn",
            format!(
                "The instance is starting ({} failed attempts so far; reload to check) · Lifeboat {version}",
                s.failed_attempts
            ),
        ),
        HealthView::Up(h) if h.status == HealthStatus::Ok => (
            "lb-health lb-health-ok",
            format!("Server OK · Lifeboat {}", h.version),
        ),
        HealthView::Up(h) => (
            "lb-health lb-health-warn",
            format!(
                "Server degraded: a tool is missing (see the server log) · Lifeboat {}",
                h.version
            ),
        ),
        HealthView::Down(e) => ("lb-health lb-health-down", e.to_string()),
    };
    html! { <p class={class} role="status" data-testid="health">{ text }</p> }
}
