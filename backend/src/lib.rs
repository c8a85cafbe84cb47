//! Lifeboat's server: the HTTP API, the static single-page app, and (behind them) the
//! jobs that drive restic and pgBackRest. See `ARCHITECTURE.md` for the map.

pub mod api;
pub mod app;
pub mod cli;
pub mod restic;
pub mod runtime;
pub mod secret;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
pub mod tools;
pub mod web;
