//! How the host mounts the page: [`MountOptions`], read from the `mount` call's JS object or
//! the standalone element's attributes.
//!
//! A module of its own, below every other, so that the API client, the root component and
//! the plugin entry points can all read the options without depending on one another.

use wasm_bindgen::prelude::*;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn options_are_normalised() {
        let o = MountOptions::new("https://x.example/", "settings/backup/", false);
        assert_eq!(o.api_base, "https://x.example");
        assert_eq!(o.base_path, "/settings/backup");
        assert_eq!(MountOptions::new("", "", true).base_path, "/");
        assert_eq!(MountOptions::new("", "/", true).base_path, "/");
    }
}
