//! The bucket: where it is (`target`), and what Lifeboat keeps in it.

pub mod target;

pub use target::{ResticRepository, Target, TargetError};
