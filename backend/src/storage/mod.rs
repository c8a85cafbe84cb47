//! The bucket: where it is (`target`), what Lifeboat keeps in it (`catalog`, `lock`), the
//! restic repository as a whole (`repository`), what it all costs (`usage`), and whether it
//! all works (`verify`).

pub mod catalog;
pub mod lock;
pub mod repository;
pub mod target;
pub mod usage;
pub mod verify;

pub use target::{ClientTuning, PassphrasePlace, Target, TargetError};
