//! The result of a verify: each check with its status, message and hint.

use lifeboat_shared::config::{RepositoryState, VerifyReport};
use yew::prelude::*;

use crate::api::ApiFailure;
use crate::components::banner::error_banner;
use crate::components::status;

/// The repository state in words an admin can act on.
pub fn repository(state: RepositoryState) -> &'static str {
    match state {
        RepositoryState::Empty => {
            "No backups are stored here yet: the first backup creates the repository."
        }
        RepositoryState::Ready => {
            "Lifeboat backups are stored here, and this configuration opens them."
        }
        RepositoryState::PassphraseMismatch => {
            "The Lifeboat backups stored here were made with a different passphrase: set the one they were made with where the check above says."
        }
        RepositoryState::Foreign => {
            "Something other than Lifeboat backups is stored under this prefix: choose another prefix or bucket."
        }
        RepositoryState::Unknown => {
            "The repository could not be checked (an earlier check failed)."
        }
    }
}

/// The verify result (of a local folder when `local`: it is not called a bucket). A plain
/// function rather than a component (a component costs the bundle its own lifecycle code).
pub fn verify_result(r: &VerifyReport, local: bool) -> Html {
    let checks = r.checks.iter().map(|c| {
        let (icon, word, tone) = status::check(c.status);
        html! {
            <li key={c.id.clone()} class={classes!("lb-check", tone)} data-testid="verify-check"
                data-check={c.id.clone()} data-status={word}>
                <span class="lb-step-icon" aria-hidden="true">{ icon }</span>
                <div>
                    <p>
                        <strong>{ c.title.clone() }</strong>{ format!(" — {word}") }
                        <span class="lb-muted">{ format!(" ({} ms)", c.millis) }</span>
                    </p>
                    <p>{ c.message.clone() }</p>
                    if let Some(h) = &c.hint {
                        <p class="lb-hint"><strong>{ "What to do: " }</strong>{ h.clone() }</p>
                    }
                </div>
            </li>
        }
    });
    let (icon, word, tone) = match (r.ok, local) {
        (true, false) => (
            "✓",
            "The bucket works with this configuration.",
            "lb-tone-ok",
        ),
        (true, true) => (
            "✓",
            "The folder works with this configuration.",
            "lb-tone-ok",
        ),
        (false, false) => (
            "✕",
            "The bucket does not work with this configuration yet.",
            "lb-tone-bad",
        ),
        (false, true) => (
            "✕",
            "The folder does not work with this configuration yet.",
            "lb-tone-bad",
        ),
    };
    html! {
        <div class="lb-verify" data-testid="verify-result" data-ok={r.ok.to_string()}>
            <p class={classes!("lb-verify-summary", tone)}>
                <span aria-hidden="true">{ icon }{ " " }</span><strong>{ word }</strong>
            </p>
            <ul class="lb-checks-list">{ for checks }</ul>
            <p class="lb-repo-state">{ repository(r.repository) }</p>
        </div>
    }
}

/// Where a verify's outcome appears (announced as it changes): why the call failed, or the
/// result (of a local folder when `local`).
pub fn verify_area(error: Option<&ApiFailure>, report: Option<&VerifyReport>, local: bool) -> Html {
    html! {
        <div aria-live="polite">
            if let Some(e) = error {
                { error_banner(e, Some("The verify could not run."), None) }
            }
            if let Some(r) = report {
                { verify_result(r, local) }
            }
        </div>
    }
}

/// A Verify button ("Verifying…", disabled, while one runs).
pub fn verify_button(verifying: bool, onclick: Callback<MouseEvent>, testid: &'static str) -> Html {
    html! {
        <button type="button" class="lb-btn lb-btn-secondary" {onclick}
            disabled={verifying} data-testid={testid}>
            { if verifying { "Verifying…" } else { "Verify" } }
        </button>
    }
}
