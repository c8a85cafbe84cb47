//! The Restore dialog: what to restore (everything, or only some apps' data), what that
//! replaces, where, and the typed phrase that enables "Yes, restore now".
//!
//! It opens with focus on its title (never on a choice, least of all "This namespace"), so
//! a narrow screen shows it from the top. Pages key it by backup id: a dialog for another
//! backup is a new one, with nothing typed or chosen. Some apps' data goes back only into
//! this instance's namespace (where the apps live), so choosing it hides the target choice.

use lifeboat_shared::backup::{BackupManifest, RESTORE_CONFIRMATION, StartRestore};
use yew::prelude::*;

use crate::components::app_data::{app_names, apps_data};
use crate::components::dialog::{Modal, Submit, foot};
use crate::components::field::event_value;
use crate::components::operation_progress::local_time;
use crate::components::restore_apps::{apps_picker, apps_replaced};
use crate::format;
use crate::hooks::ActionState;
use crate::validate;

/// Properties of [`RestoreDialog`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct RestoreDialogProps {
    /// The backup to restore.
    pub backup: BackupManifest,
    /// This instance's namespace (the in-place target), when known.
    #[prop_or_default]
    pub instance_namespace: Option<AttrValue>,
    /// The target to preselect (retrying a restore into it). Another namespace than this
    /// instance's is preset as a new namespace with "Replace" ticked: what is there is the
    /// half-restored instance the retry is for.
    #[prop_or_default]
    pub initial_namespace: Option<AttrValue>,
    /// The apps to preselect (retrying a restore of some apps' data): the dialog opens on
    /// "Only some apps' data" with them chosen.
    #[prop_or_default]
    pub initial_apps: Vec<String>,
    /// About how long the platform will be unavailable, in seconds (from the last restore's
    /// rate), when there was an earlier restore to judge by.
    #[prop_or_default]
    pub unavailable_secs: Option<f64>,
    /// The start request: in flight, and why the last one failed.
    #[prop_or_default]
    pub start: ActionState,
    /// "Yes, restore now", with the request to send.
    pub on_confirm: Callback<StartRestore>,
    /// Cancel or Escape.
    pub on_cancel: Callback<()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Same,
    New,
}

