//! What a restore in place stops and brings back: every Deployment and StatefulSet of the
//! namespace that is not Lifeboat's own (they all use the system Postgres in Dash
//! Enterprise), whose pods must be gone before the system Postgres' StatefulSet itself is
//! stopped.
//!
//! Each workload's replica count before the restore is remembered on the workload, in the
//! annotation [`REPLICAS_BEFORE`], so it survives a Lifeboat pod that dies mid-restore; a
//! workload already carrying it (a restore that stopped half-way scaled it down) keeps the
//! count it has, and scaling back removes it. Scaling back goes to the count the backup
//! saved (a restore puts back what was saved), the remembered one only for a workload the
//! backup does not hold. Every wait has a limit and names what it waited
//! for when it runs out.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::watch::{self, Selector};

/// The annotation holding a workload's replica count from before a restore scaled it to 0.
pub const REPLICAS_BEFORE: &str = "lifeboat.plotly.com/replicas-before-restore";

/// How long the system Postgres' pods may take to go (the grace period is 30 s).
const STOP_LIMIT: Duration = Duration::from_secs(90);

/// How often the StatefulSet's status is looked at while it catches up with its pods, for
/// the first [`CATCH_UP_SOON`] (then every [`watch::POLL`]: a stuck controller is not
/// asked 50 times a second for a minute and a half).
const CATCH_UP_POLL: Duration = Duration::from_millis(20);
/// How long the status usually takes at most.
const CATCH_UP_SOON: Duration = Duration::from_secs(1);

/// Why a workload could not be scaled or waited for.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The API server refused or failed a call.
    #[error("cannot {what} {kind} {name}: {source}")]
    Api {
        /// What we were doing.
        what: &'static str,
        /// Its kind.
        kind: &'static str,
        /// Its name (or `*` for a list).
        name: String,
        /// Why.
        source: kube::Error,
    },
    /// A wait ran out.
    #[error("{0}")]
    Timeout(String),
}

/// Whether `name` is one of Lifeboat's own objects (`lifeboat`, `lifeboat-…`), which a
/// restore neither stops nor replaces: the restore runs in them.
pub fn is_lifeboats_own(name: &str) -> bool {
    name == "lifeboat" || name.starts_with("lifeboat-")
}

/// A workload scaled to 0, and the count it will be brought back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaled {
    /// `Deployment/app-manager`.
    pub workload: String,
    /// Its replicas before the restore.
    pub replicas: i64,
}

/// The workloads of one namespace.
#[derive(Clone)]
pub struct Workloads {
    client: Client,
    namespace: String,
    postgres: String,
}

impl std::fmt::Debug for Workloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workloads")
            .field("namespace", &self.namespace)
            .field("postgres", &self.postgres)
            .finish_non_exhaustive()
    }
}

impl Workloads {
    /// The workloads of `namespace`, whose system Postgres is the StatefulSet `postgres`.
    pub fn new(client: Client, namespace: &str, postgres: &str) -> Self {
        Self {
            client,
            namespace: namespace.to_owned(),
            postgres: postgres.to_owned(),
        }
    }

    /// Scales every workload but Lifeboat's own and the system Postgres to 0, then waits
    /// until their pods are gone: a workload still shutting down (Keycloak saving its
    /// sessions, say) must not write to the database the restore replaces.
    pub async fn scale_down_users(&self) -> Result<Vec<Scaled>, WorkloadError> {
        let mut scaled = self.scale_down_all::<Deployment>("Deployment").await?;
        scaled.extend(self.scale_down_all::<StatefulSet>("StatefulSet").await?);
        for (s, stopping) in &scaled {
            match stopping {
                Some((selector, limit)) => {
                    self.wait_pods_gone(selector, &format!("the pods of {}", s.workload), *limit)
                        .await?;
                }
                None => tracing::warn!(
                    workload = %s.workload,
                    "selects its pods with expressions only: not waiting for them to go"
                ),
            }
        }
        Ok(scaled.into_iter().map(|(s, _)| s).collect())
    }

