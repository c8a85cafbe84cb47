//! A modal dialog done right: `role="dialog"`, `aria-modal`, labelled by its heading, focus
//! moved in on open, trapped inside while open (Tab and Shift+Tab wrap around), Escape
//! cancels, and focus returned to the element that opened it when it closes.
//!
//! All listeners sit on the dialog's own element, so nothing global outlives it.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

use crate::components::banner::error_banner;
use crate::hooks::ActionState;

/// What can take focus inside a dialog.
const FOCUSABLE: &str = "button:not([disabled]), input:not([disabled]), textarea:not([disabled]), \
     select:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])";

/// Properties of [`Modal`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct ModalProps {
    /// The id of the element that names the dialog (its heading).
    pub labelledby: AttrValue,
    /// The id of the element that describes it, if any.
    #[prop_or_default]
    pub describedby: Option<AttrValue>,
    /// Escape (or a Cancel button inside) calls this; the parent then stops rendering it.
    pub on_cancel: Callback<()>,
    /// The `data-testid` of the dialog element.
    pub testid: AttrValue,
    /// The content: heading, body and buttons.
    pub children: Html,
}

fn focusables(root: &Element) -> Vec<HtmlElement> {
    let Ok(list) = root.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
        .collect()
}

fn active_element() -> Option<Element> {
    web_sys::window()?.document()?.active_element()
}

/// The modal dialog with its backdrop.
#[function_component(Modal)]
pub fn modal(props: &ModalProps) -> Html {
    let node = use_node_ref();
    {
        let node = node.clone();
        use_effect_with((), move |()| {
            let opener = active_element().and_then(|e| e.dyn_into::<HtmlElement>().ok());
            if let Some(dialog) = node.cast::<Element>() {
                // The field marked `data-autofocus`, else the first focusable element.
                let first = dialog
                    .query_selector("[data-autofocus]")
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into::<HtmlElement>().ok())
                    .or_else(|| focusables(&dialog).into_iter().next())
                    .or_else(|| dialog.dyn_into::<HtmlElement>().ok());
                if let Some(first) = first {
                    let _ = first.focus();
                }
            }
            move || {
                if let Some(opener) = opener.filter(|o| o.is_connected()) {
                    let _ = opener.focus();
                }
            }
        });
    }
    let onkeydown = {
        let node = node.clone();
        let on_cancel = props.on_cancel.clone();
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Escape" | "Esc" => {
                e.prevent_default();
                e.stop_propagation();
                on_cancel.emit(());
            }
            "Tab" => {
                let Some(dialog) = node.cast::<Element>() else {
                    return;
                };
                let all = focusables(&dialog);
                let (Some(first), Some(last)) = (all.first(), all.last()) else {
                    e.prevent_default();
                    return;
                };
                let active = active_element();
                let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
                let at = |el: &HtmlElement| {
                    active
                        .as_ref()
                        .is_some_and(|a| a == el.as_ref() as &Element)
                };
                if e.shift_key() && (at(first) || !inside) {
                    e.prevent_default();
                    let _ = last.focus();
                } else if !e.shift_key() && (at(last) || !inside) {
                    e.prevent_default();
                    let _ = first.focus();
                }
            }
            _ => {}
        })
    };
    html! {
        <div class="lb-backdrop">
            <div ref={node} class="lb-dialog" role="dialog" aria-modal="true"
                aria-labelledby={props.labelledby.clone()}
                aria-describedby={props.describedby.clone()}
                tabindex="-1" {onkeydown} data-testid={props.testid.clone()}>
                { props.children.clone() }
            </div>
        </div>
    }
}

/// What a dialog's submit button says and does.
#[derive(Debug, Clone, Copy)]
pub struct Submit {
    /// Its words, and its words while the start is in flight.
    pub label: (&'static str, &'static str),
    /// Its classes: `lb-btn lb-btn-primary`, or `lb-btn lb-btn-danger` for what cannot be
    /// undone.
    pub class: &'static str,
    /// Its `data-testid`.
    pub testid: &'static str,
    /// Whether it may be pressed now.
    pub enabled: bool,
}

/// The foot of a dialog that starts something: why the last start failed (led by
/// `failed`), Cancel (with its `data-testid`, if any), and the submit button.
pub fn foot(
    start: &ActionState,
    failed: &'static str,
    cancel: Callback<()>,
    cancel_testid: Option<&'static str>,
    submit: Submit,
) -> Html {
    html! {
        <>
            if let Some(error) = &start.error {
                { error_banner(error, Some(failed), None) }
            }
            <div class="lb-dialog-actions">
                <button type="button" class="lb-btn lb-btn-secondary"
                    onclick={move |_| cancel.emit(())} data-testid={cancel_testid}>{ "Cancel" }</button>
                <button type="submit" class={submit.class} disabled={!submit.enabled}
                    data-testid={submit.testid}>
                    { if start.busy { submit.label.1 } else { submit.label.0 } }
                </button>
            </div>
        </>
    }
}