/// The Restore dialog.
#[function_component(RestoreDialog)]
pub fn restore_dialog(props: &RestoreDialogProps) -> Html {
    let same_ns = props.instance_namespace.clone();
    let preset = props
        .initial_namespace
        .clone()
        .filter(|ns| same_ns.as_deref() != Some(ns.as_str()));
    // The destructive choice is never made for the admin: a new namespace unless this is a
    // retry of a restore in place.
    let retry_in_place = props.initial_namespace.is_some() && preset.is_none();
    let target = use_state(|| {
        if same_ns.is_some() && retry_in_place {
            Target::Same
        } else {
            Target::New
        }
    });
    let new_ns = use_state(|| preset.as_deref().unwrap_or_default().to_owned());
    let ns_touched = use_state(|| false);
    let replace = use_state(|| preset.is_some());
    let phrase = use_state(String::new);
    let some_apps = use_state(|| !props.initial_apps.is_empty());
    let chosen = use_state(|| props.initial_apps.clone());
    let filter = use_state(String::new);

    let apps_unavailable = apps_unavailable(&props.backup, same_ns.is_some());
    let apps_mode = *some_apps && apps_unavailable.is_none();
    let into = if apps_mode { Target::Same } else { *target };
    let ns_problem = match into {
        Target::Same => None,
        Target::New => validate::namespace(&new_ns).err().or_else(|| {
            (same_ns.as_deref() == Some(new_ns.as_str())).then(|| {
                "That is this instance's namespace: choose \"This namespace\" instead.".to_owned()
            })
        }),
    };
    let target_namespace = match into {
        Target::Same => same_ns.as_deref().unwrap_or_default().to_owned(),
        Target::New => (*new_ns).clone(),
    };
    let phrase_ok = *phrase == RESTORE_CONFIRMATION;
    let none_chosen = apps_mode && chosen.is_empty();
    let can_confirm = phrase_ok
        && ns_problem.is_none()
        && !target_namespace.is_empty()
        && !none_chosen
        && !props.start.busy;
    let show_ns_problem = ns_problem.clone().filter(|_| *ns_touched);

    let onsubmit = {
        let on_confirm = props.on_confirm.clone();
        let replace_existing = *replace && into == Target::New;
        let target_namespace = target_namespace.clone();
        let apps = apps_mode.then(|| (*chosen).clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if can_confirm {
                on_confirm.emit(StartRestore {
                    confirmation: RESTORE_CONFIRMATION.to_owned(),
                    target_namespace: target_namespace.clone(),
                    replace_existing,
                    apps: apps.clone(),
                    target_time: None,
                });
            }
        })
    };
    let when = local_time(&props.backup.started_at);
    let scope = scope_choice(&some_apps, apps_mode, apps_unavailable);

    html! {
        <Modal labelledby="lb-restore-title" describedby="lb-restore-what"
            on_cancel={props.on_cancel.clone()} testid="restore-dialog">
            <form class="lb-dialog-form" {onsubmit}>
                <h2 id="lb-restore-title" class="lb-dialog-title" tabindex="-1" data-autofocus="">{ format!("Restore the backup of {when}?") }</h2>
                <fieldset class="lb-fieldset">
                    <legend>{ "What to restore" }</legend>
                    { scope }
                    if apps_mode { { apps_picker(&props.backup, &chosen, &filter) } }
                </fieldset>
                if apps_mode {
                    { apps_replaced(&props.backup, &chosen, &target_namespace, &when) }
                } else {
                    { what_is_replaced(&props.backup, &when, props.unavailable_secs) }
                }
                { facts(&props.backup) }
                if apps_mode {
                    <p class="lb-note" data-testid="restore-apps-namespace">
                        <span class="lb-i" aria-hidden="true">{ "i" }</span>
                        { format!("Into this namespace ({target_namespace}) only: an app's data goes back to the app, where it runs. \
                            To restore into a new namespace, choose Everything.") }
                    </p>
                } else {
                    { target_choice(&target, same_ns.as_deref(), (&new_ns, &ns_touched, &replace), show_ns_problem) }
                }
                { phrase_field(&phrase, phrase_ok) }
                if none_chosen {
                    <p class="lb-hint" data-testid="restore-apps-blocked">
                        { "Choose at least one app: the button enables once one is chosen." }
                    </p>
                }
                { foot(&props.start, "The restore could not start.", props.on_cancel.clone(),
                    Some("restore-cancel"), Submit {
                        label: ("Yes, restore now", "Starting the restore…"),
                        class: "lb-btn lb-btn-danger",
                        testid: "restore-confirm",
                        enabled: can_confirm,
                    }) }
            </form>
        </Modal>
    }
}

/// Why "Only some apps' data" cannot be chosen for backup `b`, if it cannot: the backup
/// holds none, or this instance's namespace (`known`), the only one it goes into, is not
/// known.
fn apps_unavailable(b: &BackupManifest, known: bool) -> Option<&'static str> {
    if app_names(b).is_empty() {
        Some("This backup holds no apps' data.")
    } else if !known {
        Some(
            "Unavailable: apps' data goes back only into this instance's namespace, which could \
             not be loaded.",
        )
    } else {
        None
    }
}

