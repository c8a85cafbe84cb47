//! Keycloak, the platform's identity provider, as Lifeboat meets it: the installed server
//! (`scripts/install.sh keycloak`), the command line that runs it on a system Postgres, its
//! admin REST API, and the demo's realms laid out as Dash Enterprise's are.
//!
//! Nothing here starts a process: the local runtime runs the server beside the demo's
//! Postgres (`runtime::local::instance::keycloak`); on Kubernetes it is the namespace's
//! Deployment.

pub mod admin;
pub mod install;
pub mod realm;
pub mod server;

/// The Keycloak release Lifeboat runs and tests with (`scripts/install.sh` pins the same).
pub const VERSION: &str = "26.7.3";

/// The path Dash Enterprise serves Keycloak under (a build-time option of `kc.sh build`).
pub const RELATIVE_PATH: &str = "/auth";
