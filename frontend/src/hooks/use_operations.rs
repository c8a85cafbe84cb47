//! `use_operations`: the live list of operations, from the server-sent event stream, with
//! polling while the stream is unavailable and a resync after it drops; nothing more once
//! the API says no one is signed in.
//!
//! A feed owns an `EventSource`, a polling interval and a reconnect timeout, and is shared
//! by every mount of the page that follows the same API (the plugin mounted twice holds one
//! stream, not two): it goes when the last one unmounts. Callbacks hold only a weak
//! reference to it, so nothing keeps it alive after that.
//!
//! **A stream never starves the page.** A browser allows six connections per host, and an
//! open stream holds one for as long as it lives. A page the browser keeps in its
//! back/forward cache, or a tab in the background, would hold its stream while frozen; six of
//! them and the page in front waits for a free connection. So the feed closes its stream (and
//! stops polling) on `pagehide` and while the document is hidden, and opens it again, with a
//! fresh snapshot, on `pageshow` and when the document is visible again. And one browser
//! holds one stream per API, not one per tab: the tab holding a Web Lock named after the
//! events URL streams, the others poll every 2 s and take the lock over when it goes
//! ([`lead_or_follow`]).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use lifeboat_shared::operation::{Operation, OperationList};
use serde::Deserialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
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

thread_local! {
    /// The running feeds, one per API the page's mounts follow.
    static FEEDS: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
}

/// Follows the operations of `api`. Without an API (component tests) it only holds what is
/// dispatched to it.
#[hook]
pub fn use_operations(api: Option<Api>) -> Operations {
    let state = use_reducer(OperationsState::default);
    let dispatcher = state.dispatcher();
    use_effect_with(api, move |api| {
        let sub = api.clone().map(|api| subscribe(api, dispatcher));
        move || {
            if let Some(sub) = sub {
                unsubscribe(sub);
            }
        }
    });
    state
}

/// One mount's place in a feed.
struct Subscription(Shared, u32);

/// Joins the feed of `api` (starting it if none runs), and fetches the list at once for a
/// feed that was already running.
fn subscribe(api: Api, dispatch: UseReducerDispatcher<OperationsState>) -> Subscription {
    let key = api.events_url();
    let bearer = api.bearer();
    let running = FEEDS.with(|f| {
        f.borrow()
            .iter()
            .find(|s| {
                let i = s.borrow();
                i.key == key && i.api.bearer() == bearer
            })
            .cloned()
    });
    if let Some(shared) = running {
        let id = {
            let mut inner = shared.borrow_mut();
            inner.next_id += 1;
            let id = inner.next_id;
            dispatch.dispatch(OperationsAction::Link(inner.link));
            inner.subscribers.push((id, dispatch));
            id
        };
        poll_once(&shared);
        return Subscription(shared, id);
    }
    let shared = Feed::start(api, key, dispatch);
    FEEDS.with(|f| f.borrow_mut().push(shared.clone()));
    Subscription(shared, 0)
}

/// Leaves the feed; the last one out stops it.
fn unsubscribe(Subscription(shared, id): Subscription) {
    let empty = {
        let mut inner = shared.borrow_mut();
        inner.subscribers.retain(|(i, _)| *i != id);
        inner.subscribers.is_empty()
    };
    if empty {
        FEEDS.with(|f| f.borrow_mut().retain(|s| !Rc::ptr_eq(s, &shared)));
        Feed::stop(&shared);
    }
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
    /// The events URL: mounts following the same one share this feed.
    key: String,
    /// Every mount following this feed, by id.
    subscribers: Vec<(u32, UseReducerDispatcher<OperationsState>)>,
    next_id: u32,
    /// The link last dispatched, for a mount that joins later.
    link: Link,
    stream: Option<Stream>,
    poll: Option<Interval>,
    retry: Option<Timeout>,
    /// Consecutive failures, for the backoff.
    failures: u32,
    /// Bumped whenever polling stops, so an answer to an older poll is dropped.
    poll_generation: u64,
    stopped: bool,
    /// The page is hidden or in the back/forward cache: no stream, no polling.
    paused: bool,
    /// `pagehide`/`pageshow` on the window and `visibilitychange` on the document.
    page: Option<Closure<dyn FnMut(web_sys::Event)>>,
    /// This tab holds the stream's lock: calling this releases it.
    release: Option<js_sys::Function>,
    /// Another tab holds the stream: this one polls, and asks for the lock on every poll.
    follower: bool,
    /// A lock request is on its way.
    asking: bool,
}

