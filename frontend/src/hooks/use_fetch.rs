//! `use_fetch`: one API call, run again whenever its key changes; `use_settled`: a value
//! once it has stopped changing (what is typed, before it is sent); `use_redraw_every`: a
//! clock for countdowns.

use std::future::Future;

use yew::prelude::*;

use crate::api::{Api, ApiFailure};

/// Data that arrives from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Loadable<T> {
    /// The first answer has not arrived.
    Loading,
    /// The last answer.
    Loaded(T),
    /// The last call failed.
    Failed(ApiFailure),
}

impl<T> Loadable<T> {
    /// The data, when loaded.
    pub fn ok(&self) -> Option<&T> {
        match self {
            Self::Loaded(t) => Some(t),
            _ => None,
        }
    }
}

/// Calls `fetch` with the API client on mount and whenever `key` changes. A refresh keeps
/// showing the previous data until the new answer arrives; an answer to an older key is
/// dropped. Without an API context (component tests) it stays loading.
#[hook]
pub fn use_fetch<T, K, F, Fut>(key: K, fetch: F) -> UseStateHandle<Loadable<T>>
where
    T: 'static,
    K: PartialEq + Clone + 'static,
    F: Fn(Api) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiFailure>> + 'static,
{
    let api = use_context::<Api>();
    let state = use_state(|| Loadable::Loading);
    let generation = use_mut_ref(|| 0_u64);
    {
        let state = state.clone();
        use_effect_with(key, move |_| {
            *generation.borrow_mut() += 1;
            let mine = *generation.borrow();
            if let Some(api) = api {
                let call = fetch(api);
                wasm_bindgen_futures::spawn_local(async move {
                    let result = call.await;
                    if *generation.borrow() == mine {
                        state.set(match result {
                            Ok(v) => Loadable::Loaded(v),
                            Err(e) => Loadable::Failed(e),
                        });
                    }
                });
            }
        });
    }
    state
}

/// `value` once it has stayed the same for `ms` milliseconds (at first, `value` itself), so
/// that a call keyed by what is typed runs when the typing pauses, not on every key.
#[hook]
pub fn use_settled<T: Clone + PartialEq + 'static>(value: T, ms: u32) -> T {
    let settled = use_state(|| value.clone());
    {
        let settled = settled.clone();
        use_effect_with(value, move |v| {
            let v = v.clone();
            let timer = gloo_timers::callback::Timeout::new(ms, move || settled.set(v));
            move || drop(timer)
        });
    }
    (*settled).clone()
}

/// Draws the component again every `ms` milliseconds (what a countdown or a running step's
/// clock needs); a new `ms` restarts the timer.
#[hook]
pub fn use_redraw_every(ms: u32) {
    let update = use_force_update();
    use_effect_with(ms, move |ms| {
        let timer = gloo_timers::callback::Interval::new(*ms, move || update.force_update());
        move || drop(timer)
    });
}
