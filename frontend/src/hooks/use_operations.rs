//! `use_operations`: the live list of operations, from the server-sent event stream, with
//! polling while the stream is unavailable and a resync after it drops.
//!
//! The feed owns an `EventSource` (listeners on it, never on `window` or `document`), a
//! polling interval and a reconnect timeout; all three go when the component unmounts.
//! Callbacks hold only a weak reference to the feed, so nothing keeps it alive after that.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use lifeboat_shared::operation::{Operation, OperationList};
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};
use yew::prelude::*;

use crate::api::Api;
use crate::state::{Link, OperationsAction, OperationsState};

/// The handle pages read the live state from (and feed with the API's own answers).
pub type Operations = UseReducerHandle<OperationsState>;

/// How often to poll while the stream is down.
const POLL_MS: u32 = 2_000;
/// First reconnect delay; doubled on each failure up to [`RETRY_MAX_MS`].
const RETRY_FIRST_MS: u32 = 1_000;
const RETRY_MAX_MS: u32 = 30_000;

/// Follows the operations of the API in context. Without an API (component tests) it
/// only holds what is dispatched to it.
#[hook]
pub fn use_operations() -> Operations {
    let api = use_context::<Api>();
    let state = use_reducer(OperationsState::default);
    let dispatcher = state.dispatcher();
    use_effect_with(api, move |api| {
        let feed = api.clone().map(|api| Feed::start(api, dispatcher));
        move || {
            if let Some(feed) = feed {
                feed.stop();
            }
        }
    });
    state
}

/// The stream's listeners, removed and the connection closed on drop.
struct Stream {
    source: EventSource,
    on_snapshot: Closure<dyn FnMut(MessageEvent)>,
    on_upsert: Closure<dyn FnMut(MessageEvent)>,
    on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        let s = &self.source;
        let _ = s.remove_event_listener_with_callback(
            "snapshot",
            self.on_snapshot.as_ref().unchecked_ref(),
        );
        let _ = s
            .remove_event_listener_with_callback("upsert", self.on_upsert.as_ref().unchecked_ref());
        let _ =
            s.remove_event_listener_with_callback("error", self.on_error.as_ref().unchecked_ref());
        s.close();
    }
}

struct Inner {
    api: Api,
    dispatch: UseReducerDispatcher<OperationsState>,
    stream: Option<Stream>,
    poll: Option<Interval>,
    retry: Option<Timeout>,
    /// Consecutive failures, for the backoff.
    failures: u32,
    /// Bumped whenever polling stops, so an answer to an older poll is dropped.
    poll_generation: u64,
    stopped: bool,
}

type Shared = Rc<RefCell<Inner>>;

/// The running feed; [`Feed::stop`] tears it down.
struct Feed(Shared);

impl Feed {
    fn start(api: Api, dispatch: UseReducerDispatcher<OperationsState>) -> Self {
        let shared = Rc::new(RefCell::new(Inner {
            api,
            dispatch,
            stream: None,
            poll: None,
            retry: None,
            failures: 0,
            poll_generation: 0,
            stopped: false,
        }));
        // `EventSource` cannot send a bearer token: with the host's token, poll.
        if event_source_available() && !shared.borrow().api.bearer() {
            connect(&shared);
        } else {
            start_polling(&shared);
        }
        Self(shared)
    }

    fn stop(self) {
        let (stream, poll, retry) = {
            let mut inner = self.0.borrow_mut();
            inner.stopped = true;
            inner.poll_generation += 1;
            (inner.stream.take(), inner.poll.take(), inner.retry.take())
        };
        drop((stream, poll, retry));
    }
}

fn event_source_available() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"EventSource".into()).unwrap_or(false)
}

fn dispatch(shared: &Shared, action: OperationsAction) {
    let d = shared.borrow().dispatch.clone();
    d.dispatch(action);
}

/// The `data:` of an `upsert` message (`OperationEvent::Upsert` without its tag).
#[derive(Deserialize)]
struct UpsertData {
    operation: Box<Operation>,
}