type Shared = Rc<RefCell<Inner>>;

/// Starting and stopping a feed.
struct Feed;

impl Feed {
    fn start(api: Api, key: String, dispatch: UseReducerDispatcher<OperationsState>) -> Shared {
        let shared = Rc::new(RefCell::new(Inner {
            api,
            key,
            subscribers: vec![(0, dispatch)],
            next_id: 0,
            link: Link::Connecting,
            stream: None,
            poll: None,
            retry: None,
            failures: 0,
            poll_generation: 0,
            stopped: false,
            paused: false,
            page: None,
            release: None,
            follower: false,
            asking: false,
        }));
        let weak = Rc::downgrade(&shared);
        let page = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(shared) = weak.upgrade() else { return };
            let hidden = e.type_() == "pagehide"
                || (e.type_() == "visibilitychange" && document().is_some_and(|d| d.hidden()));
            if hidden {
                pause(&shared);
            } else {
                resume(&shared);
            }
        });
        page_listeners(&page, true);
        shared.borrow_mut().page = Some(page);
        resume(&shared);
        shared
    }

    fn stop(shared: &Shared) {
        let page = {
            let mut inner = shared.borrow_mut();
            inner.stopped = true;
            inner.page.take()
        };
        if let Some(page) = page {
            page_listeners(&page, false);
        }
        pause(shared);
    }
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// Adds (or removes) `f` as the listener of the page's visibility events.
fn page_listeners(f: &Closure<dyn FnMut(web_sys::Event)>, add: bool) {
    let f: &js_sys::Function = f.as_ref().unchecked_ref();
    let targets: [(Option<web_sys::EventTarget>, &str); 3] = [
        (web_sys::window().map(Into::into), "pagehide"),
        (web_sys::window().map(Into::into), "pageshow"),
        (document().map(Into::into), "visibilitychange"),
    ];
    for (target, name) in targets {
        if let Some(t) = target {
            let _ = if add {
                t.add_event_listener_with_callback(name, f)
            } else {
                t.remove_event_listener_with_callback(name, f)
            };
        }
    }
}

/// Closes the stream and stops polling and reconnecting (the page is hidden or gone).
fn pause(shared: &Shared) {
    let (stream, poll, retry) = {
        let mut inner = shared.borrow_mut();
        inner.paused = true;
        inner.follower = false;
        inner.poll_generation += 1;
        if let Some(release) = inner.release.take() {
            let _ = release.call0(&JsValue::NULL);
        }
        (inner.stream.take(), inner.poll.take(), inner.retry.take())
    };
    drop((stream, poll, retry));
}

/// Follows the operations again (at start, and when the page is shown again): the stream,
/// whose first message is a fresh snapshot, or polling with the host's token.
fn resume(shared: &Shared) {
    let bearer = {
        let mut inner = shared.borrow_mut();
        if inner.stopped || !inner.paused && (inner.stream.is_some() || inner.poll.is_some()) {
            return;
        }
        inner.paused = false;
        inner.failures = 0;
        inner.api.bearer()
    };
    // `EventSource` cannot send a bearer token: with the host's token, poll.
    if event_source_available() && !bearer {
        lead_or_follow(shared);
    } else {
        start_polling(shared);
    }
}

