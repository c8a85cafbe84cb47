//! Edit Configuration: provider and its fields, the credentials Secret, write-only
//! credentials, the passphrase (or, when a Secret managed with kubectl holds those two, what
//! it holds), the schedule and retention, with inline validation, Verify, and Save
//! (disabled, with the reason, while a backup or restore runs).

use lifeboat_shared::config::{ConfigView, PutConfig, SchedulePreview, VerifyReport};
use yew::prelude::*;

use crate::api::ApiFailure;
use crate::components::banner::error_banner;
use crate::components::verify_result::{verify_area, verify_button};
use crate::config_draft::{ConfigDraft, Errors, field};
use crate::hooks::{ActionState, Loadable, use_fetch, use_settled};

mod bucket;
mod inputs;
mod passphrase;
mod schedule;
mod secret;

use inputs::{Form, id};

/// Properties of [`ConfigForm`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct ConfigFormProps {
    /// The saved configuration the form starts from.
    pub view: ConfigView,
    /// The time zone proposed for a new schedule (the browser's).
    #[prop_or(AttrValue::Static("UTC"))]
    pub default_timezone: AttrValue,
    /// Save: in flight, and why the last one failed.
    #[prop_or_default]
    pub save: ActionState,
    /// The verify call: in flight, and why the last one failed.
    #[prop_or_default]
    pub verify_call: ActionState,
    /// The last verify of this draft.
    #[prop_or_default]
    pub verify: Option<VerifyReport>,
    /// Why saving is not possible now (a backup or restore runs).
    #[prop_or_default]
    pub locked_reason: Option<AttrValue>,
    /// The instance's namespace, when known (the managed Secret's `kubectl` command names it).
    #[prop_or_default]
    pub namespace: Option<AttrValue>,
    /// Save, with the request body.
    pub on_save: Callback<PutConfig>,
    /// Verify this draft, with the candidate.
    pub on_verify: Callback<PutConfig>,
    /// Cancel editing.
    pub on_cancel: Callback<()>,
}

