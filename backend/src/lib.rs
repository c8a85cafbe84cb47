//! Lifeboat's server: the HTTP API, the static single-page app, and (behind them) the
//! jobs that drive restic and pgBackRest. See `ARCHITECTURE.md` for the map.
//!
//! Above the runtime seam, naming no runtime: `api`, `auth`, `web`, `state`, `app`, `jobs`,
//! `operations`, `config`, `storage`, `restic`, `pgbackrest`, `secrets`. The seam and its
//! implementations: `runtime` (`runtime::host`, the processes, folders and SQL both stand on;
//! `runtime::local` and `runtime::kubernetes` above it).

pub mod api;
pub mod app;
pub mod atomic;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod command;
pub mod config;
pub mod config_store;
pub mod disk;
pub mod error;
pub mod gate;
pub mod jobs;
pub mod keycloak;
pub mod operations;
pub mod pgbackrest;
pub mod restic;
pub mod runtime;
pub mod secret;
pub mod secrets;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod wal;
pub mod web;
