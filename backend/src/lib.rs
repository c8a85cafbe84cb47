//! Lifeboat's server: the HTTP API, the static single-page app, and (behind them) the
//! jobs that drive restic and pgBackRest. See `ARCHITECTURE.md` for the map.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod files;
pub mod gate;
pub mod instance;
pub mod jobs;
pub mod operations;
pub mod pgbackrest;
pub mod restic;
pub mod runtime;
pub mod secret;
pub mod secrets;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
pub mod tools;
pub mod web;
