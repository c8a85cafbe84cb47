//! A labelled form field with its hint and inline error, wired for screen readers.

use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Properties of [`Field`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct FieldProps {
    /// The element id (also used to derive the hint and error ids).
    pub id: AttrValue,
    /// The visible label.
    pub label: AttrValue,
    /// The current value.
    pub value: AttrValue,
    /// Called with the new value on every input.
    pub on_input: Callback<String>,
    /// Shown under the field (with `aria-invalid`) when present.
    #[prop_or_default]
    pub error: Option<String>,
    /// A line of help under the label.
    #[prop_or_default]
    pub hint: Option<AttrValue>,
    /// The input type (`text`, `password`, `number`…); ignored when `multiline`.
    #[prop_or(AttrValue::Static("text"))]
    pub kind: AttrValue,
    /// Placeholder text.
    #[prop_or_default]
    pub placeholder: Option<AttrValue>,
    /// The `autocomplete` attribute.
    #[prop_or(AttrValue::Static("off"))]
    pub autocomplete: AttrValue,
    /// A textarea instead of an input.
    #[prop_or_default]
    pub multiline: bool,
    /// Marks the field required.
    #[prop_or_default]
    pub required: bool,
    /// Disables the field.
    #[prop_or_default]
    pub disabled: bool,
    /// A `data-testid` for the input.
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

/// Reads the value of the input or textarea an event came from.
pub fn event_value(e: &Event) -> String {
    let Some(target) = e.target() else {
        return String::new();
    };
    if let Some(input) = target.dyn_ref::<web_sys::HtmlInputElement>() {
        input.value()
    } else if let Some(area) = target.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        area.value()
    } else if let Some(select) = target.dyn_ref::<web_sys::HtmlSelectElement>() {
        select.value()
    } else {
        String::new()
    }
}

/// A labelled input or textarea.
#[function_component(Field)]
pub fn field(props: &FieldProps) -> Html {
    let hint_id = format!("{}-hint", props.id);
    let error_id = format!("{}-error", props.id);
    let mut described = Vec::new();
    if props.hint.is_some() {
        described.push(hint_id.clone());
    }
    if props.error.is_some() {
        described.push(error_id.clone());
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    let invalid = props.error.as_ref().map(|_| "true");
    let on_input = props.on_input.clone();
    let oninput = Callback::from(move |e: InputEvent| on_input.emit(event_value(&e)));
    // One markup for both controls; only the tag and its own attributes differ (each a
    // static tag, so that yew keeps `value` a live property).
    macro_rules! control {
        ($tag:ident, $($own:tt)*) => {
            html! {
                <$tag id={props.id.clone()} class="lb-input" $($own)*
                    value={props.value.clone()} oninput={oninput.clone()}
                    placeholder={props.placeholder.clone()}
                    aria-describedby={described.clone()} aria-invalid={invalid}
                    required={props.required} disabled={props.disabled}
                    autocomplete={props.autocomplete.clone()}
                    spellcheck="false"
                    data-testid={props.testid.clone()} />
            }
        };
    }
    let control = if props.multiline {
        control!(textarea, rows = "4")
    } else {
        control!(input, type={props.kind.clone()})
    };
    html! {
        <div class={classes!("lb-field", props.error.as_ref().map(|_| "lb-field-invalid"))}>
            <label for={props.id.clone()}>
                { props.label.clone() }
                if !props.required { <span class="lb-optional">{ " (optional)" }</span> }
            </label>
            if let Some(hint) = &props.hint {
                <p id={hint_id} class="lb-hint">{ hint.clone() }</p>
            }
            { control }
            if let Some(error) = &props.error {
                <p id={error_id} class="lb-error">
                    <span aria-hidden="true">{ "✕ " }</span>{ error.clone() }
                </p>
            }
        </div>
    }
}