    /// Scales what [`Workloads::scale_down_users`] stopped back up: to the count the backup
    /// saved it with (`saved`, by `Kind/name`), else, for a workload the backup does not
    /// hold, to the count it had before the restore.
    pub async fn scale_back_users(
        &self,
        saved: &BTreeMap<String, i64>,
    ) -> Result<Vec<Scaled>, WorkloadError> {
        let mut scaled = self
            .scale_back_all::<Deployment>("Deployment", saved)
            .await?;
        scaled.extend(
            self.scale_back_all::<StatefulSet>("StatefulSet", saved)
                .await?,
        );
        Ok(scaled)
    }

    /// Scales the system Postgres to 0 and waits until its pods are gone.
    pub async fn stop_postgres(&self) -> Result<(), WorkloadError> {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let sts = api.get(&self.postgres).await.map_err(api_error(
            "read",
            "StatefulSet",
            &self.postgres,
        ))?;
        scale_down(&api, "StatefulSet", &sts).await?;
        let selector = selector(&sts);
        if selector.is_empty() {
            return Err(WorkloadError::Timeout(format!(
                "StatefulSet {} selects its pods with expressions only: Lifeboat cannot tell \
                 when they are gone",
                self.postgres
            )));
        }
        self.wait_pods_gone(
            &selector,
            &format!("the pods of StatefulSet {}", self.postgres),
            STOP_LIMIT,
        )
        .await?;
        // The controller's status catches up with the pods (the restore checks it next),
        // within milliseconds of the last pod going: looked at often for that short while
        // (a watch would go unused whenever the first look finds it caught up, and the
        // least-privilege test would rightly call its grant unused).
        let started = tokio::time::Instant::now();
        loop {
            let sts = api.get(&self.postgres).await.map_err(api_error(
                "read",
                "StatefulSet",
                &self.postgres,
            ))?;
            let status = sts.status.unwrap_or_default();
            let ready = status.ready_replicas.unwrap_or(0);
            if status.replicas == 0 && ready == 0 {
                return Ok(());
            }
            if started.elapsed() > STOP_LIMIT {
                return Err(WorkloadError::Timeout(format!(
                    "StatefulSet {} still counted {ready} ready pods {} s after they were gone",
                    self.postgres,
                    STOP_LIMIT.as_secs()
                )));
            }
            let pause = if started.elapsed() < CATCH_UP_SOON {
                CATCH_UP_POLL
            } else {
                watch::POLL
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// Scales the system Postgres back to its remembered count (1 when none is).
    pub async fn start_postgres(&self) -> Result<(), WorkloadError> {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let sts = api.get(&self.postgres).await.map_err(api_error(
            "read",
            "StatefulSet",
            &self.postgres,
        ))?;
        let replicas = remembered(&sts).unwrap_or(1).max(1);
        scale_to(&api, "StatefulSet", &self.postgres, replicas).await
    }

    /// The pod IP of the system Postgres' pod (`<statefulset>-0`) while it runs and is not
    /// being deleted. Lifeboat connects there, not to the Service: a Service routes only to
    /// ready pods, and readiness lags the server by up to a probe period (10 s by default),
    /// while a restore can use Postgres as soon as it accepts connections.
    pub async fn postgres_pod_ip(&self) -> Result<Option<String>, WorkloadError> {
        Ok(self.postgres_pod().await?.as_ref().and_then(running_ip))
    }

    /// Which run of the system Postgres this is while its container runs: the pod's uid
    /// and the container's restart count (a new pod or a restarted container is another).
    pub async fn postgres_run(&self) -> Result<Option<String>, WorkloadError> {
        Ok(self.postgres_pod().await?.and_then(|p| {
            let uid = p.metadata.uid?;
            let container = p
                .status?
                .container_statuses?
                .into_iter()
                .find(|c| c.name == "postgres")?;
            container
                .state
                .and_then(|s| s.running)
                .map(|_| format!("pod {uid}, restart {}", container.restart_count))
        }))
    }

    /// The system Postgres' pod (`<statefulset>-0`), if there is one.
    async fn postgres_pod(&self) -> Result<Option<Pod>, WorkloadError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let name = format!("{}-0", self.postgres);
        // A list by name: the Role grants `list` on pods (for the restore Job's), not `get`.
        let found = pods
            .list(&ListParams::default().fields(&format!("metadata.name={name}")))
            .await
            .map_err(api_error("list", "Pod", &name))?;
        Ok(found.items.into_iter().next())
    }

    /// Waits until the system Postgres' pod runs and has an IP (see `postgres_pod_ip`).
    pub async fn wait_postgres_running(&self, limit: Duration) -> Result<String, WorkloadError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let name = format!("{}-0", self.postgres);
        watch::until(&pods, &Selector::name(&name), limit, |pods| {
            pods.first().and_then(running_ip)
        })
        .await
        .map_err(api_error("watch", "Pod", &name))?
        .ok_or_else(|| {
            WorkloadError::Timeout(format!(
                "pod {name} of StatefulSet {} was not running after {} s",
                self.postgres,
                limit.as_secs()
            ))
        })
    }

    /// Waits up to `limit` until no pod matches `selector` (`what` names them in the
    /// timeout's message).
    pub async fn wait_pods_gone(
        &self,
        selector: &str,
        what: &str,
        limit: Duration,
    ) -> Result<(), WorkloadError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut left = Vec::new();
        let gone = watch::until(&pods, &Selector::labels(selector), limit, |pods| {
            left = pods.iter().map(ResourceExt::name_any).collect();
            pods.is_empty().then_some(())
        })
        .await
        .map_err(api_error("watch", "Pod", "*"))?;
        gone.ok_or_else(|| {
            WorkloadError::Timeout(format!(
                "{what} were still there after {} s: {}",
                limit.as_secs(),
                left.join(", ")
            ))
        })
    }