/// Parses a message's JSON. The SSE event name already says which `OperationEvent` variant
/// it is, so the data is read straight into the variant's fields (the `type` tag is
/// ignored): this spares the bundle serde's buffered path for internally tagged enums.
fn parse<T: serde::de::DeserializeOwned>(event: &MessageEvent) -> Option<T> {
    let data = event.data().as_string()?;
    serde_wasm_bindgen::from_value(js_sys::JSON::parse(&data).ok()?).ok()
}

/// Opens the stream; on failure to open, polls instead and retries later.
fn connect(shared: &Shared) {
    let url = {
        let inner = shared.borrow();
        if inner.stopped {
            return;
        }
        inner.api.events_url()
    };
    let source = match EventSource::new(&url) {
        Ok(s) => s,
        Err(_) => {
            failed(shared);
            return;
        }
    };
    let weak = Rc::downgrade(shared);
    let on_snapshot = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(shared) = weak.upgrade() else { return };
            if let Some(OperationList { operations }) = parse(&e) {
                // Connected: the snapshot is the truth, polling and backoff stop.
                let (poll, retry) = {
                    let mut inner = shared.borrow_mut();
                    inner.failures = 0;
                    inner.poll_generation += 1;
                    (inner.poll.take(), inner.retry.take())
                };
                drop((poll, retry));
                dispatch(&shared, OperationsAction::Snapshot(operations));
                dispatch(&shared, OperationsAction::Link(Link::Live));
            }
        })
    };
    let on_upsert = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(shared) = weak.upgrade() else { return };
            if let Some(UpsertData { operation }) = parse(&e) {
                dispatch(&shared, OperationsAction::Upsert(operation));
            }
        })
    };
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        // Tear down outside the listener that is running now.
        let weak: Weak<RefCell<Inner>> = weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(shared) = weak.upgrade() {
                failed(&shared);
            }
        });
    });
    let listen = |name: &str, f: &js_sys::Function| {
        let _ = source.add_event_listener_with_callback(name, f);
    };
    listen("snapshot", on_snapshot.as_ref().unchecked_ref());
    listen("upsert", on_upsert.as_ref().unchecked_ref());
    listen("error", on_error.as_ref().unchecked_ref());
    let old = shared.borrow_mut().stream.replace(Stream {
        source,
        on_snapshot,
        on_upsert,
        on_error,
    });
    drop(old);
}

/// The stream failed or dropped: close it, poll meanwhile, reconnect after a backoff.
fn failed(shared: &Shared) {
    let old = {
        let mut inner = shared.borrow_mut();
        if inner.stopped {
            return;
        }
        inner.failures = inner.failures.saturating_add(1);
        inner.stream.take()
    };
    drop(old);
    start_polling(shared);
    let delay = {
        let inner = shared.borrow();
        let exp = inner.failures.saturating_sub(1).min(5);
        RETRY_FIRST_MS.saturating_mul(1 << exp).min(RETRY_MAX_MS)
    };
    let weak = Rc::downgrade(shared);
    let timeout = Timeout::new(delay, move || {
        // Reconnect outside this timer's callback: a failure replaces (drops) the timer.
        let weak = weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(shared) = weak.upgrade() {
                connect(&shared);
            }
        });
    });
    let old = shared.borrow_mut().retry.replace(timeout);
    drop(old);
}

/// Polls `GET /api/v1/operations` now and every [`POLL_MS`] until stopped.
fn start_polling(shared: &Shared) {
    if shared.borrow().poll.is_some() {
        return;
    }
    dispatch(shared, OperationsAction::Link(Link::Polling));
    poll_once(shared);
    let weak = Rc::downgrade(shared);
    let interval = Interval::new(POLL_MS, move || {
        if let Some(shared) = weak.upgrade() {
            poll_once(&shared);
        }
    });
    shared.borrow_mut().poll = Some(interval);
}

fn poll_once(shared: &Shared) {
    let (api, generation) = {
        let inner = shared.borrow();
        (inner.api.clone(), inner.poll_generation)
    };
    let weak = Rc::downgrade(shared);
    wasm_bindgen_futures::spawn_local(async move {
        let result = api.operations().await;
        let Some(shared) = weak.upgrade() else { return };
        let current = {
            let inner = shared.borrow();
            !inner.stopped && inner.poll_generation == generation
        };
        if let (true, Ok(list)) = (current, result) {
            dispatch(&shared, OperationsAction::Snapshot(list.operations));
        }
    });
}
