//! A modal dialog done right: `role="dialog"`, `aria-modal`, labelled by its heading, focus
//! moved in on open (to the field marked `data-autofocus`, else the first focusable one),
//! trapped inside while open (Tab and Shift+Tab wrap around), Escape cancels, and focus
//! returned to the element that opened it when it closes.
//!
//! Everything behind it is `inert` while it is open (the browser then neither focuses nor
//! clicks it), so a key or a click can never reach the page behind: an open destructive
//! dialog cannot be swapped for another under a confirmation typed into it. Focus that
//! falls out of the dialog anyway (its focused button was disabled while a request ran) is
//! brought back after the next render (to the error that says why, when there is one), and
//! until then the document's Escape and Tab still act for the dialog. Those two document
//! listeners, and the `inert` marks, go when the dialog does.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
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

fn focus_in(dialog: &Element, selector: &str) -> bool {
    dialog
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        .is_some_and(|e| e.focus().is_ok())
}

/// Marks every element beside the path from `dialog` up to `<body>` `inert`, and returns
/// the ones it marked (those already inert are left as they were).
fn make_inert_behind(dialog: &Element) -> Vec<Element> {
    let mut marked = Vec::new();
    let mut at = dialog.clone();
    while let Some(parent) = at.parent_element() {
        let children = parent.children();
        for i in 0..children.length() {
            let Some(sibling) = children.item(i) else {
                continue;
            };
            let skip = matches!(sibling.tag_name().as_str(), "SCRIPT" | "STYLE" | "LINK");
            if sibling != at && !skip && !sibling.has_attribute("inert") {
                let _ = sibling.set_attribute("inert", "");
                marked.push(sibling);
            }
        }
        if parent.tag_name() == "BODY" {
            break;
        }
        at = parent;
    }
    marked
}

/// Escape and Tab pressed while focus is outside the dialog (on the page's body): Escape
/// cancels, Tab moves focus into the dialog. Removed on drop.
struct DocumentKeys {
    document: web_sys::Document,
    listener: Closure<dyn Fn(KeyboardEvent)>,
}

impl DocumentKeys {
    fn install(dialog: Element, on_cancel: Rc<RefCell<Callback<()>>>) -> Option<Self> {
        let document = web_sys::window()?.document()?;
        let listener = Closure::<dyn Fn(KeyboardEvent)>::new(move |e: KeyboardEvent| {
            let inside = active_element().is_some_and(|a| dialog.contains(Some(&a)));
            if inside {
                return; // The dialog's own listener acts.
            }
            match e.key().as_str() {
                "Escape" | "Esc" => {
                    e.prevent_default();
                    on_cancel.borrow().emit(());
                }
                "Tab" => {
                    e.prevent_default();
                    let all = focusables(&dialog);
                    let to = if e.shift_key() {
                        all.last()
                    } else {
                        all.first()
                    };
                    if let Some(to) = to {
                        let _ = to.focus();
                    }
                }
                _ => {}
            }
        });
        document
            .add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref())
            .ok()?;
        Some(Self { document, listener })
    }
}

impl Drop for DocumentKeys {
    fn drop(&mut self) {
        let _ = self
            .document
            .remove_event_listener_with_callback("keydown", self.listener.as_ref().unchecked_ref());
    }
}

/// The modal dialog with its backdrop.
#[function_component(Modal)]
pub fn modal(props: &ModalProps) -> Html {
    let node = use_node_ref();
    // The document's listener reads the newest Cancel (it closes over the page's state).
    let cancel = use_mut_ref(|| props.on_cancel.clone());
    *cancel.borrow_mut() = props.on_cancel.clone();
    {
        let node = node.clone();
        use_effect_with((), move |()| {
            let opener = active_element().and_then(|e| e.dyn_into::<HtmlElement>().ok());
            let mut behind = Vec::new();
            let mut keys = None;
            if let Some(dialog) = node.cast::<Element>() {
                if let Some(backdrop) = dialog.parent_element() {
                    behind = make_inert_behind(&backdrop);
                }
                if !focus_in(&dialog, "[data-autofocus]") {
                    match focusables(&dialog).into_iter().next() {
                        Some(first) => {
                            let _ = first.focus();
                        }
                        None => {
                            let _ = dialog.unchecked_ref::<HtmlElement>().focus();
                        }
                    }
                }
                keys = DocumentKeys::install(dialog, cancel);
            }
            move || {
                drop(keys);
                for el in behind {
                    let _ = el.remove_attribute("inert");
                }
                if let Some(opener) = opener.filter(|o| o.is_connected()) {
                    let _ = opener.focus();
                }
            }
        });
    }
    {
        // After every render: focus that fell out of the dialog comes back, to the error
        // that says why the last request failed when there is one.
        let node = node.clone();
        use_effect(move || {
            if let Some(dialog) = node.cast::<Element>() {
                let inside = active_element().is_some_and(|a| dialog.contains(Some(&a)));
                if !inside && !focus_in(&dialog, "[role=alert]") {
                    let _ = dialog.unchecked_ref::<HtmlElement>().focus();
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
