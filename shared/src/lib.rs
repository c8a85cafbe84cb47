//! Wire types of the Lifeboat HTTP API, compiled by both the backend (native) and the
//! frontend (wasm32).
//!
//! Invariants: this crate does no IO and never reads the clock; times are stamped by the
//! backend as RFC 3339 strings. Enums that a newer backend may extend carry an `Unknown`
//! fallback so that a browser holding an older bundle keeps working.

pub mod backup;
pub mod config;
pub mod error;
pub mod health;
pub mod operation;
pub mod recovery;
pub mod schedule;
pub mod session;

pub use error::ApiError;
pub use health::{Health, HealthStatus, InstanceStart};

/// The prefix of every API route.
pub const API_PREFIX: &str = "/api/v1";

/// `true`, for `#[serde(default = "crate::yes")]` on settings that default to on.
pub(crate) fn yes() -> bool {
    true
}
