//! Where a job writes: the bucket in effect now and its retention policy. The one place that
//! asks the configuration.

use lifeboat_shared::config::Retention;

use crate::app::AppState;
use crate::storage::Target;

/// The bucket backups go to now (the saved configuration, or the default local folder).
pub async fn current(state: &AppState) -> Result<Target, crate::config::ConfigError> {
    crate::config::current_target(state).await
}

/// The retention policy in effect (everything kept when nothing is configured).
pub fn retention(state: &AppState) -> Retention {
    crate::config::effective(state)
        .map(|e| e.config.retention)
        .unwrap_or_default()
}