    fn is_user(&self, name: &str) -> bool {
        !is_lifeboats_own(name) && name != self.postgres
    }

    /// The workloads of kind `K` a restore stops: all but Lifeboat's own and the system
    /// Postgres.
    async fn users<K>(&self, kind: &'static str) -> Result<(Api<K>, Vec<K>), WorkloadError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.namespace);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(api_error("list", kind, "*"))?;
        let users = list
            .items
            .into_iter()
            .filter(|o| self.is_user(&o.name_any()))
            .collect();
        Ok((api, users))
    }

    /// Scales each workload of kind `K` down; with each, its pods' selector and how long
    /// they may take to go (`None`: expressions only, Lifeboat cannot tell).
    async fn scale_down_all<K>(
        &self,
        kind: &'static str,
    ) -> Result<Vec<(Scaled, Option<(String, Duration)>)>, WorkloadError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + Debug,
        K::DynamicType: Default,
    {
        let (api, users) = self.users::<K>(kind).await?;
        let mut scaled = Vec::new();
        for obj in &users {
            if let Some(s) = scale_down(&api, kind, obj).await? {
                let selector = selector(obj);
                let stopping = (!selector.is_empty()).then(|| (selector, stop_limit(obj)));
                scaled.push((s, stopping));
            }
        }
        Ok(scaled)
    }

    async fn scale_back_all<K>(
        &self,
        kind: &'static str,
        saved: &BTreeMap<String, i64>,
    ) -> Result<Vec<Scaled>, WorkloadError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let (api, users) = self.users::<K>(kind).await?;
        let mut scaled = Vec::new();
        for obj in &users {
            let Some(before) = remembered(obj) else {
                continue;
            };
            let name = obj.name_any();
            let replicas = saved
                .get(&format!("{kind}/{name}"))
                .copied()
                .unwrap_or(before);
            scale_to(&api, kind, &name, replicas).await?;
            scaled.push(Scaled {
                workload: format!("{kind}/{name}"),
                replicas,
            });
        }
        Ok(scaled)
    }
}

/// The pod's IP while it runs and is not being deleted.
fn running_ip(pod: &Pod) -> Option<String> {
    let deleting = pod.metadata.deletion_timestamp.is_some();
    let status = pod.status.as_ref()?;
    let running = status.phase.as_deref() == Some("Running");
    status
        .pod_ip
        .clone()
        .filter(|ip| running && !deleting && !ip.is_empty())
}

fn api_error(
    what: &'static str,
    kind: &'static str,
    name: &str,
) -> impl FnOnce(kube::Error) -> WorkloadError {
    let name = name.to_owned();
    move |source| WorkloadError::Api {
        what,
        kind,
        name,
        source,
    }
}

/// `spec.replicas` (1 when unset, as the API server defaults it).
fn replicas<K: serde::Serialize>(obj: &K) -> i64 {
    serde_json::to_value(obj)
        .ok()
        .and_then(|v| v.pointer("/spec/replicas").and_then(Value::as_i64))
        .unwrap_or(1)
}

