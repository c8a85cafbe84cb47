//! Edit Configuration: provider and its fields, the credentials Secret, write-only
//! credentials, the passphrase, the schedule and retention, with inline validation, Verify,
//! and Save (disabled, with the reason, while a backup or restore runs).

use lifeboat_shared::config::{ConfigView, PutConfig, VerifyReport};
use yew::prelude::*;

use crate::api::ApiFailure;
use crate::components::banner::error_banner;
use crate::components::field::{Field, event_value};
use crate::components::verify_result::verify_result;
use crate::config_draft::{AzureSecret, ConfigDraft, PassphraseMode, ProviderKind, field};
use crate::format;

/// Properties of [`ConfigForm`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct ConfigFormProps {
    /// The saved configuration the form starts from.
    pub view: ConfigView,
    /// The time zone proposed for a new schedule (the browser's).
    #[prop_or(AttrValue::Static("UTC"))]
    pub default_timezone: AttrValue,
    /// A save is in flight.
    #[prop_or_default]
    pub saving: bool,
    /// A verify is in flight.
    #[prop_or_default]
    pub verifying: bool,
    /// The last verify of this draft.
    #[prop_or_default]
    pub verify: Option<VerifyReport>,
    /// Why the last save failed.
    #[prop_or_default]
    pub error: Option<ApiFailure>,
    /// Why the last verify call failed.
    #[prop_or_default]
    pub verify_error: Option<ApiFailure>,
    /// Why saving is not possible now (a backup or restore runs).
    #[prop_or_default]
    pub locked_reason: Option<AttrValue>,
    /// Save, with the request body.
    pub on_save: Callback<PutConfig>,
    /// Verify this draft, with the candidate.
    pub on_verify: Callback<PutConfig>,
    /// Cancel editing.
    pub on_cancel: Callback<()>,
}

