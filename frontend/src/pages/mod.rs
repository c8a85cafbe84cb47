//! Routed pages: they fetch data and compose components.

pub mod backup_restore;
pub mod operation;
