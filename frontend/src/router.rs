//! The page's two routes over the browser's History API, under the mount's base path.
//!
//! Hand-written rather than yew-router: the page has two routes, and the general router
//! (route recognizer, history abstraction, query serialization) cost the bundle about 9 KB
//! gzipped. [`Router`] provides the current [`Route`] and a [`Navigator`] as context; it
//! follows `popstate` (back/forward) and the pushes of any mounted instance.

use std::rc::Rc;

use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

/// The event every [`Navigator::push`] dispatches on `window`, so that each mounted
/// instance re-reads the location (like `popstate`, which `pushState` does not fire).
const NAVIGATE_EVENT: &str = "lifeboat-navigate";

/// The page's routes, relative to the mount's base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The Backup and Restore page: `/`.
    Home,
    /// One operation's progress page (a reload or shared link lands here):
    /// `/operations/{id}`.
    Operation {
        /// The operation id.
        id: String,
    },
    /// Anything else.
    NotFound,
}

impl Route {
    /// The route's path, relative to the base path.
    pub fn to_path(&self) -> String {
        match self {
            Self::Home => "/".to_owned(),
            Self::Operation { id } => format!("/operations/{}", crate::api::segment(id)),
            Self::NotFound => "/404".to_owned(),
        }
    }

    /// The route of a path relative to the base path (a trailing `/` is ignored).
    pub fn recognize(path: &str) -> Self {
        let path = path.strip_suffix('/').unwrap_or(path);
        if path.is_empty() {
            return Self::Home;
        }
        match path.strip_prefix("/operations/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Self::Operation {
                id: percent_decode(id),
            },
            _ => Self::NotFound,
        }
    }

    /// The route of a browser path under `base` (`""` for the root): `base` is stripped
    /// when present.
    pub fn from_pathname(pathname: &str, base: &str) -> Self {
        let rest = pathname.strip_prefix(base).unwrap_or(pathname);
        if rest.starts_with('/') || rest.is_empty() {
            Self::recognize(rest)
        } else {
            // `/settings/backupx` is not under `/settings/backup`.
            Self::NotFound
        }
    }
}

/// Decodes `%XX` escapes (ids are plain; anything malformed is kept as it is).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// Moves between routes; from [`use_navigator`].
#[derive(Debug, Clone, PartialEq)]
pub struct Navigator {
    /// The base path without a trailing `/` (`""` at the root).
    base: Rc<str>,
}

impl Navigator {
    /// A navigator for routes under `base_path` (`/` or e.g. `/settings/backup`).
    pub fn new(base_path: &str) -> Self {
        Self {
            base: Rc::from(base_path.trim_end_matches('/')),
        }
    }

    /// The browser path of `route`.
    pub fn href(&self, route: &Route) -> String {
        format!("{}{}", self.base, route.to_path())
    }

    /// The route the browser is at.
    pub fn current(&self) -> Route {
        let pathname = web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .unwrap_or_default();
        Route::from_pathname(&pathname, &self.base)
    }

    /// Goes to `route` (a new history entry).
    pub fn push(&self, route: &Route) {
        self.push_href(&self.href(route));
    }

    /// Goes to `href`, a route's path with maybe a `#fragment` (a new history entry).
    fn push_href(&self, href: &str) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(history) = window.history() {
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
        }
        if let Ok(event) = web_sys::Event::new(NAVIGATE_EVENT) {
            let _ = window.dispatch_event(&event);
        }
    }
}

/// The navigator of the enclosing [`Router`].
#[hook]
pub fn use_navigator() -> Option<Navigator> {
    use_context::<Navigator>()
}

/// Properties of [`Router`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct RouterProps {
    /// The path the routes live under (`/` at the root).
    pub base_path: AttrValue,
    /// The routed content (reads the route with [`use_route`]).
    pub children: Html,
}