fn focus_by_id(element_id: &str) {
    use wasm_bindgen::JsCast;
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(element_id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// The form.
#[function_component(ConfigForm)]
pub fn config_form(props: &ConfigFormProps) -> Html {
    let view = props.view.clone();
    let tz = props.default_timezone.clone();
    let draft = use_state(move || ConfigDraft::from_view(&view, &tz));
    let touched = use_state(Vec::<&'static str>::new);
    let submitted = use_state(|| false);
    // The draft the last Save sent: its refusal shows while the draft is still that one.
    let sent = use_state(|| None::<ConfigDraft>);
    // The draft the last Verify checked: its result (or failure) shows while the draft is
    // still that one (another provider, bucket or passphrase is not what was verified).
    let verified = use_state(|| None::<ConfigDraft>);
    let mut errors = draft.errors();
    let (preview, schedule_error) = use_schedule_preview(&draft, &errors);
    if let Some((key, message)) = schedule_error {
        errors.insert(key, message);
    }

    // Validate everything; when fine, hand the body on, else move focus to the first problem.
    let attempt = |target: Callback<PutConfig>,
                   sent: Option<UseStateHandle<Option<ConfigDraft>>>| {
        let draft = draft.clone();
        let submitted = submitted.clone();
        let first = errors.first();
        move || {
            submitted.set(true);
            match first {
                None => {
                    if let Some(sent) = &sent {
                        sent.set(Some((*draft).clone()));
                    }
                    target.emit(draft.to_put())
                }
                Some(first) => focus_by_id(&id(first)),
            }
        }
    };
    let onsubmit = {
        let go = attempt(props.on_save.clone(), Some(sent.clone()));
        let locked = props.locked_reason.is_some() || props.save.busy;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if !locked {
                go();
            }
        })
    };
    let onverify = {
        let go = attempt(props.on_verify.clone(), Some(verified.clone()));
        Callback::from(move |_: MouseEvent| go())
    };

    let v = &props.view;
    let form = Form {
        draft: &draft,
        touched: &touched,
        errors: &errors,
        submitted: *submitted,
        credentials_set: v.credentials_set,
    };
    let d = &*draft;
    html! {
        <form class="lb-form" {onsubmit} novalidate=true data-testid="config-form" aria-labelledby="lb-cfg-title">
            <h3 id="lb-cfg-title" class="lb-sr">{ "Edit Configuration" }</h3>
            { bucket::bucket(&form, d) }
            if let Some(s) = &v.managed_secret {
                { secret::managed_secret(&form, d, s, props.namespace.as_deref()) }
            } else {
                if d.provider.is_cloud() {
                    { bucket::credentials(&form, d, v) }
                }
                { passphrase::passphrase(&form, d, v.passphrase_set) }
            }
            { schedule::schedule(&form, d, preview.as_ref()) }
            { schedule::retention(&form, d) }
            { footer(props, *submitted, ((*sent).as_ref() == Some(d), (*verified).as_ref() == Some(d), !d.provider.is_cloud()), &errors, onverify) }
        </form>
    }
}

/// The schedule as typed, explained by the server once the typing pauses and the form's own
/// checks pass: the preview to show, and the server's objection (a schedule that never
/// runs, a zone the browser knows and the server does not) for the field it names.
#[hook]
fn use_schedule_preview(
    d: &ConfigDraft,
    errors: &Errors,
) -> (Option<SchedulePreview>, Option<(&'static str, String)>) {
    let typed = (d.schedule_enabled
        && !errors.contains_key(field::CRON)
        && !errors.contains_key(field::TIMEZONE))
    .then(|| (d.cron.trim().to_owned(), d.timezone.trim().to_owned()));
    let settled = use_settled(typed.clone(), 400);
    let current = settled == typed;
    let fetched = use_fetch(settled.clone(), move |api| {
        let settled = settled.clone();
        async move {
            match settled {
                Some((cron, tz)) => api.schedule_preview(&cron, &tz).await.map(Some),
                None => Ok(None),
            }
        }
    });
    match (&*fetched, current) {
        (Loadable::Loaded(p), true) => (p.clone(), None),
        (Loadable::Failed(ApiFailure::Server(e)), true) => {
            let key = if e.code == "invalid_timezone" {
                field::TIMEZONE
            } else {
                field::CRON
            };
            (None, Some((key, e.message.clone())))
        }
        _ => (None, None),
    }
}

/// Under the fieldsets: why the save or verify failed (each while the draft is the one
/// sent), the verify's result, why saving is not possible, how many fields need correcting,
/// and the buttons.
fn footer(
    props: &ConfigFormProps,
    submitted: bool,
    (refused_draft, verified_draft, local): (bool, bool, bool),
    errors: &Errors,
    onverify: Callback<MouseEvent>,
) -> Html {
    let cancel = props.on_cancel.clone();
    let save_blocked = props.locked_reason.is_some() || props.save.busy;
    html! {
        <>
            if let (Some(e), true) = (&props.save.error, refused_draft) {
                { error_banner(e, Some("The configuration was not saved."), None) }
            }
            if verified_draft {
                { verify_area(props.verify_call.error.as_ref(), props.verify.as_ref(), local) }
            }
            if let Some(reason) = &props.locked_reason {
                <p id="lb-save-reason" class="lb-note" data-testid="save-disabled-reason">
                    <span class="lb-i" aria-hidden="true">{ "i" }</span>{ reason.clone() }
                </p>
            }
            if submitted && !errors.is_empty() {
                <p class="lb-error" role="alert">
                    <span aria-hidden="true">{ "✕ " }</span>
                    { format!("Correct the {} highlighted field{} first.", errors.len(), if errors.len() == 1 { "" } else { "s" }) }
                </p>
            }
            <div class="lb-actions">
                <button type="submit" class="lb-btn lb-btn-primary" disabled={save_blocked}
                    aria-describedby={props.locked_reason.as_ref().map(|_| "lb-save-reason")}
                    data-testid="save-config">
                    { if props.save.busy { "Saving and verifying…" } else { "Save" } }
                </button>
                { verify_button(props.verify_call.busy, onverify, "verify-config") }
                <button type="button" class="lb-btn lb-btn-link" onclick={move |_| cancel.emit(())}
                    data-testid="cancel-config">{ "Cancel" }</button>
            </div>
        </>
    }
}
