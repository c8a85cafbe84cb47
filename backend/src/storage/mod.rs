//! The bucket: where it is (`target`), and what Lifeboat keeps in it.

pub mod catalog;
pub mod lock;
pub mod target;
pub mod verify;

pub use target::{BucketCredentials, ClientTuning, ResticRepository, Target, TargetError};