fn id(key: &str) -> String {
    format!("lb-cfg-{key}")
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
    let errors = draft.errors();
    let shown = |key: &'static str| -> Option<String> {
        errors
            .get(key)
            .filter(|_| *submitted || touched.contains(&key))
            .cloned()
    };

    // A setter for one text field: updates the draft and marks the field touched.
    let setter = |key: &'static str, apply: fn(&mut ConfigDraft, String)| -> Callback<String> {
        let draft = draft.clone();
        let touched = touched.clone();
        Callback::from(move |value: String| {
            let mut next = (*draft).clone();
            apply(&mut next, value);
            draft.set(next);
            if !touched.contains(&key) {
                let mut t = (*touched).clone();
                t.push(key);
                touched.set(t);
            }
        })
    };
    // A change that is not text (radio, select, checkbox).
    let update = |apply: Box<dyn Fn(&mut ConfigDraft)>| -> Callback<Event> {
        let draft = draft.clone();
        Callback::from(move |_: Event| {
            let mut next = (*draft).clone();
            apply(&mut next);
            draft.set(next);
        })
    };

    // Validate everything; when fine, hand the body on, else move focus to the first problem.
    let attempt = |target: Callback<PutConfig>| {
        let draft = draft.clone();
        let submitted = submitted.clone();
        move || {
            submitted.set(true);
            match draft.errors().first() {
                None => target.emit(draft.to_put()),
                Some(first) => focus_by_id(&id(first)),
            }
        }
    };
    let onsubmit = {
        let go = attempt(props.on_save.clone());
        let locked = props.locked_reason.is_some() || props.saving;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if !locked {
                go();
            }
        })
    };
    let onverify = {
        let go = attempt(props.on_verify.clone());
        Callback::from(move |_: MouseEvent| go())
    };
    let cancel = props.on_cancel.clone();

    let d = &*draft;
    let v = &props.view;
    let text = |key: &'static str,
                label: &'static str,
                value: &str,
                apply: fn(&mut ConfigDraft, String),
                required: bool,
                hint: Option<&'static str>,
                placeholder: Option<&'static str>| {
        html! {
            <Field id={id(key)} label={label} value={value.to_owned()} on_input={setter(key, apply)}
                error={shown(key)} required={required}
                hint={hint.map(AttrValue::Static)} placeholder={placeholder.map(AttrValue::Static)}
                testid={format!("config-{key}")} />
        }
    };
    let secret = |key: &'static str,
                  label: &'static str,
                  value: &str,
                  apply: fn(&mut ConfigDraft, String),
                  multiline: bool| {
        let placeholder = if v.credentials_set {
            "stored; leave empty to keep"
        } else {
            "not stored yet"
        };
        html! {
            <Field id={id(key)} label={label} value={value.to_owned()} on_input={setter(key, apply)}
                error={shown(key)} kind="password" multiline={multiline} autocomplete="new-password"
                placeholder={AttrValue::Static(placeholder)} testid={format!("config-{key}")} />
        }
    };
    let passphrase = |key: &'static str,
                      label: &'static str,
                      value: &str,
                      apply: fn(&mut ConfigDraft, String)| {
        html! {
            <Field id={id(key)} label={label} value={value.to_owned()} on_input={setter(key, apply)}
                error={shown(key)} kind="password" required=true autocomplete="new-password"
                testid={format!("config-{key}")} />
        }
    };

    let on_provider = {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let mut next = (*draft).clone();
            next.provider = ProviderKind::from_value(&event_value(&e));
            draft.set(next);
        })
    };
    let provider_fields = match d.provider {
        ProviderKind::Local => text(
            field::PATH,
            "Folder",
            &d.path,
            |d, v| d.path = v,
            false,
            Some(
                "An absolute path on the Lifeboat host. Leave empty for bucket/ in Lifeboat's data directory.",
            ),
            Some("/var/backups/lifeboat"),
        ),
        ProviderKind::S3 => html! {
            <>
                { text(field::REGION, "Region", &d.region, |d, v| d.region = v, true, None, Some("us-east-1")) }
                { text(field::BUCKET, "Bucket", &d.bucket, |d, v| d.bucket = v, true, None, Some("dash-backups")) }
                { text(field::PREFIX, "Prefix", &d.prefix, |d, v| d.prefix = v, false,
                    Some("A folder inside the bucket, if the bucket is shared with other data."), None) }
                { text(field::ENDPOINT, "Endpoint", &d.endpoint, |d, v| d.endpoint = v, false,
                    Some("Only for S3-compatible stores (MinIO and others; path-style addressing). Leave empty for AWS."),
                    Some("https://minio.example.com")) }
            </>
        },
        ProviderKind::Azure => html! {
            <>
                { text(field::ACCOUNT, "Storage account", &d.account, |d, v| d.account = v, true, None, None) }
                { text(field::BUCKET, "Container", &d.bucket, |d, v| d.bucket = v, true, None, Some("dash-backups")) }
                { text(field::PREFIX, "Prefix", &d.prefix, |d, v| d.prefix = v, false, None, None) }
            </>
        },
        ProviderKind::Gcs => html! {
            <>
                { text(field::BUCKET, "Bucket", &d.bucket, |d, v| d.bucket = v, true, None, Some("dash-backups")) }
                { text(field::PREFIX, "Prefix", &d.prefix, |d, v| d.prefix = v, false, None, None) }
            </>
        },
    };
    let credentials = match d.provider {
        ProviderKind::Local => Html::default(),
        ProviderKind::S3 => html! {
            <>
                { secret(field::ACCESS_KEY_ID, "Access key id", &d.access_key_id, |d, v| d.access_key_id = v, false) }
                { secret(field::SECRET_ACCESS_KEY, "Secret access key", &d.secret_access_key, |d, v| d.secret_access_key = v, false) }
            </>
        },
        ProviderKind::Azure => html! {
            <>
                <fieldset class="lb-fieldset lb-inline">
                    <legend>{ "Azure secret" }</legend>
                    <label class="lb-choice">
                        <input type="radio" name="lb-az-kind" checked={d.azure_kind == AzureSecret::AccountKey}
                            onchange={update(Box::new(|d| d.azure_kind = AzureSecret::AccountKey))} />
                        { "Account key" }
                    </label>
                    <label class="lb-choice">
                        <input type="radio" name="lb-az-kind" checked={d.azure_kind == AzureSecret::Sas}
                            onchange={update(Box::new(|d| d.azure_kind = AzureSecret::Sas))} />
                        { "SAS token" }
                    </label>
                </fieldset>
                { secret(field::AZURE_SECRET,
                    if d.azure_kind == AzureSecret::Sas { "SAS token" } else { "Account key" },
                    &d.azure_secret, |d, v| d.azure_secret = v, false) }
            </>
        },
        ProviderKind::Gcs => secret(
            field::GCS_JSON,
            "Service account JSON key",
            &d.gcs_json,
            |d, v| d.gcs_json = v,
            true,
        ),
    };

    let mode = |m: PassphraseMode| update(Box::new(move |d| d.passphrase_mode = m));
    let passphrase_choice = |m: PassphraseMode, label: &'static str| {
        html! {
            <label class="lb-choice">
                <input type="radio" name="lb-pass-mode" checked={d.passphrase_mode == m} onchange={mode(m)}
                    data-testid={format!("passphrase-{}", match m {
                        PassphraseMode::Keep => "keep",
                        PassphraseMode::Set => "set",
                        PassphraseMode::Change => "change",
                        PassphraseMode::Clear => "clear",
                    })} />
                { label }
            </label>
        }
    };
    let new_pass = html! {
        <>
            { passphrase(field::PASSPHRASE, if d.passphrase_mode == PassphraseMode::Change { "New passphrase" } else { "Passphrase" },
                &d.passphrase, |d, v| d.passphrase = v) }
            { passphrase(field::PASSPHRASE_REPEAT, "Repeat the passphrase", &d.passphrase_repeat, |d, v| d.passphrase_repeat = v) }
        </>
    };

    let saved_schedule = v.config.as_ref().and_then(|c| c.schedule.as_ref());
    let schedule_unchanged =
        saved_schedule.is_some_and(|s| s.cron == d.cron.trim() && s.timezone == d.timezone.trim());

    let save_blocked = props.locked_reason.is_some() || props.saving;
    html! {
        <form class="lb-form" {onsubmit} novalidate=true data-testid="config-form" aria-labelledby="lb-cfg-title">
            <h3 id="lb-cfg-title" class="lb-sr">{ "Edit Configuration" }</h3>
            <fieldset class="lb-fieldset">
                <legend>{ "Bucket" }</legend>
                <div class="lb-field">
                    <label for={id("provider")}>{ "Provider" }</label>
                    <select id={id("provider")} class="lb-input" onchange={on_provider} data-testid="config-provider">
                        { for ProviderKind::ALL.iter().map(|k| html! {
                            <option value={k.value()} selected={*k == d.provider}>{ k.label() }</option>
                        }) }
                    </select>
                </div>
                { provider_fields }
            </fieldset>
            if d.provider.is_cloud() {
                <fieldset class="lb-fieldset">
                    <legend>{ "Credentials" }</legend>
                    { text(field::SECRET_NAME, "Secret name", &d.secret_name, |d, v| d.secret_name = v, true,
                        Some("In Kubernetes, the namespace's Secret that holds the bucket's credentials (see the README for the kubectl command). Here, the name they are stored under."),
                        None) }
                    <p class="lb-hint" id="lb-cred-hint">
                        { if v.credentials_set {
                            "Credentials are stored and never shown again. Leave the fields empty to keep them, or type new ones to replace them."
                        } else {
                            "Write-only: what you type is stored and never shown again. Leave empty if the Kubernetes Secret already holds them."
                        } }
                    </p>
                    { credentials }
                </fieldset>
            }
            <fieldset class="lb-fieldset">
                <legend>{ "Encryption passphrase" }</legend>
                if v.passphrase_set {
                    { passphrase_choice(PassphraseMode::Keep, "Keep the current passphrase") }
                    { passphrase_choice(PassphraseMode::Change, "Change the passphrase (earlier backups stay restorable with the new one)") }
                    { passphrase_choice(PassphraseMode::Clear, "Remove the passphrase") }
                } else {
                    { passphrase_choice(PassphraseMode::Keep, "No passphrase") }
                    { passphrase_choice(PassphraseMode::Set, "Use a passphrase (recommended)") }
                }
                <div class="lb-nested">
                    { match (v.passphrase_set, d.passphrase_mode) {
                        (false, PassphraseMode::Keep) | (true, PassphraseMode::Clear) => html! {
                            <p class="lb-note lb-tone-warn" data-testid="no-passphrase-note">
                                <span aria-hidden="true">{ "▲ " }</span>
                                { "Without a passphrase, backups are not encrypted by Lifeboat: they rely on the bucket's at-rest encryption. \
                                   Backups already made with a passphrase still need it to be restored." }
                            </p>
                        },
                        (_, PassphraseMode::Set) => html! {
                            <>
                                <p class="lb-hint">
                                    { "Restic encrypts every backup with it before it leaves this host. Store it safely: if it is lost or \
                                       changed, backups cannot be restored. If this bucket already holds backups made with a passphrase, \
                                       enter that one." }
                                </p>
                                { new_pass.clone() }
                            </>
                        },
                        (_, PassphraseMode::Change) => html! {
                            <>
                                { passphrase(field::OLD_PASSPHRASE, "Current passphrase", &d.old_passphrase, |d, v| d.old_passphrase = v) }
                                { new_pass.clone() }
                            </>
                        },
                        _ => html! {
                            <p class="lb-hint"><span aria-hidden="true">{ "🔒 " }</span>{ "Backups stay encrypted with the current passphrase." }</p>
                        },
                    } }
                </div>
            </fieldset>
            <fieldset class="lb-fieldset">
                <legend>{ "Schedule Backups" }</legend>
                <label class="lb-choice">
                    <input type="checkbox" checked={d.schedule_enabled} data-testid="config-schedule-enabled"
                        onchange={update(Box::new(|d| d.schedule_enabled = !d.schedule_enabled))} />
                    { "Back up on a schedule" }
                </label>
                if d.schedule_enabled {
                    <div class="lb-nested lb-grid-2">
                        { text(field::CRON, "Cron expression", &d.cron, |d, v| d.cron = v, true,
                            Some("Five fields: minute hour day-of-month month day-of-week. 0 2 * * * is every day at 02:00."), None) }
                        { text(field::TIMEZONE, "Time zone", &d.timezone, |d, v| d.timezone = v, true,
                            Some("An IANA name such as Europe/Berlin or America/New_York; daylight saving is handled."), None) }
                    </div>
                    <div class="lb-nested" aria-live="polite" data-testid="schedule-preview">
                        if let (true, Some(p)) = (schedule_unchanged, &v.schedule_preview) {
                            <p><strong>{ p.description.clone() }</strong></p>
                            if !p.next_runs.is_empty() {
                                <p class="lb-hint">{ "Next runs:" }</p>
                                <ul class="lb-list">
                                    { for p.next_runs.iter().map(|t| html! { <li title={t.clone()}>{ format::date_time(t) }</li> }) }
                                </ul>
                            }
                        } else {
                            <p class="lb-hint">{ "Save to see this schedule in plain words with its next five run times." }</p>
                        }
                    </div>
                    <p class="lb-hint">{ "Tip: schedule backups when Dash Enterprise is quiet. A scheduled backup is skipped while another backup or restore runs." }</p>
                }
            </fieldset>
            <fieldset class="lb-fieldset">
                <legend>{ "Retention" }</legend>
                <p class="lb-hint">{ "Applied after each successful backup. Leave all empty (or 0) to keep every backup." }</p>
                <div class="lb-grid-4">
                    { for [
                        (field::KEEP_LAST, "Keep the latest", &d.keep_last, (|d: &mut ConfigDraft, v| d.keep_last = v) as fn(&mut ConfigDraft, String)),
                        (field::KEEP_DAILY, "Daily backups", &d.keep_daily, |d, v| d.keep_daily = v),
                        (field::KEEP_WEEKLY, "Weekly backups", &d.keep_weekly, |d, v| d.keep_weekly = v),
                        (field::KEEP_MONTHLY, "Monthly backups", &d.keep_monthly, |d, v| d.keep_monthly = v),
                    ].into_iter().map(|(key, label, value, apply)| html! {
                        <Field id={id(key)} label={label} value={value.clone()} on_input={setter(key, apply)}
                            error={shown(key)} kind="number" required=true placeholder="0"
                            testid={format!("config-{key}")} />
                    }) }
                </div>
            </fieldset>
            if let Some(e) = &props.error {
                { error_banner(e, Some("The configuration was not saved."), None) }
            }
            <div aria-live="polite">
                if let Some(e) = &props.verify_error {
                    { error_banner(e, Some("The verify could not run."), None) }
                }
                if let Some(r) = &props.verify {
                    { verify_result(r) }
                }
            </div>
            if let Some(reason) = &props.locked_reason {
                <p id="lb-save-reason" class="lb-note" data-testid="save-disabled-reason">
                    <span aria-hidden="true">{ "ⓘ " }</span>{ reason.clone() }
                </p>
            }
            if *submitted && !errors.is_empty() {
                <p class="lb-error" role="alert">
                    <span aria-hidden="true">{ "✕ " }</span>
                    { format!("Correct the {} highlighted field{} first.", errors.len(), if errors.len() == 1 { "" } else { "s" }) }
                </p>
            }
            <div class="lb-actions">
                <button type="submit" class="lb-btn lb-btn-primary" disabled={save_blocked}
                    aria-describedby={props.locked_reason.as_ref().map(|_| "lb-save-reason")}
                    data-testid="save-config">
                    { if props.saving { "Saving and verifying…" } else { "Save" } }
                </button>
                <button type="button" class="lb-btn lb-btn-secondary" onclick={onverify}
                    disabled={props.verifying} data-testid="verify-config">
                    { if props.verifying { "Verifying…" } else { "Verify" } }
                </button>
                <button type="button" class="lb-btn lb-btn-link" onclick={move |_| cancel.emit(())}
                    data-testid="cancel-config">{ "Cancel" }</button>
            </div>
        </form>
    }
}
