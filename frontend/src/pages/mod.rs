//! Routed pages: they fetch data and compose components.

pub mod backup_restore;
pub mod operation;
pub mod storage;

/// Now, in seconds since the epoch (the browser's clock; `None` off the browser).
pub(crate) fn now() -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(js_sys::Date::now() / 1000.0)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Loads the page again (after a sign-in: every fetch and the event stream start over).
pub(crate) fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The browser's IANA time zone, proposed for a new schedule; `UTC` when unknown.
pub(crate) fn browser_time_zone() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        if let Some(tz) = js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|v| v.as_string())
        {
            return tz;
        }
    }
    "UTC".to_owned()
}
