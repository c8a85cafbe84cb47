//! The host layer both runtimes stand on: what runs on the machine (or in the container)
//! Lifeboat itself runs on, whatever manages the instances.
//!
//! - `process.rs` — the process runner (the one place a process is started).
//! - `guard.rs` — the helper that kills the tools' process groups when Lifeboat dies.
//! - `toolbox.rs` — finds restic, pgBackRest and PostgreSQL on this host.
//! - `paths.rs` — where each place is below Lifeboat's data dir.
//! - `staging.rs` — a staging area: a folder there.
//! - `files.rs` — folder sizes, copies, removal, free space.
//! - `marker.rs` — the restore marker a restore leaves while it replaces an instance.
//! - `sql.rs` — SQL through `psql`, run by the process runner.
//! - `rdb.rs` — `redis-cli --rdb`, cut off when a Redis stops answering.
//!
//! Nothing here knows which runtime it serves: `runtime::local` and `runtime::kubernetes`
//! import this folder, never each other.

pub mod files;
pub mod guard;
pub mod marker;
pub mod paths;
pub mod process;
pub mod rdb;
pub mod segments;
pub mod sql;
pub mod staging;
pub mod toolbox;
