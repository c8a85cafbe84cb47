//! Waiting for objects to reach a state by watching them: one list, then a watch from the
//! list's resource version, the state checked again after each change. The answer comes
//! when the object changes rather than up to a poll interval later, and the API server
//! serves one long request instead of ten short ones a second. A watch that ends, breaks or
//! expires (`410 Gone`) lists again; one Lifeboat's Role does not allow (an install from
//! before the Role granted `watch`) falls back to a list every [`POLL`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use futures::TryStreamExt;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

/// How often a wait on the API server looks again where it does not watch (a Job going;
/// the StatefulSet's status after its first second; any wait when the Role grants no
/// `watch`): each look is one small list or get. (A look every
/// 50 ms measured no faster than 100 on the 2-core machine: the extra requests cost the
/// control plane and the node what they saved.)
pub const POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Which objects of a kind a wait looks at: by label selector, by name, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    labels: Option<String>,
    fields: Option<String>,
}

impl Selector {
    /// The objects whose labels match `selector` (`app=postgres,…`).
    pub fn labels(selector: &str) -> Self {
        Self {
            labels: Some(selector.to_owned()),
            fields: None,
        }
    }

    /// The object named `name` (a field selector: RBAC lets a Role limited to names list
    /// and watch that way).
    pub fn name(name: &str) -> Self {
        Self {
            labels: None,
            fields: Some(format!("metadata.name={name}")),
        }
    }

    fn list(&self) -> ListParams {
        let mut p = ListParams::default();
        if let Some(l) = &self.labels {
            p = p.labels(l);
        }
        if let Some(f) = &self.fields {
            p = p.fields(f);
        }
        p
    }

    fn watch(&self, timeout: u32) -> WatchParams {
        let mut p = WatchParams::default().timeout(timeout);
        if let Some(l) = &self.labels {
            p = p.labels(l);
        }
        if let Some(f) = &self.fields {
            p = p.fields(f);
        }
        p
    }
}

/// Calls `check` with the objects `selector` picks out now and after each change to them,
/// until it answers `Some` (returned) or `limit` has passed (`None`; `check` has then
/// seen the last state, so it can say what it was). Errors are the API server's answers
/// to the lists; a broken watch is not one (it lists again).
pub async fn until<K, T>(
    api: &Api<K>,
    selector: &Selector,
    limit: Duration,
    mut check: impl FnMut(&[K]) -> Option<T>,
) -> Result<Option<T>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let deadline = Instant::now() + limit;
    let mut can_watch = true;
    loop {
        let list = api.list(&selector.list()).await?;
        let version = list.metadata.resource_version.clone().unwrap_or_default();
        let mut objects: BTreeMap<String, K> =
            list.items.into_iter().map(|o| (o.name_any(), o)).collect();
        if let Some(done) = check(&values(&objects)) {
            return Ok(Some(done));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        if can_watch {
            match watch(api, selector, &version, deadline, &mut objects, &mut check).await {
                Ok(Some(done)) => return Ok(Some(done)),
                // Ended or expired: list again (past the deadline, once more, at once).
                Ok(None) => {}
                Err(kube::Error::Api(s)) if s.code == 403 => {
                    tracing::info!(
                        "Lifeboat's Role does not grant watch here; looking every {} ms",
                        POLL.as_millis()
                    );
                    can_watch = false;
                }
                Err(e) => tracing::debug!(error = %e, "a watch failed; listing again"),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(POLL.min(left)).await;
    }
}

/// Follows one watch from `version`, keeping `objects` up to date, until `check` answers,
/// the deadline passes, or the watch ends (`Ok(None)` for both: the caller lists again, and
/// returns once past the deadline).
async fn watch<K, T>(
    api: &Api<K>,
    selector: &Selector,
    version: &str,
    deadline: Instant,
    objects: &mut BTreeMap<String, K>,
    check: &mut impl FnMut(&[K]) -> Option<T>,
) -> Result<Option<T>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let left = deadline.saturating_duration_since(Instant::now());
    // The server ends the watch a little after the wait would (its timeout is whole
    // seconds, at most the 290 s kube's watch parameters allow).
    let seconds = u32::try_from(left.as_secs() + 1).unwrap_or(290).min(290);
    let events = api.watch(&selector.watch(seconds), version).await?;
    let mut events = std::pin::pin!(events);
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, events.try_next()).await else {
            return Ok(None);
        };
        match next? {
            None => return Ok(None),
            Some(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                objects.insert(o.name_any(), o);
            }
            Some(WatchEvent::Deleted(o)) => {
                objects.remove(&o.name_any());
            }
            Some(WatchEvent::Bookmark(_)) => continue,
            // `410 Gone` (the version is too old) and the like: list again.
            Some(WatchEvent::Error(e)) => {
                tracing::debug!(code = e.code, message = %e.message, "a watch ended");
                return Ok(None);
            }
        }
        if let Some(done) = check(&values(objects)) {
            return Ok(Some(done));
        }
    }
}

fn values<K: Clone>(objects: &BTreeMap<String, K>) -> Vec<K> {
    objects.values().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selector_by_name_is_a_field_selector() {
        let by_name = Selector::name("system-postgres-0");
        assert_eq!(
            by_name.list().field_selector.as_deref(),
            Some("metadata.name=system-postgres-0")
        );
        assert_eq!(by_name.list().label_selector, None);
        let w = Selector::labels("app=keycloak").watch(30);
        assert_eq!(w.label_selector.as_deref(), Some("app=keycloak"));
        assert_eq!(w.timeout, Some(30));
    }
}
