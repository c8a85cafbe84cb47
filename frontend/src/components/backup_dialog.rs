//! The Backup Now dialog: an optional description with a character counter.

use yew::prelude::*;

use crate::components::dialog::{Modal, Submit, foot};
use crate::components::field::event_value;
use crate::hooks::ActionState;
use crate::validate::{self, DESCRIPTION_MAX};

/// Properties of [`BackupDialog`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct BackupDialogProps {
    /// The start request: in flight, and why the last one failed.
    #[prop_or_default]
    pub start: ActionState,
    /// Start Backup, with the cleaned description.
    pub on_start: Callback<String>,
    /// Cancel or Escape.
    pub on_cancel: Callback<()>,
}

/// The Backup Now dialog.
#[function_component(BackupDialog)]
pub fn backup_dialog(props: &BackupDialogProps) -> Html {
    let text = use_state(String::new);
    let count = text.chars().count();
    let problem = validate::description(&text).err();
    let can_start = problem.is_none() && !props.start.busy;

    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| text.set(event_value(&e)))
    };
    let onsubmit = {
        let text = text.clone();
        let on_start = props.on_start.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if can_start {
                on_start.emit(validate::clean_description(&text));
            }
        })
    };
    let described = if problem.is_some() {
        "lb-desc-count lb-desc-error"
    } else {
        "lb-desc-count"
    };
    html! {
        <Modal labelledby="lb-backup-title" describedby="lb-backup-intro"
            on_cancel={props.on_cancel.clone()} testid="backup-dialog">
            <form class="lb-dialog-form" {onsubmit}>
                <h2 id="lb-backup-title" class="lb-dialog-title">{ "Back up now" }</h2>
                <p id="lb-backup-intro">
                    { "Backs up the system database (users, groups, SSO and Keycloak settings) and the \
                       platform configuration into the configured bucket. For the most consistent backup, \
                       start it when Dash Enterprise is quiet." }
                </p>
                <div class={classes!("lb-field", problem.as_ref().map(|_| "lb-field-invalid"))}>
                    <label for="lb-backup-description">
                        { "Description" }<span class="lb-optional">{ " (optional)" }</span>
                    </label>
                    <textarea id="lb-backup-description" class="lb-input" rows="3"
                        value={(*text).clone()} {oninput} data-autofocus="" data-testid="backup-description"
                        aria-describedby={described}
                        aria-invalid={problem.as_ref().map(|_| "true")}
                        placeholder="e.g. Before upgrading to 5.6" />
                    <p id="lb-desc-count" class={classes!("lb-counter", problem.as_ref().map(|_| "lb-counter-over"))}
                        data-testid="description-counter">
                        { format!("{count} of {DESCRIPTION_MAX} characters") }
                    </p>
                    if let Some(problem) = &problem {
                        <p id="lb-desc-error" class="lb-error" role="alert" data-testid="description-error">
                            <span aria-hidden="true">{ "✕ " }</span>{ problem.clone() }
                        </p>
                    }
                </div>
                { foot(&props.start, "The backup could not start.", props.on_cancel.clone(), None, Submit {
                    label: ("Start Backup", "Starting…"),
                    class: "lb-btn lb-btn-primary",
                    testid: "backup-start",
                    enabled: can_start,
                }) }
            </form>
        </Modal>
    }
}