/// One stream per browser for each API, not one per tab: the tab that holds the Web Lock
/// named after the events URL opens the stream; the others poll (a short request holds no
/// connection) and ask for the lock again on every poll, so one of them takes over when
/// that tab goes. Without Web Locks (an insecure origin), every tab streams.
fn lead_or_follow(shared: &Shared) {
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok();
    let locks = get(&js_sys::global(), "navigator")
        .and_then(|n| get(&n, "locks"))
        .filter(|l| l.is_object());
    let request = locks
        .as_ref()
        .and_then(|l| get(l, "request"))
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let (Some(locks), Some(request)) = (locks, request) else {
        connect(shared);
        return;
    };
    let name = {
        let mut inner = shared.borrow_mut();
        if inner.asking || inner.release.is_some() {
            return;
        }
        inner.asking = true;
        format!("lifeboat-events {}", inner.key)
    };
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"ifAvailable".into(), &true.into());
    let weak = Rc::downgrade(shared);
    let granted = Closure::once_into_js(move |lock: JsValue| -> js_sys::Promise {
        let done = js_sys::Promise::resolve(&JsValue::UNDEFINED);
        let Some(shared) = weak.upgrade() else {
            return done;
        };
        let wanted = {
            let mut inner = shared.borrow_mut();
            inner.asking = false;
            !inner.stopped && !inner.paused
        };
        if !wanted {
            return done;
        }
        if lock.is_null() {
            shared.borrow_mut().follower = true;
            start_polling(&shared);
            return done;
        }
        // The lock is held until this promise resolves: on pause, or when the page goes.
        let mut resolve = None;
        let held = js_sys::Promise::new(&mut |r, _| resolve = Some(r));
        let poll = {
            let mut inner = shared.borrow_mut();
            inner.release = resolve;
            inner.follower = false;
            inner.poll_generation += 1;
            inner.poll.take()
        };
        drop(poll);
        connect(&shared);
        held
    });
    let _ = request.call3(&locks, &name.into(), &options, &granted);
}

fn event_source_available() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"EventSource".into()).unwrap_or(false)
}

/// Hands `action` to every mount following the feed.
fn dispatch(shared: &Shared, action: OperationsAction) {
    let subscribers: Vec<_> = {
        let mut inner = shared.borrow_mut();
        if let OperationsAction::Link(link) = &action {
            inner.link = *link;
        }
        inner.subscribers.iter().map(|(_, d)| d.clone()).collect()
    };
    for d in subscribers {
        d.dispatch(action.clone());
    }
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
    crate::from_js::from_value(js_sys::JSON::parse(&data).ok()?).ok()
}

/// Opens the stream; on failure to open, polls instead and retries later.
fn connect(shared: &Shared) {
    let url = {
        let inner = shared.borrow();
        if inner.stopped || inner.paused {
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
        if inner.stopped || inner.paused {
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
    let follower = {
        let inner = shared.borrow();
        if inner.poll.is_some() || inner.paused {
            return;
        }
        inner.follower
    };
    // Following another tab's stream is live enough: no "unavailable" note.
    let link = if follower { Link::Live } else { Link::Polling };
    dispatch(shared, OperationsAction::Link(link));
    poll_once(shared);
    let weak = Rc::downgrade(shared);
    let interval = Interval::new(POLL_MS, move || {
        if let Some(shared) = weak.upgrade() {
            poll_once(&shared);
            if shared.borrow().follower {
                lead_or_follow(&shared);
            }
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
            !inner.stopped && !inner.paused && inner.poll_generation == generation
        };
        match (current, result) {
            (true, Ok(list)) => dispatch(&shared, OperationsAction::Snapshot(list.operations)),
            // Signed out (here or in another tab): no more polling and no stream until the
            // page is loaded again, signed in.
            (true, Err(e)) if e.signed_out() => {
                shared.borrow_mut().stopped = true;
                pause(&shared);
            }
            _ => {}
        }
    });
}
