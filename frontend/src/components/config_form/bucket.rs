//! The Bucket and Credentials fieldsets: the provider, its fields, the credentials Secret
//! and the write-only credentials.

use lifeboat_shared::config::ConfigView;
use yew::prelude::*;

use super::inputs::{Form, Input, id};
use crate::components::field::event_value;
use crate::config_draft::{AzureSecret, ConfigDraft, ProviderKind, field};

/// The Bucket fieldset: the provider menu and the provider's fields.
pub fn bucket(form: &Form<'_>, d: &ConfigDraft) -> Html {
    let on_provider = {
        let draft = form.draft.clone();
        Callback::from(move |e: Event| {
            let mut next = (*draft).clone();
            next.provider = ProviderKind::from_value(&event_value(&e));
            draft.set(next);
        })
    };
    let text = Input::Text;
    let fields = match d.provider {
        ProviderKind::Local => form.input(field::PATH, "Folder", &d.path, |d, v| d.path = v, text(false, (
            Some("An absolute path on the Lifeboat host. Leave empty for bucket/ in Lifeboat's data directory."),
            Some("/var/backups/lifeboat"),
        ))),
        ProviderKind::S3 => html! {
            <>
                { form.input(field::REGION, "Region", &d.region, |d, v| d.region = v, text(true, (None, Some("us-east-1")))) }
                { form.input(field::BUCKET, "Bucket", &d.bucket, |d, v| d.bucket = v, text(true, (None, Some("dash-backups")))) }
                { form.input(field::PREFIX, "Prefix", &d.prefix, |d, v| d.prefix = v, text(false,
                    (Some("A folder inside the bucket, if the bucket is shared with other data."), None))) }
                { form.input(field::ENDPOINT, "Endpoint", &d.endpoint, |d, v| d.endpoint = v, text(false, (
                    Some("Only for S3-compatible stores (MinIO and others; path-style addressing). Leave empty for AWS."),
                    Some("https://minio.example.com")))) }
            </>
        },
        ProviderKind::Azure => html! {
            <>
                { form.input(field::ACCOUNT, "Storage account", &d.account, |d, v| d.account = v, text(true, (None, None))) }
                { form.input(field::BUCKET, "Container", &d.bucket, |d, v| d.bucket = v, text(true, (None, Some("dash-backups")))) }
                { form.input(field::PREFIX, "Prefix", &d.prefix, |d, v| d.prefix = v, text(false, (None, None))) }
            </>
        },
        ProviderKind::Gcs => html! {
            <>
                { form.input(field::BUCKET, "Bucket", &d.bucket, |d, v| d.bucket = v, text(true, (None, Some("dash-backups")))) }
                { form.input(field::PREFIX, "Prefix", &d.prefix, |d, v| d.prefix = v, text(false, (None, None))) }
            </>
        },
    };
    html! {
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
            { fields }
        </fieldset>
    }
}

/// The Credentials fieldset (cloud providers only): the Secret's name and the write-only
/// credentials of the provider.
pub fn credentials(form: &Form<'_>, d: &ConfigDraft, v: &ConfigView) -> Html {
    let secrets = match d.provider {
        ProviderKind::Local => Html::default(),
        ProviderKind::S3 => html! {
            <>
                { form.input(field::ACCESS_KEY_ID, "Access key id", &d.access_key_id, |d, v| d.access_key_id = v, Input::Secret(false)) }
                { form.input(field::SECRET_ACCESS_KEY, "Secret access key", &d.secret_access_key, |d, v| d.secret_access_key = v, Input::Secret(false)) }
            </>
        },
        ProviderKind::Azure => html! {
            <>
                <fieldset class="lb-fieldset lb-inline">
                    <legend>{ "Azure secret" }</legend>
                    <label class="lb-choice">
                        <input type="radio" name="lb-az-kind" checked={d.azure_kind == AzureSecret::AccountKey}
                            onchange={form.update(Box::new(|d| d.azure_kind = AzureSecret::AccountKey))} />
                        { "Account key" }
                    </label>
                    <label class="lb-choice">
                        <input type="radio" name="lb-az-kind" checked={d.azure_kind == AzureSecret::Sas}
                            onchange={form.update(Box::new(|d| d.azure_kind = AzureSecret::Sas))} />
                        { "SAS token" }
                    </label>
                </fieldset>
                { form.input(field::AZURE_SECRET,
                    if d.azure_kind == AzureSecret::Sas { "SAS token" } else { "Account key" },
                    &d.azure_secret, |d, v| d.azure_secret = v, Input::Secret(false)) }
            </>
        },
        ProviderKind::Gcs => form.input(
            field::GCS_JSON,
            "Service account JSON key",
            &d.gcs_json,
            |d, v| d.gcs_json = v,
            Input::Secret(true),
        ),
    };
    html! {
        <fieldset class="lb-fieldset">
            <legend>{ "Credentials" }</legend>
            { form.input(field::SECRET_NAME, "Secret name", &d.secret_name, |d, v| d.secret_name = v, Input::Text(true, (
                Some("In Kubernetes, the namespace's Secret that holds the bucket's credentials (see the README for the kubectl command). Here, the name they are stored under."),
                None))) }
            <p class="lb-hint" id="lb-cred-hint">
                { if v.credentials_set {
                    "Credentials are stored and never shown again. Leave the fields empty to keep them, or type new ones to replace them."
                } else {
                    "Write-only: what you type is stored and never shown again. Leave empty if the Kubernetes Secret already holds them."
                } }
            </p>
            { secrets }
        </fieldset>
    }
}
