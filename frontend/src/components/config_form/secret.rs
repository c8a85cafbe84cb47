//! The managed Secret fieldset (the kubernetes runtime), in place of the Credentials and
//! Encryption passphrase fieldsets: the Secret Lifeboat reads, the keys found in it, those the
//! provider needs that are missing, and the `kubectl` command that creates it.

use lifeboat_shared::config::ManagedSecret;
use yew::prelude::*;

use super::inputs::{Form, Input};
use crate::config_draft::{
    ConfigDraft, PASSPHRASE_KEY, ProviderKind, create_secret_command, field, missing_secret_keys,
};

/// The fieldset; `namespace` is the instance's, when the page knows it.
pub fn managed_secret(
    form: &Form<'_>,
    d: &ConfigDraft,
    s: &ManagedSecret,
    namespace: Option<&str>,
) -> Html {
    let renamed = d.provider.is_cloud() && d.secret_name.trim() != s.name;
    html! {
        <fieldset class="lb-fieldset" data-testid="managed-secret">
            <legend>{ "Credentials and passphrase" }</legend>
            <p>
                { "They come from the Kubernetes Secret " }
                <code data-testid="managed-secret-name">{ s.name.clone() }</code>
                { ", which Lifeboat only reads: change them there, with kubectl." }
            </p>
            if d.provider.is_cloud() {
                { form.input(field::SECRET_NAME, "Secret name", &d.secret_name, |d, v| d.secret_name = v, Input::Text(true, (
                    Some("The Secret in this namespace that Lifeboat reads the bucket's credentials from."), None))) }
                if renamed {
                    <p class="lb-hint">{ "Save to read that Secret instead; what follows is about the one read now." }</p>
                }
            }
            if let Some(problem) = &s.problem {
                <p class="lb-error" role="alert" data-testid="managed-secret-problem">
                    <span aria-hidden="true">{ "✕ " }</span>{ problem.clone() }
                </p>
            } else {
                { keys(d.provider, &s.keys) }
            }
            <p class="lb-hint">{ "To create it for this provider (replace the placeholders with your values):" }</p>
            <pre class="lb-log lb-cmd" tabindex="0" data-testid="managed-secret-command"><code>
                { create_secret_command(d.provider, namespace, &s.name) }
            </code></pre>
            if d.provider == ProviderKind::Azure {
                <p class="lb-hint">{ "With a SAS token: " }<code>{ "--from-literal=AZURE_SAS_TOKEN='...'" }</code>{ " in place of the account key." }</p>
            }
        </fieldset>
    }
}

/// The keys found (names only), the ones the provider needs that are missing, and whether
/// backups will be encrypted.
fn keys(provider: ProviderKind, found: &[String]) -> Html {
    let missing = missing_secret_keys(provider, found);
    let passphrase = if found.iter().any(|k| k == PASSPHRASE_KEY) {
        (
            "lb-tone-ok",
            "🔒 ",
            "RESTIC_PASSPHRASE: passphrase set in the Secret; backups are encrypted.",
        )
    } else {
        (
            "lb-note lb-tone-warn",
            "▲ ",
            "No passphrase: backups are not encrypted (RESTIC_PASSPHRASE is optional).",
        )
    };
    html! {
        <>
            <p id="lb-secret-keys">{ "Keys found in the Secret:" }</p>
            if found.is_empty() {
                <p class="lb-hint" data-testid="managed-secret-keys">{ "None." }</p>
            } else {
                <ul class="lb-checks-list" aria-labelledby="lb-secret-keys" data-testid="managed-secret-keys">
                    { for found.iter().map(|k| html! {
                        <li><span class="lb-tone-ok" aria-hidden="true">{ "✓ " }</span><code>{ k.clone() }</code></li>
                    }) }
                </ul>
            }
            if !missing.is_empty() {
                <p class="lb-note lb-tone-warn" data-testid="managed-secret-missing">
                    <span aria-hidden="true">{ "▲ " }</span>
                    { format!("Missing for {}: {}.", provider.label(), missing.join(", ")) }
                </p>
            }
            <p class={passphrase.0} data-testid="managed-secret-passphrase">
                <span aria-hidden="true">{ passphrase.1 }</span>{ passphrase.2 }
            </p>
        </>
    }
}
