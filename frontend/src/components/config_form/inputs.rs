//! The form's inputs: what every part of the form draws a field with (the draft, which
//! errors to show, the setters that change the draft and mark a field touched).

use yew::prelude::*;

use crate::components::field::Field;
use crate::config_draft::{ConfigDraft, Errors};

/// Sets one text field of the draft.
pub type Apply = fn(&mut ConfigDraft, String);

/// A text field's help: the hint under its label and its placeholder.
pub type Help = (Option<&'static str>, Option<&'static str>);

/// The element id of a field.
pub fn id(key: &str) -> String {
    format!("lb-cfg-{key}")
}

/// The form's state, borrowed by the functions that draw its parts.
pub struct Form<'a> {
    /// The draft as typed.
    pub draft: &'a UseStateHandle<ConfigDraft>,
    /// The fields the admin has typed into (their errors show before a submit).
    pub touched: &'a UseStateHandle<Vec<&'static str>>,
    /// The draft's problems, field by field.
    pub errors: &'a Errors,
    /// Save or Verify was selected: every error shows.
    pub submitted: bool,
    /// Credentials are stored (the write-only fields say so).
    pub credentials_set: bool,
}

impl Form<'_> {
    /// The error to show under a field: once it is touched, or after a submit.
    fn shown(&self, key: &'static str) -> Option<String> {
        self.errors
            .get(key)
            .filter(|_| self.submitted || self.touched.contains(&key))
            .cloned()
    }

    /// A setter for one text field: updates the draft and marks the field touched.
    fn setter(&self, key: &'static str, apply: Apply) -> Callback<String> {
        let (draft, touched) = (self.draft.clone(), self.touched.clone());
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
    }

    /// A change that is not text (radio, select, checkbox). Boxed, so that the callback is
    /// compiled once rather than once per change.
    pub fn update(&self, apply: Box<dyn Fn(&mut ConfigDraft)>) -> Callback<Event> {
        let draft = self.draft.clone();
        Callback::from(move |_: Event| {
            let mut next = (*draft).clone();
            apply(&mut next);
            draft.set(next);
        })
    }

    /// One input of the form, of the given kind.
    pub fn input(
        &self,
        key: &'static str,
        label: &'static str,
        value: &str,
        apply: Apply,
        kind: Input,
    ) -> Html {
        let stored = if self.credentials_set {
            "stored; leave empty to keep"
        } else {
            "not stored yet"
        };
        // (type, required, multiline, autocomplete, hint, placeholder)
        let (ty, required, multiline, autocomplete, (hint, placeholder)) = match kind {
            Input::Text(required, help) => ("text", required, false, "off", help),
            Input::Secret(multiline) => (
                "password",
                false,
                multiline,
                "new-password",
                (None, Some(stored)),
            ),
            Input::Passphrase => ("password", true, false, "new-password", (None, None)),
            Input::Count => ("number", true, false, "off", (None, Some("0"))),
        };
        html! {
            <Field id={id(key)} label={label} value={value.to_owned()} on_input={self.setter(key, apply)}
                error={self.shown(key)} kind={ty} required={required} multiline={multiline}
                autocomplete={autocomplete} hint={hint.map(AttrValue::Static)}
                placeholder={placeholder.map(AttrValue::Static)} testid={format!("config-{key}")} />
        }
    }
}

/// What kind of input a field is.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    /// Plain text: whether it is required, and its help.
    Text(bool, Help),
    /// A write-only credential, never shown again once stored (a textarea when `true`).
    Secret(bool),
    /// A passphrase (required when shown).
    Passphrase,
    /// A retention count.
    Count,
}
