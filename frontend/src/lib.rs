//! The Backup and Restore page, as a Yew single-page app.
//!
//! It runs standalone (the start function mounts into `[data-lifeboat-autostart]`) or as a
//! plugin that a host page mounts with `mount(element, options)` and removes with
//! `unmount(element)` (see `plugin.js`). Styles are scoped under the `.lb` root class.
//!
//! # Test hooks (`data-testid`), stable for end-to-end tests
//!
//! Pages: `backup-restore` (main page), `operation` (progress page, `h1` = "Operation {id}"),
//! `current-operation` (the in-progress / last operation card), `health`, `audit` (the
//! Activity card, collapsed; its table's rows `audit-row`: when, who, from, action, detail,
//! outcome).
//!
//! Sign-in (standalone, signed out): `signin` (the card), `signin-token` (password input),
//! `signin-submit`, `signin-error` (a refused token: the server's message and hint).
//!
//! Storage: `config-summary` (`data-configured="true|false"`), `config-location`,
//! `config-passphrase`, `config-schedule`, `edit-config` (Edit Configuration / Configure
//! storage), `verify-saved` (Verify the saved config), `config-form`, `config-provider`
//! (select: `local|s3|azure|gcs`), `config-{field}` for every input (`path`, `region`,
//! `bucket`, `prefix`, `endpoint`, `account`, `secret_name`, `access_key_id`,
//! `secret_access_key`, `azure_secret`, `gcs_json`, `passphrase`, `passphrase_repeat`,
//! `old_passphrase`, `cron`, `timezone`, `keep_last`, `keep_daily`, `keep_weekly`,
//! `keep_monthly`), `passphrase-keep|set|change|clear` (radios), `no-passphrase-note`,
//! `config-schedule-enabled` (checkbox), `schedule-preview`, `save-config`, `verify-config`,
//! `cancel-config`, `save-disabled-reason`, `verify-result` (`data-ok`), `verify-check`
//! (`data-check` = check id, `data-status`).
//!
//! Backups: `backup-now`, `backup-disabled-reason`, `backup-dialog`, `backup-description`,
//! `description-counter`, `description-error`, `backup-start`, `empty-state` (no backups yet,
//! or no bucket), `backups-table`, `backup-row` (`data-backup-id`), `backup-row-running`,
//! `restore-button`, `restore-disabled-reason`, `backup-contents` (a row's `<details>`),
//! `backup-apps-summary` (its summary: the apps' data), `backup-component`
//! (`data-component` = the component's name).
//!
//! Restore: `restore-dialog`, `restore-scope-all`, `restore-scope-apps` (radios: everything,
//! or only some apps' data), `restore-apps-unavailable` (why not), `restore-apps-filter`,
//! `restore-apps-count`, `restore-app` (`data-app` = the app's name; its checkbox inside),
//! `restore-app-parts`, `restore-apps-none`, `restore-what` (what the restore replaces),
//! `restore-what-apps`, `restore-untouched`, `restore-apps-size`, `restore-apps-namespace`,
//! `restore-apps-blocked`, `restore-target-same`, `restore-target-new`, `restore-namespace`,
//! `namespace-error`, `restore-replace`, `restore-phrase`, `restore-confirm`,
//! `restore-cancel`.
//!
//! Progress: `operation-progress` (`data-status` = the status word), `progress-bar`,
//! `progress-overall` (the whole operation's percent and time left), `progress-percent`, `progress-bytes`, `progress-rate`, `progress-eta`, `progress-step`,
//! `operation-step` (`data-step` = step id, `data-status`), `operation-error`,
//! `operation-warnings`, `retry-note`, `retry-restore` (Retry restore, on a restore that did
//! not finish: opens the Restore dialog for the same backup, namespace and apps), `checklist`,
//! `checklist-what`, `checklist-item`.
//!
//! Errors: `error-banner` (with `error-message` and `error-hint` inside).

/// The page's allocator: Talc rather than Rust's default dlmalloc, for the bundle's size
/// (single-threaded wasm, memory grown as needed).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod api;
pub mod app;
pub mod components;
pub mod config_draft;
pub mod format;
pub mod from_js;
pub mod hooks;
pub mod mount;
pub mod pages;
pub mod plugin;
pub mod router;
pub mod state;
pub mod validate;

pub use app::{App, AppProps};
pub use mount::MountOptions;

// The modules' own tests run in headless Chromium (`make wasm-test`), as the page does.
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
