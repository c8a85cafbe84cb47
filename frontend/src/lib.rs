//! The Backup and Restore page, as a Yew single-page app.
//!
//! It runs standalone (the start function mounts into `[data-lifeboat-autostart]`) or as a
//! plugin that a host page mounts with `mount(element, options)` and removes with
//! `unmount(element)` (see `plugin.js`). Styles are scoped under the `.lb` root class.

pub mod api;
pub mod app;
pub mod components;
pub mod format;
pub mod pages;
pub mod plugin;
pub mod style;

pub use app::{App, AppProps};
pub use plugin::MountOptions;