/// The typed confirmation, and whether it matches (`ok`).
fn phrase_field(phrase: &UseStateHandle<String>, ok: bool) -> Html {
    let on_phrase = {
        let phrase = phrase.clone();
        Callback::from(move |e: InputEvent| phrase.set(event_value(&e)))
    };
    html! {
        <div class="lb-field">
            <label for="lb-restore-phrase">
                { "To confirm, type " }<strong class="lb-phrase">{ RESTORE_CONFIRMATION }</strong>
            </label>
            <input id="lb-restore-phrase" class="lb-input" type="text" value={(**phrase).clone()}
                oninput={on_phrase} autocomplete="off" spellcheck="false"
                aria-describedby="lb-restore-phrase-state" data-testid="restore-phrase" />
            <p id="lb-restore-phrase-state" class="lb-hint" aria-live="polite">
                { if ok { "✓ Phrase confirmed." } else { "The button enables once the phrase matches exactly." } }
            </p>
        </div>
    }
}

/// "Everything" or "Only some apps' data" (`some_apps`), the second disabled with why
/// (`unavailable`) when it cannot be chosen.
fn scope_choice(
    some_apps: &UseStateHandle<bool>,
    apps_mode: bool,
    unavailable: Option<&'static str>,
) -> Html {
    let pick = |apps: bool| {
        let some_apps = some_apps.clone();
        Callback::from(move |_: Event| some_apps.set(apps))
    };
    html! {
        <>
            <label class="lb-choice">
                <input type="radio" name="lb-restore-scope" value="all" checked={!apps_mode}
                    onchange={pick(false)} data-testid="restore-scope-all" />
                { "Everything: the system (Keycloak, the platform configuration) and every app's data" }
            </label>
            <label class="lb-choice">
                <input type="radio" name="lb-restore-scope" value="apps" checked={apps_mode}
                    disabled={unavailable.is_some()} onchange={pick(true)}
                    aria-describedby={unavailable.map(|_| "lb-restore-apps-why")}
                    data-testid="restore-scope-apps" />
                { "Only some apps' data, in this namespace (the system and other apps untouched)" }
            </label>
            if let Some(why) = unavailable {
                <p id="lb-restore-apps-why" class="lb-hint lb-nested" data-testid="restore-apps-unavailable">{ why }</p>
            }
        </>
    }
}

/// "Restore into": this namespace (`same`, when known) or a new one.
fn target_choice(
    target: &UseStateHandle<Target>,
    same: Option<&str>,
    new: (
        &UseStateHandle<String>,
        &UseStateHandle<bool>,
        &UseStateHandle<bool>,
    ),
    show_ns_problem: Option<String>,
) -> Html {
    let pick = |t: Target| {
        let target = target.clone();
        Callback::from(move |_: Event| target.set(t))
    };
    let same_label = match same {
        Some(ns) => format!("This namespace ({ns})"),
        None => "This namespace (unknown: the instance could not be loaded)".to_owned(),
    };
    html! {
        <fieldset class="lb-fieldset">
            <legend>{ "Restore into" }</legend>
            <label class="lb-choice">
                <input type="radio" name="lb-restore-target" value="same"
                    checked={**target == Target::Same} disabled={same.is_none()}
                    onchange={pick(Target::Same)} data-testid="restore-target-same" />
                { same_label }
            </label>
            <label class="lb-choice">
                <input type="radio" name="lb-restore-target" value="new"
                    checked={**target == Target::New}
                    onchange={pick(Target::New)} data-testid="restore-target-new" />
                { "A new namespace (a second instance, side by side with this one)" }
            </label>
            if **target == Target::New {
                { new_namespace(new.0, new.1, new.2, show_ns_problem) }
            }
        </fieldset>
    }
}

