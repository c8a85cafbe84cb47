//! Status words and icons: every status is shown with an icon and a word, never by colour
//! alone.

use lifeboat_shared::config::CheckStatus;
use lifeboat_shared::operation::{OperationStatus, StepStatus};
use yew::prelude::*;

/// Icon, word and CSS tone of an operation status.
pub fn operation(status: OperationStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        OperationStatus::Pending => ("…", "Waiting to start", "lb-tone-info"),
        OperationStatus::Running => ("⟳", "Running", "lb-tone-info"),
        OperationStatus::Succeeded => ("✓", "Succeeded", "lb-tone-ok"),
        OperationStatus::SucceededWithWarnings => ("▲", "Succeeded with warnings", "lb-tone-warn"),
        OperationStatus::Failed => ("✕", "Failed", "lb-tone-bad"),
        OperationStatus::Cancelled => ("■", "Cancelled", "lb-tone-muted"),
        OperationStatus::Interrupted => ("!", "Interrupted", "lb-tone-bad"),
        OperationStatus::Unknown => ("?", "Unknown", "lb-tone-muted"),
    }
}

/// Icon, word and CSS tone of a step status.
pub fn step(status: StepStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        StepStatus::Pending => ("○", "Pending", "lb-tone-muted"),
        StepStatus::Running => ("⟳", "Running", "lb-tone-info"),
        StepStatus::Succeeded => ("✓", "Done", "lb-tone-ok"),
        StepStatus::Failed => ("✕", "Failed", "lb-tone-bad"),
        StepStatus::Skipped => ("–", "Skipped", "lb-tone-muted"),
        StepStatus::Cancelled => ("■", "Cancelled", "lb-tone-muted"),
        StepStatus::Unknown => ("?", "Unknown", "lb-tone-muted"),
    }
}

/// Icon, word and CSS tone of a verify check.
pub fn check(status: CheckStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        CheckStatus::Ok => ("✓", "Passed", "lb-tone-ok"),
        CheckStatus::Warning => ("▲", "Warning", "lb-tone-warn"),
        CheckStatus::Failed => ("✕", "Failed", "lb-tone-bad"),
        CheckStatus::Skipped => ("–", "Skipped", "lb-tone-muted"),
        CheckStatus::Unknown => ("?", "Unknown", "lb-tone-muted"),
    }
}

/// Icon, word and CSS tone of a backup in the catalog (`warned`: its operation ended with
/// warnings).
pub fn backup(warned: bool) -> (&'static str, &'static str, &'static str) {
    if warned {
        ("▲", "Completed with warnings", "lb-tone-warn")
    } else {
        ("✓", "Completed", "lb-tone-ok")
    }
}

/// Renders an icon + word pair as a status badge: every status the page draws goes through
/// here.
pub fn badge(parts: (&'static str, &'static str, &'static str)) -> Html {
    badge_with(parts, None)
}

/// A status badge with a detail after the word (a running backup's percent: "Running · 42%").
pub fn badge_with(
    (icon, word, tone): (&'static str, &'static str, &'static str),
    detail: Option<String>,
) -> Html {
    html! {
        <span class={classes!("lb-status", tone)}>
            <span class="lb-status-icon" aria-hidden="true">{ icon }</span>
            { word }
            if let Some(d) = detail { { d } }
        </span>
    }
}
