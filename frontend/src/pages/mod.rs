//! Routed pages: they fetch data and compose components.
//!
//! Beside the pages, what they share: `actions` (an operation started and followed, the
//! Restore dialog's start, a dialog's Cancel), `sign_in` (the sign-in form when signed out)
//! and `browser` (the clock, focus, the time zone).

mod actions;
pub mod backup_restore;
mod backups;
mod browser;
pub mod operation;
mod sign_in;
pub mod storage;
