//! Custom hooks: the live operations feed, data fetching, and actions the user starts.

pub mod use_action;
pub mod use_fetch;
pub mod use_operations;

pub use use_action::{Action, ActionState, use_action};
pub use use_fetch::{Loadable, use_fetch, use_redraw_every, use_settled};
pub use use_operations::{Operations, use_operations};