/// What a restore of everything replaces.
fn what_is_replaced(b: &BackupManifest, when: &str, unavailable: Option<f64>) -> Html {
    let apps = app_names(b).len();
    html! {
            <div id="lb-restore-what" class="lb-warning-box" data-testid="restore-what">
                <p>
                    <span aria-hidden="true">{ "▲ " }</span>
                    <strong>{ "Restoring replaces, in the target namespace:" }</strong>
                </p>
                <ul class="lb-list">
                    <li>{ "every user, group and SSO (identity provider) setting, and the Keycloak realm settings;" }</li>
                    <li>{ "the platform configuration" }{ if apps > 0 { ";" } else { "." } }</li>
                    if apps > 0 {
                        <li>{ format!("the own data of the {apps} apps the backup holds (Postgres, Redis, files) and the workspaces' files.") }</li>
                    }
                </ul>
                <p>{ format!("Everything changed there since {when} is lost. The apps themselves are not in the backup: \
                    after the restore you rebuild them, as the checklist will say.") }</p>
                <p data-testid="restore-downtime">
                    { "Restoring into a namespace in use stops its system Postgres: the platform there is \
                    unavailable until the restore ends" }
                    if let Some(secs) = unavailable {
                        { " (about " }{ format::duration(secs) }{ ", judging by the last restore)" }
                    }
                    { "." }
                </p>
            </div>
    }
}

/// Which backup it is: id, description, where it came from, its size and its apps' data.
fn facts(b: &BackupManifest) -> Html {
    let (apps, apps_bytes) = apps_data(b);
    html! {
            <dl class="lb-facts lb-facts-compact">
                <dt>{ "Backup" }</dt><dd><code>{ b.id.clone() }</code></dd>
                if !b.description.is_empty() {
                    <dt>{ "Description" }</dt><dd>{ b.description.clone() }</dd>
                }
                <dt>{ "From namespace" }</dt><dd>{ b.source.namespace.clone() }</dd>
                <dt>{ "Size" }</dt>
                <dd title={format::exact_bytes(b.size_bytes)}>{ format::bytes(b.size_bytes) }</dd>
                <dt>{ "Apps' data" }</dt>
                <dd data-testid="restore-apps-size">
                    { if apps > 0 { format!("{apps} apps, {}", format::bytes(apps_bytes)) } else { "none".to_owned() } }
                </dd>
            </dl>
    }
}

/// The new namespace's name (checked once touched), and whether to replace what is there.
fn new_namespace(
    new_ns: &UseStateHandle<String>,
    ns_touched: &UseStateHandle<bool>,
    replace: &UseStateHandle<bool>,
    show_ns_problem: Option<String>,
) -> Html {
    let on_ns = {
        let new_ns = new_ns.clone();
        let touched = ns_touched.clone();
        Callback::from(move |e: InputEvent| {
            new_ns.set(event_value(&e));
            touched.set(true);
        })
    };
    let on_ns_blur = {
        let touched = ns_touched.clone();
        Callback::from(move |_: FocusEvent| touched.set(true))
    };
    let on_replace = {
        let replace = replace.clone();
        Callback::from(move |_: Event| replace.set(!*replace))
    };
    html! {
        <div class={classes!("lb-field", "lb-nested", show_ns_problem.as_ref().map(|_| "lb-field-invalid"))}>
            <label for="lb-restore-ns">{ "New namespace name" }</label>
            <p id="lb-restore-ns-hint" class="lb-hint">
                { "Lowercase letters, digits and hyphens; up to 63 characters." }
            </p>
            <input id="lb-restore-ns" class="lb-input" type="text" value={(**new_ns).clone()}
                oninput={on_ns} onblur={on_ns_blur} autocomplete="off" spellcheck="false"
                aria-describedby={if show_ns_problem.is_some() { "lb-restore-ns-hint lb-restore-ns-error" } else { "lb-restore-ns-hint" }}
                aria-invalid={show_ns_problem.as_ref().map(|_| "true")}
                data-testid="restore-namespace" />
            if let Some(problem) = &show_ns_problem {
                <p id="lb-restore-ns-error" class="lb-error" data-testid="namespace-error">
                    <span aria-hidden="true">{ "✕ " }</span>{ problem.clone() }
                </p>
            }
            <label class="lb-choice">
                <input type="checkbox" checked={**replace} onchange={on_replace}
                    data-testid="restore-replace" />
                { "Replace the instance already in that namespace, if there is one" }
            </label>
        </div>
    }
}
