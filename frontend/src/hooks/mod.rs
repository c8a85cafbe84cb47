//! Custom hooks: the live operations feed and data fetching.

pub mod use_fetch;
pub mod use_operations;

pub use use_fetch::{Loadable, use_fetch};
pub use use_operations::{Operations, use_operations};
