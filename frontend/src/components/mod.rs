//! Components only render their props (and, for small self-contained widgets, fetch their
//! own data through the API context).

pub mod account;
pub mod app_data;
pub mod audit;
pub mod backup_dialog;
pub mod backups_table;
pub mod banner;
pub mod checklist;
pub mod config_form;
pub mod config_summary;
pub mod dialog;
pub mod empty_state;
pub mod field;
pub mod health_badge;
pub mod operation_progress;
pub mod repository;
pub mod restore_apps;
pub mod restore_dialog;
pub mod shell;
pub mod sign_in;
pub mod status;
pub mod verify_result;
