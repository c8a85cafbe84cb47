//! The Encryption passphrase fieldset: keep, set, change or remove it.

use yew::prelude::*;

use super::inputs::{Form, Input};
use crate::config_draft::{ConfigDraft, PassphraseMode, field};

/// One choice of what to do with the passphrase.
fn choice(form: &Form<'_>, d: &ConfigDraft, m: PassphraseMode, label: &'static str) -> Html {
    let testid = match m {
        PassphraseMode::Keep => "passphrase-keep",
        PassphraseMode::Set => "passphrase-set",
        PassphraseMode::Change => "passphrase-change",
        PassphraseMode::Clear => "passphrase-clear",
    };
    html! {
        <label class="lb-choice">
            <input type="radio" name="lb-pass-mode" checked={d.passphrase_mode == m}
                onchange={form.update(Box::new(move |d| d.passphrase_mode = m))}
                data-testid={testid} />
            { label }
        </label>
    }
}

/// The fieldset; `set` says whether a passphrase is set now.
pub fn passphrase(form: &Form<'_>, d: &ConfigDraft, set: bool) -> Html {
    let new_pass = html! {
        <>
            { form.input(field::PASSPHRASE, if d.passphrase_mode == PassphraseMode::Change { "New passphrase" } else { "Passphrase" },
                &d.passphrase, |d, v| d.passphrase = v, Input::Passphrase) }
            { form.input(field::PASSPHRASE_REPEAT, "Repeat the passphrase", &d.passphrase_repeat, |d, v| d.passphrase_repeat = v, Input::Passphrase) }
        </>
    };
    let detail = match (set, d.passphrase_mode) {
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
                { new_pass }
            </>
        },
        (_, PassphraseMode::Change) => html! {
            <>
                { form.input(field::OLD_PASSPHRASE, "Current passphrase", &d.old_passphrase, |d, v| d.old_passphrase = v, Input::Passphrase) }
                { new_pass }
            </>
        },
        _ => html! {
            <p class="lb-hint"><span aria-hidden="true">{ "🔒 " }</span>{ "Backups stay encrypted with the current passphrase." }</p>
        },
    };
    html! {
        <fieldset class="lb-fieldset">
            <legend>{ "Encryption passphrase" }</legend>
            if set {
                { choice(form, d, PassphraseMode::Keep, "Keep the current passphrase") }
                { choice(form, d, PassphraseMode::Change, "Change the passphrase (earlier backups stay restorable with the new one)") }
                { choice(form, d, PassphraseMode::Clear, "Remove the passphrase") }
            } else {
                { choice(form, d, PassphraseMode::Keep, "No passphrase") }
                { choice(form, d, PassphraseMode::Set, "Use a passphrase (recommended)") }
            }
            <div class="lb-nested">{ detail }</div>
        </fieldset>
    }
}
