//! `use_action`: one async API call started by the user (Save, Verify, Start Backup, Sign
//! in…), with whether it is running and how its last run failed.
//!
//! Every such button used to carry its own `busy` and `error` states and its own
//! `spawn_local`; this hook is that code once. The state machine is a pure [`Reducible`]
//! (tested as a plain function); the hook only wires it to the API context and the browser's task
//! queue.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use yew::prelude::*;

use crate::api::{Api, ApiFailure};

/// What an action shows: whether a run is in flight, and why the last one failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionState {
    /// A run has started and not finished.
    pub busy: bool,
    /// Why the last run failed (cleared when a new run starts, or by [`Action::clear`]).
    pub error: Option<ApiFailure>,
}

/// What happens to an [`ActionState`].
#[derive(Debug, Clone, PartialEq)]
pub enum ActionEvent {
    /// A run starts: busy, and the previous error is forgotten.
    Start,
    /// A run ended, with its failure if it failed.
    Finish(Option<ApiFailure>),
    /// The error is dismissed (a dialog closes); a run in flight stays busy.
    Clear,
}

impl Reducible for ActionState {
    type Action = ActionEvent;

    fn reduce(self: Rc<Self>, event: ActionEvent) -> Rc<Self> {
        Rc::new(match event {
            ActionEvent::Start => Self {
                busy: true,
                error: None,
            },
            ActionEvent::Finish(error) => Self { busy: false, error },
            ActionEvent::Clear => Self {
                busy: self.busy,
                error: None,
            },
        })
    }
}

/// The future a run is: boxed, so that starting and finishing a run is compiled once for
/// every action (each action's future type would otherwise get its own copy).
type Run = Pin<Box<dyn Future<Output = Result<(), ApiFailure>>>>;

/// An action from [`use_action`]: its state, and the callback that starts a run.
pub struct Action<I: 'static> {
    state: UseReducerHandle<ActionState>,
    run: Callback<I>,
}

// By hand: derives would ask the same of `I`, which the input need not be.
impl<I: 'static> std::fmt::Debug for Action<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Action")
            .field("state", &*self.state)
            .finish()
    }
}

impl<I: 'static> Clone for Action<I> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            run: self.run.clone(),
        }
    }
}

impl<I: 'static> Action<I> {
    /// A run is in flight.
    pub fn busy(&self) -> bool {
        self.state.busy
    }

    /// Why the last run failed.
    pub fn error(&self) -> Option<ApiFailure> {
        self.state.error.clone()
    }

    /// Both, for a component's property.
    pub fn state(&self) -> ActionState {
        (*self.state).clone()
    }

    /// Starts a run with `input`.
    pub fn run(&self, input: I) {
        self.run.emit(input);
    }

    /// The callback that starts a run, for a component's property.
    pub fn callback(&self) -> Callback<I> {
        self.run.clone()
    }

    /// Forgets the last failure.
    pub fn clear(&self) {
        self.state.dispatch(ActionEvent::Clear);
    }
}

/// Runs `action(api, input)` each time the returned [`Action`] is run: busy until its future
/// ends, then its error (if any) kept until the next run or [`Action::clear`]. The future
/// does its own work on success (set state, navigate) and returns `Ok(())`. Without an API
/// context (component tests) a run does nothing.
#[hook]
pub fn use_action<I, F, Fut>(action: F) -> Action<I>
where
    I: 'static,
    F: Fn(Api, I) -> Fut + 'static,
    Fut: Future<Output = Result<(), ApiFailure>> + 'static,
{
    let api = use_context::<Api>();
    let state = use_reducer(ActionState::default);
    let dispatcher = state.dispatcher();
    let run = Callback::from(move |input: I| {
        if let Some(api) = api.clone() {
            spawn(dispatcher.clone(), Box::pin(action(api, input)));
        }
    });
    Action { state, run }
}

/// Marks the action busy, runs `run` on the browser's task queue, and records how it ended.
fn spawn(dispatcher: UseReducerDispatcher<ActionState>, run: Run) {
    dispatcher.dispatch(ActionEvent::Start);
    wasm_bindgen_futures::spawn_local(async move {
        let result = run.await;
        dispatcher.dispatch(ActionEvent::Finish(result.err()));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(state: ActionState, event: ActionEvent) -> ActionState {
        (*Rc::new(state).reduce(event)).clone()
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_run_is_busy_until_it_ends_and_keeps_its_failure() {
        let failure = ApiFailure::Network("refused".into());
        let started = step(ActionState::default(), ActionEvent::Start);
        assert!(started.busy);
        assert_eq!(started.error, None);
        let failed = step(started, ActionEvent::Finish(Some(failure.clone())));
        assert!(!failed.busy);
        assert_eq!(failed.error, Some(failure));
        // The next run forgets the old failure; a success leaves none.
        let again = step(failed, ActionEvent::Start);
        assert_eq!(again.error, None);
        assert_eq!(
            step(again, ActionEvent::Finish(None)),
            ActionState::default()
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn clearing_forgets_the_error_but_not_a_run_in_flight() {
        let failed = ActionState {
            busy: false,
            error: Some(ApiFailure::Network("refused".into())),
        };
        assert_eq!(step(failed, ActionEvent::Clear), ActionState::default());
        let running = step(ActionState::default(), ActionEvent::Start);
        assert!(step(running, ActionEvent::Clear).busy);
    }
}
