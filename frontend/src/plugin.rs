//! The plugin contract: `mount(element, options)`, `unmount(element)`, and the standalone
//! auto-start.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use yew::AppHandle;

use crate::app::{App, AppProps};

/// How the host mounts the page.
#[derive(Debug, Clone, PartialEq)]
pub struct MountOptions {
    /// Origin (and path prefix) of the Lifeboat API; empty means the page's own origin.
    pub api_base: String,
    /// The path under which the page's routes live, e.g. `/settings/backup`; `/` at the root.
    pub base_path: String,
    /// Whether to draw the App Manager frame (standalone) or only the section (plugin).
    pub standalone: bool,
    /// The host's `getToken()` (returning the token or a Promise of it): when given, every
    /// API call carries `Authorization: Bearer <token>`, asked for anew each time.
    pub get_token: Option<js_sys::Function>,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            api_base: String::new(),
            base_path: "/".into(),
            standalone: false,
            get_token: None,
        }
    }
}

impl MountOptions {
    /// Builds options from parts, normalising slashes: `api_base` loses a trailing `/`,
    /// `base_path` starts with `/` and has no trailing `/` (except the root itself).
    pub fn new(api_base: &str, base_path: &str, standalone: bool) -> Self {
        let api_base = api_base.trim().trim_end_matches('/').to_owned();
        let trimmed = base_path.trim().trim_matches('/');
        let base_path = if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}")
        };
        Self {
            api_base,
            base_path,
            standalone,
            get_token: None,
        }
    }

    /// Reads `{ apiBase, basePath, standalone, getToken }` from a JS object; missing fields
    /// default (and a `getToken` that is not a function is ignored).
    pub fn from_js(value: &JsValue) -> Self {
        let get = |key: &str| js_sys::Reflect::get(value, &JsValue::from_str(key)).ok();
        let string = |key: &str| get(key).and_then(|v| v.as_string()).unwrap_or_default();
        let standalone = get("standalone").and_then(|v| v.as_bool()).unwrap_or(false);
        Self {
            get_token: get("getToken").and_then(|v| v.dyn_into().ok()),
            ..Self::new(&string("apiBase"), &string("basePath"), standalone)
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_normalised() {
        let o = MountOptions::new("https://x.example/", "settings/backup/", false);
        assert_eq!(o.api_base, "https://x.example");
        assert_eq!(o.base_path, "/settings/backup");
        assert_eq!(MountOptions::new("", "", true).base_path, "/");
        assert_eq!(MountOptions::new("", "/", true).base_path, "/");
    }
}
