//! The post-restore checklist: what the admin does after a restore, item by item, with the
//! ticks kept in the browser per operation.

use lifeboat_shared::operation::ChecklistItem;
use yew::prelude::*;

/// The browser's `localStorage`, when it has one (a private window may not).
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Where the ticks of operation `op`'s checklist are kept: `1` ticked, `0` not, by position.
fn key(op: &str) -> String {
    format!("lifeboat-checklist-{op}")
}

/// Copies `text` to the clipboard (where the browser allows it) and says so on the button.
fn copy(text: &str) -> Callback<MouseEvent> {
    let text = wasm_bindgen::JsValue::from_str(text);
    Callback::from(move |e: MouseEvent| {
        let get = |o: &wasm_bindgen::JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok();
        let clipboard = get(&js_sys::global(), "navigator").and_then(|n| get(&n, "clipboard"));
        let write = clipboard.as_ref().and_then(|c| get(c, "writeText"));
        if let (Some(c), Some(w)) = (clipboard, write) {
            use wasm_bindgen::JsCast as _;
            if let Ok(w) = w.dyn_into::<js_sys::Function>()
                && w.call1(&c, &text).is_ok()
                && let Some(button) = e.target_dyn_into::<web_sys::Element>()
            {
                button.set_text_content(Some("Copied"));
            }
        }
    })
}

/// The checklist of `items` (in the order to do them, from `Outcome::Restore`) of operation
/// `op` (`apps_only`: a restore of some apps' data alone); the boxes are for the admin's own
/// tracking, kept across reloads in `localStorage`, with a count of what is done. `redraw`
/// is called after a tick is stored. A plain function rather than a component (a component
/// costs the bundle its own lifecycle code).
pub fn checklist(
    items_in: &[ChecklistItem],
    op: &str,
    apps_only: bool,
    redraw: Callback<()>,
) -> Html {
    let saved = storage()
        .and_then(|s| s.get_item(&key(op)).ok().flatten())
        .unwrap_or_default();
    let ticked = |i: usize| saved.as_bytes().get(i) == Some(&b'1');
    let done = (0..items_in.len()).filter(|i| ticked(*i)).count();
    let items = items_in.iter().enumerate().map(|(i, item)| {
        let id = format!("lb-check-{i}");
        let onchange = {
            let (redraw, key, len) = (redraw.clone(), key(op), items_in.len());
            let mut next: Vec<u8> = (0..len)
                .map(|j| if ticked(j) { b'1' } else { b'0' })
                .collect();
            next[i] ^= 1;
            let next = String::from_utf8(next).unwrap_or_default();
            Callback::from(move |_: Event| {
                if let Some(s) = storage() {
                    let _ = s.set_item(&key, &next);
                }
                redraw.emit(());
            })
        };
        html! {
            <li key={i} class="lb-check-item" data-testid="checklist-item">
                <input type="checkbox" id={id.clone()} checked={ticked(i)} {onchange} />
                <label for={id}>
                    <strong>{ item.action.clone() }</strong>
                    if !item.subject.is_empty() { { ": " }{ item.subject.clone() } }
                    if let Some(d) = &item.detail { { " (" }{ d.clone() }{ ")" } }
                </label>
                if let Some(text) = &item.copy {
                    <code class="lb-copy" data-testid="checklist-copy">{ text.clone() }</code>
                    <button type="button" class="lb-btn lb-btn-link" onclick={copy(text)}>{ "Copy" }</button>
                }
            </li>
        }
    });
    html! {
        <section class="lb-card lb-checklist" aria-labelledby="lb-checklist-h" data-testid="checklist">
            <h2 id="lb-checklist-h">{ "After the restore" }</h2>
            <p data-testid="checklist-what">
                { if apps_only {
                    "Only these apps' data came back, as it was at the backup: the system, Keycloak, the \
                     platform configuration and every other app were not touched."
                } else {
                    "The system database, the platform configuration and the apps' own data the backup held \
                     (databases, Redis, files) are back as they were at the backup. The apps themselves are \
                     not part of the backup: recover them now."
                } }
            </p>
            if items_in.is_empty() {
                <p>{ if apps_only { "Nothing needs doing." } else { "Log in to Dash Enterprise again. Nothing else needs doing." } }</p>
            } else {
                <p class="lb-hint" aria-live="polite" data-testid="checklist-count">
                    { format!("{done} of {} done", items_in.len()) }
                </p>
                <ol class="lb-checks">{ for items }</ol>
            }
            if !apps_only {
                <p class="lb-hint">
                    { "Delete and recreate workspaces from the latest commit rather than rebuilding them: a rebuild \
                       after a restore does not always keep the latest committed files." }
                </p>
            }
        </section>
    }
}