/// The count [`REPLICAS_BEFORE`] remembers, if it is there and a number.
fn remembered<K: Resource>(obj: &K) -> Option<i64> {
    obj.annotations()
        .get(REPLICAS_BEFORE)
        .and_then(|v| v.parse().ok())
}

/// The label selector of a workload's pods from its `matchLabels` (`app=system-postgres`),
/// empty when it has none.
fn selector<K: serde::Serialize>(obj: &K) -> String {
    serde_json::to_value(obj)
        .ok()
        .and_then(|v| {
            v.pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
        })
        .unwrap_or_default()
}

/// How long a workload's pods may take to go: their grace period (30 s unless the
/// template says) and a minute more.
fn stop_limit<K: serde::Serialize>(obj: &K) -> Duration {
    let grace = serde_json::to_value(obj)
        .ok()
        .and_then(|v| {
            v.pointer("/spec/template/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_u64)
        })
        .unwrap_or(30);
    Duration::from_secs(grace + 60)
}

/// Scales `obj` to 0, remembering its count unless an earlier attempt already did; `None`
/// when it was at 0 with nothing remembered (nothing to bring back).
async fn scale_down<K>(
    api: &Api<K>,
    kind: &'static str,
    obj: &K,
) -> Result<Option<Scaled>, WorkloadError>
where
    K: Resource + Clone + DeserializeOwned + serde::Serialize + Debug,
{
    let name = obj.name_any();
    let now = replicas(obj);
    let keep = match remembered(obj) {
        Some(n) => n,
        None if now == 0 => return Ok(None),
        None => now,
    };
    let patch = json!({
        "metadata": {"annotations": {REPLICAS_BEFORE: keep.to_string()}},
        "spec": {"replicas": 0},
    });
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(api_error("scale down", kind, &name))?;
    Ok(Some(Scaled {
        workload: format!("{kind}/{name}"),
        replicas: keep,
    }))
}

/// Sets `replicas` and forgets the remembered count.
async fn scale_to<K>(
    api: &Api<K>,
    kind: &'static str,
    name: &str,
    replicas: i64,
) -> Result<(), WorkloadError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let patch = json!({
        "metadata": {"annotations": {REPLICAS_BEFORE: null}},
        "spec": {"replicas": replicas},
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(api_error("scale back", kind, name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifeboats_own_objects_are_named_for_it() {
        assert!(is_lifeboats_own("lifeboat"));
        assert!(is_lifeboats_own("lifeboat-staging"));
        assert!(!is_lifeboats_own("lifeboats"));
        assert!(!is_lifeboats_own("app-manager"));
    }

    #[test]
    fn the_remembered_count_is_read_from_the_annotation() {
        let mut d = Deployment::default();
        assert_eq!(remembered(&d), None);
        assert_eq!(replicas(&d), 1, "unset replicas mean 1");
        d.metadata.annotations = Some([(REPLICAS_BEFORE.to_owned(), "3".to_owned())].into());
        assert_eq!(remembered(&d), Some(3));
    }

    #[test]
    fn a_statefulsets_selector_is_its_match_labels() {
        let sts: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "system-postgres"},
            "spec": {"selector": {"matchLabels": {"app": "system-postgres"}}, "serviceName": "x",
                     "template": {}}
        }))
        .expect("a StatefulSet");
        assert_eq!(selector(&sts), "app=system-postgres");
        assert_eq!(stop_limit(&sts), Duration::from_secs(90));
    }

    #[test]
    fn a_deployments_pods_may_take_their_grace_period_to_go() {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "keycloak"},
            "spec": {"selector": {"matchLabels": {"app": "keycloak", "tier": "auth"}},
                     "template": {"spec": {"terminationGracePeriodSeconds": 10, "containers": []}}}
        }))
        .expect("a Deployment");
        assert_eq!(selector(&d), "app=keycloak,tier=auth");
        assert_eq!(stop_limit(&d), Duration::from_secs(70));
        let expressions: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "x"},
            "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                     "template": {}}
        }))
        .expect("a Deployment");
        assert_eq!(selector(&expressions), "");
    }
}
