//! The plugin contract: `mount(element, options)`, `unmount(element)`, and the standalone
//! auto-start.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use yew::AppHandle;

use crate::app::{App, AppProps};
use crate::mount::MountOptions;

thread_local! {
    static MOUNTED: RefCell<Vec<(web_sys::Element, AppHandle<App>)>> = const { RefCell::new(Vec::new()) };
}

/// Renders the page into `element`. Mounting twice into the same element replaces the
/// first instance.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) {
    mount_with(element, MountOptions::from_js(&options));
}

/// Rust-side `mount`, for the start function and tests.
pub fn mount_with(element: web_sys::Element, options: MountOptions) {
    unmount(element.clone());
    let handle =
        yew::Renderer::<App>::with_root_and_props(element.clone(), AppProps { options }).render();
    MOUNTED.with(|m| m.borrow_mut().push((element, handle)));
}

/// Removes the page from `element`, with its listeners and timers. A no-op if nothing is
/// mounted there.
#[wasm_bindgen]
pub fn unmount(element: web_sys::Element) {
    let handle = MOUNTED.with(|m| {
        let mut mounted = m.borrow_mut();
        let pos = mounted.iter().position(|(e, _)| *e == element)?;
        Some(mounted.swap_remove(pos).1)
    });
    if let Some(handle) = handle {
        handle.destroy();
        element.set_inner_html("");
    }
}

/// How many elements hold a mounted page (for tests and hosts that want to check).
#[wasm_bindgen(js_name = mountedCount)]
pub fn mounted_count() -> usize {
    MOUNTED.with(|m| m.borrow().len())
}

/// Standalone start: mounts into `[data-lifeboat-autostart]` when the page has one.
#[wasm_bindgen(start)]
pub fn start() {
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("[data-lifeboat-autostart]").ok().flatten())
    else {
        return;
    };
    let attr = |name: &str| el.get_attribute(name).unwrap_or_default();
    let options = MountOptions::new(
        &attr("data-api-base"),
        &attr("data-base-path"),
        attr("data-chrome") == "standalone",
    );
    mount_with(el, options);
}
