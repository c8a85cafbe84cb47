//! The end-to-end harness: starts the real `lifeboat` binary, chromedriver with headless
//! Chromium, and test host pages, all on 127.0.0.1, and stops them when dropped.

pub mod axe;
pub mod browser;
pub mod cluster;
pub mod config_form;
pub mod fault_proxy;
pub mod host;
pub mod instance;
pub mod k8s_apps;
pub mod keycloak;
pub mod live;
pub mod page;
pub mod remote;
pub mod restore;
pub mod server;
pub mod servers;

use std::path::PathBuf;

/// The workspace root (where `Cargo.toml`, `dist/` and `target/` are).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
