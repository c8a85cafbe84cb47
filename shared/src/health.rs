//! `GET /api/v1/health`.

use serde::{Deserialize, Serialize};

/// Whether the server is able to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Serving, and every tool it needs was found at start.
    Ok,
    /// Serving, but something it needs is missing (see the server log).
    Degraded,
    /// A status this bundle does not know yet.
    #[serde(other)]
    Unknown,
}

/// The body of `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Overall state.
    pub status: HealthStatus,
    /// The Lifeboat version serving this API.
    pub version: String,
    /// Where the standalone page's "Sign in with Keycloak" starts (`/auth/keycloak`), when
    /// Lifeboat trusts a Keycloak realm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keycloak_sign_in: Option<String>,
    /// While the instances are still being brought up: how far that got. Absent once they
    /// are up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_start: Option<InstanceStart>,
}

/// Start-up of the instances, while it is not done (tried again with backoff until it
/// works). The error itself is not here (this endpoint needs no sign-in); a signed-in
/// `GET /api/v1/instance` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStart {
    /// Attempts that failed so far (0 while the first one runs).
    pub failed_attempts: u32,
    /// Whole seconds until the next attempt, while waiting for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in_seconds: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_is_tolerated() {
        let h: Health = serde_json::from_str(r#"{"status":"melting","version":"9"}"#).unwrap();
        assert_eq!(h.status, HealthStatus::Unknown);
    }
}