/// Provides the current [`Route`] and a [`Navigator`], and follows navigation.
#[function_component(Router)]
pub fn router(props: &RouterProps) -> Html {
    let navigator = use_memo(props.base_path.clone(), |base| Navigator::new(base));
    let route = use_state({
        let navigator = navigator.clone();
        move || navigator.current()
    });
    {
        let route = route.clone();
        use_effect_with(navigator.clone(), move |navigator| {
            let navigator = navigator.clone();
            let on_change = Closure::<dyn Fn()>::new(move || route.set(navigator.current()));
            let window = web_sys::window();
            let listener: &js_sys::Function = on_change.as_ref().unchecked_ref();
            if let Some(w) = &window {
                let _ = w.add_event_listener_with_callback("popstate", listener);
                let _ = w.add_event_listener_with_callback(NAVIGATE_EVENT, listener);
            }
            move || {
                let listener: &js_sys::Function = on_change.as_ref().unchecked_ref();
                if let Some(w) = &window {
                    let _ = w.remove_event_listener_with_callback("popstate", listener);
                    let _ = w.remove_event_listener_with_callback(NAVIGATE_EVENT, listener);
                }
            }
        });
    }
    html! {
        <ContextProvider<Navigator> context={(*navigator).clone()}>
            <ContextProvider<Route> context={(*route).clone()}>
                { props.children.clone() }
            </ContextProvider<Route>>
        </ContextProvider<Navigator>>
    }
}

/// The current route, inside a [`Router`].
#[hook]
pub fn use_route() -> Route {
    use_context::<Route>().unwrap_or(Route::NotFound)
}

/// Properties of [`Link`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct LinkProps {
    /// Where it goes.
    pub to: Route,
    /// CSS classes of the `<a>`.
    #[prop_or_default]
    pub classes: Classes,
    /// A part of the page to go to (`backup-<id>`: a row of the Backups table).
    #[prop_or_default]
    pub fragment: Option<AttrValue>,
    /// The link's content.
    #[prop_or_default]
    pub children: Html,
}

/// An `<a>` to a route: a plain click navigates in place; a modified click (new tab,
/// new window) is left to the browser.
#[function_component(Link)]
pub fn link(props: &LinkProps) -> Html {
    let navigator = use_navigator();
    let mut href = match &navigator {
        Some(n) => n.href(&props.to),
        None => props.to.to_path(),
    };
    if let Some(f) = &props.fragment {
        href = format!("{href}#{f}");
    }
    let onclick = {
        let href = href.clone();
        Callback::from(move |e: MouseEvent| {
            if e.button() != 0 || e.ctrl_key() || e.meta_key() || e.shift_key() || e.alt_key() {
                return;
            }
            if let Some(n) = &navigator {
                e.prevent_default();
                n.push_href(&href);
            }
        })
    };
    html! { <a class={props.classes.clone()} {href} {onclick}>{ props.children.clone() }</a> }
}

/// Loads the page again (after signing in or out: every fetch and the event stream start
/// over).
pub fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn paths_round_trip() {
        for route in [
            Route::Home,
            Route::Operation {
                id: "op-20261125T110705Z-3f9a".into(),
            },
            Route::NotFound,
        ] {
            assert_eq!(Route::recognize(&route.to_path()), route);
        }
        assert_eq!(
            Route::recognize("/operations/a%2Fb"),
            Route::Operation { id: "a/b".into() }
        );
        assert_eq!(Route::recognize("/operations/"), Route::NotFound);
        assert_eq!(Route::recognize("/operations/x/y"), Route::NotFound);
        assert_eq!(Route::recognize("/elsewhere"), Route::NotFound);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_base_path_is_stripped() {
        assert_eq!(Route::from_pathname("/", ""), Route::Home);
        assert_eq!(
            Route::from_pathname("/settings/backup", "/settings/backup"),
            Route::Home
        );
        assert_eq!(
            Route::from_pathname("/settings/backup/operations/op-1/", "/settings/backup"),
            Route::Operation { id: "op-1".into() }
        );
        assert_eq!(
            Route::from_pathname("/settings/backupx", "/settings/backup"),
            Route::NotFound
        );
        let nav = Navigator::new("/settings/backup");
        assert_eq!(nav.href(&Route::Home), "/settings/backup/");
        assert_eq!(Navigator::new("/").href(&Route::Home), "/");
    }
}
