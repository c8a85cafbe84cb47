//! What the pages ask of the browser: the clock, focus after an action, the time zone.

/// Now, in seconds since the epoch (the browser's clock; `None` off the browser).
pub fn now() -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(js_sys::Date::now() / 1000.0)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Moves focus to the first element matching `selector` once the page has drawn what
/// changed (a new operation's heading, the error that says why something was refused), so
/// that it never falls to the page's body when the button that had it goes away or is
/// disabled.
pub fn focus_soon(selector: &'static str) {
    gloo_timers::callback::Timeout::new(0, move || {
        use wasm_bindgen::JsCast as _;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    })
    .forget();
}

/// The browser's IANA time zone, proposed for a new schedule; `UTC` when unknown.
pub fn browser_time_zone() -> String {
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
