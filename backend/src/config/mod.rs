//! The storage configuration: where backups go (saved where the runtime says: a file in
//! the data dir, or a ConfigMap), its validation, schedules, and how the rest of Lifeboat
//! gets a ready [`Target`].
//!
//! Until an admin saves a configuration, the embedded default applies: a local folder
//! `<data_dir>/bucket` with no passphrase, so backups work out of the box.
//!
//! - `current.rs` — the configuration in effect ([`Config`]) and its target.
//! - `save.rs` — saving and verifying a candidate.
//! - `schedule.rs` — cron and time zone.
//! - `validate.rs` — field rules.

pub mod current;
pub mod save;
pub mod schedule;
pub mod validate;

pub use current::*;
pub use save::SaveError;
pub use validate::Invalid;
