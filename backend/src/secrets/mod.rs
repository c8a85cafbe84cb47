//! Where bucket credentials and the passphrase come from.
//!
//! A *secret* is a named set of key/value pairs, exactly like a Kubernetes Secret: the
//! configuration names it (`secret_name`) and Lifeboat reads the keys below from it.
//!
//! - `local.rs` — the local runtime keeps each secret in a 0600 file under
//!   `<data_dir>/secrets/` (written through the API, never readable back through it).
//! - `kube.rs` — in Kubernetes, the namespace-scoped Secret of the same name, read through
//!   the API server ([`KubeSecrets::new`]`(client, namespace)`); admins manage it with
//!   `kubectl`, so it is read-only here. Tested against the real test control plane.
//!
//! Values only ever exist as [`Secret`](crate::secret::Secret)s; no [`SecretError`] carries one.
//!
//! The folder's own types are in `source.rs`; this file only names the parts.

pub mod kube;
pub mod local;
pub mod source;

pub use kube::KubeSecrets;
pub use local::LocalSecrets;
pub use source::*;
