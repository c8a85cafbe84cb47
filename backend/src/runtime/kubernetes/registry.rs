//! The instances a Lifeboat on the kubernetes runtime manages: the system of its own
//! namespace, and those of the namespaces its restores created.
//!
//! A restore into a new namespace creates the Namespace and, in it, a RoleBinding of the
//! ClusterRole [`MANAGED_ROLE`] to Lifeboat's ServiceAccount: that is all Lifeboat may do
//! there. Lifeboat remembers the namespaces it manages by their folders on its volume
//! (`instances/<namespace>/pgbr/instance-id`) and loads them again at start.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use super::instance::{KubeInstance, KubeSettings};
use crate::runtime::host::process::Runner;
use crate::runtime::loaded::Loaded;
use crate::runtime::{Instance, InstanceError, InstanceRegistry};

/// The ClusterRole bound to Lifeboat in each namespace it manages besides its own.
pub const MANAGED_ROLE: &str = "lifeboat-managed";

/// The label on what Lifeboat creates for a namespace it manages (the admission policy in
/// `deploy/lifeboat.yaml` reads it on the namespace).
fn managed_by_lifeboat() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_owned(),
        "lifeboat".to_owned(),
    )])
}

/// Whether the API server answered that the object exists already.
fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// A namespace as Lifeboat creates it for a restore: labelled managed by Lifeboat.
fn lifeboats_namespace(name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(managed_by_lifeboat()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// How long [`KubeRegistry::start`] waits for the system Postgres to accept pgBackRest.
const START_LIMIT: Duration = Duration::from_secs(600);

/// The system of one namespace.
pub struct KubeRegistry {
    client: kube::Client,
    namespace: String,
    runner: Arc<Runner>,
    settings: KubeSettings,
    loaded: Loaded,
    removed: Mutex<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for KubeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeRegistry")
            .field("namespace", &self.namespace)
            .field("loaded", &self.loaded)
            .finish_non_exhaustive()
    }
}

impl KubeRegistry {
    /// The registry of `namespace` (nothing loaded until [`InstanceRegistry::start`]).
    pub fn new(
        client: kube::Client,
        namespace: String,
        runner: Arc<Runner>,
        settings: KubeSettings,
    ) -> Self {
        Self {
            client,
            namespace,
            runner,
            settings,
            loaded: Loaded::default(),
            removed: Mutex::new(std::collections::BTreeSet::new()),
        }
    }

    /// The namespace managed.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn conf_dir(&self, namespace: &str) -> std::path::PathBuf {
        self.runner
            .paths()
            .volume(&crate::command::Volume::PgbackrestConfig(
                namespace.to_owned(),
            ))
    }

    /// Namespaces whose remains [`InstanceRegistry::remove`] removed, to be filled again.
    fn removed(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.removed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn open(
        &self,
        namespace: &str,
        read_version: bool,
    ) -> Result<KubeInstance, InstanceError> {
        KubeInstance::open(
            self.client.clone(),
            namespace,
            &self.namespace,
            self.runner.clone(),
            self.settings.clone(),
            read_version,
        )
        .await
    }

    /// The other namespaces this Lifeboat manages (their folders on its volume, without an
    /// unfinished restore's marker).
    fn managed_namespaces(&self) -> Vec<String> {
        let dir = self.runner.paths().data_dir().join("instances");
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.path().join("pgbr/instance-id").is_file())
            // A namespace whose restore did not finish is remains, not an instance: the
            // next restore into it (with `replace_existing`) fills it again.
            .filter(|e| !e.path().join("pgbr/restore-in-progress").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n != &self.namespace && crate::secrets::is_dns1123_label(n))
            .collect();
        found.sort();
        found
    }

    /// Creates `namespace`. A namespace that exists is refused, unless an earlier restore of
    /// this Lifeboat created it and did not finish (its remains were removed): that one is
    /// filled again.
    async fn create_namespace(&self, namespace: &str, again: bool) -> Result<(), InstanceError> {
        let refused = |what: &str, e: kube::Error| match &e {
            e if is_conflict(e) => InstanceError::Exists(namespace.to_owned()),
            _ => InstanceError::Cluster(format!("cannot {what} {namespace}: {e}")),
        };
        let exists = |e: &kube::Error| again && is_conflict(e);
        match Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &lifeboats_namespace(namespace))
            .await
        {
            Err(e) if !exists(&e) => Err(refused("create namespace", e)),
            _ => Ok(()),
        }
    }

    /// Binds [`MANAGED_ROLE`] to Lifeboat in `namespace` and waits until it takes effect.
    async fn bind_here(&self, namespace: &str, again: bool) -> Result<(), InstanceError> {
        let refused = |what: &str, e: kube::Error| {
            InstanceError::Cluster(format!("cannot {what} {namespace}: {e}"))
        };
        let exists = |e: &kube::Error| again && is_conflict(e);
        let binding = RoleBinding {
            metadata: ObjectMeta {
                name: Some("lifeboat".into()),
                namespace: Some(namespace.to_owned()),
                labels: Some(managed_by_lifeboat()),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: MANAGED_ROLE.into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: self.settings.service_account.clone(),
                namespace: Some(self.namespace.clone()),
                api_group: None,
            }]),
        };
        match Api::<RoleBinding>::namespaced(self.client.clone(), namespace)
            .create(&PostParams::default(), &binding)
            .await
        {
            Err(e) if !exists(&e) => return Err(refused("let Lifeboat manage namespace", e)),
            _ => {}
        }
        self.wait_allowed(namespace).await
    }

    /// Waits (up to 30 s) until the API server's authorizer has seen the new RoleBinding, so
    /// that nothing Lifeboat does next in `namespace` is refused.
    async fn wait_allowed(&self, namespace: &str) -> Result<(), InstanceError> {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_owned()),
                    verb: Some("create".into()),
                    group: Some("batch".into()),
                    resource: Some("jobs".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let started = tokio::time::Instant::now();
        loop {
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| {
                    InstanceError::Cluster(format!(
                        "cannot ask the API server what Lifeboat may do in {namespace}: {e}"
                    ))
                })?;
            if answer.status.is_some_and(|s| s.allowed) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(InstanceError::Cluster(format!(
                    "Lifeboat's RoleBinding in namespace {namespace} did not take effect within 30 s (is the ClusterRole {MANAGED_ROLE} installed?)"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[async_trait::async_trait]
impl InstanceRegistry for KubeRegistry {
    fn own(&self) -> Option<Arc<dyn Instance>> {
        self.loaded.own()
    }

    fn get(&self, namespace: &str) -> Option<Arc<dyn Instance>> {
        self.loaded.get(namespace)
    }

    fn list(&self) -> Vec<Arc<dyn Instance>> {
        self.loaded.list()
    }

    /// A namespace a restore created and did not fill: its folder is on Lifeboat's volume,
    /// its instance not loaded.
    fn has_remains(&self, namespace: &str) -> bool {
        self.get(namespace).is_none() && self.conf_dir(namespace).join("instance-id").is_file()
    }

    /// Asked by creating the namespace with a dry run (the one verb the Role already grants
    /// on namespaces): "already exists" for one that is not an instance, not remains and not
    /// one Lifeboat removed and may make again.
    async fn is_foreign(&self, namespace: &str) -> Result<bool, InstanceError> {
        if namespace == self.namespace
            || self.get(namespace).is_some()
            || self.has_remains(namespace)
            || self.removed().contains(namespace)
        {
            return Ok(false);
        }
        let dry_run = PostParams {
            dry_run: true,
            ..Default::default()
        };
        match Api::<Namespace>::all(self.client.clone())
            .create(&dry_run, &lifeboats_namespace(namespace))
            .await
        {
            Ok(_) => Ok(false),
            Err(e) if is_conflict(&e) => Ok(true),
            Err(e) => Err(InstanceError::Cluster(format!(
                "cannot check namespace {namespace}: {e}"
            ))),
        }
    }

    /// Creates the namespace (refusing one that exists: Lifeboat replaces only what it
    /// manages) and its instance, empty until the restore fills it.
    async fn create_empty(&self, namespace: &str) -> Result<Arc<dyn Instance>, InstanceError> {
        if namespace == self.namespace || self.get(namespace).is_some() {
            return Err(InstanceError::Exists(namespace.to_owned()));
        }
        let again = self.removed().contains(namespace);
        self.create_namespace(namespace, again).await?;
        // Lifeboat's folder first: if binding itself there fails, the namespace is remains
        // (a later restore with `replace_existing` fills it), not a name that stays taken.
        let instance = self.open(namespace, false).await?;
        self.bind_here(namespace, again).await?;
        self.removed().remove(namespace);
        Ok(Arc::new(instance))
    }

    fn adopt(&self, instance: Arc<dyn Instance>) {
        self.loaded.adopt(instance);
    }

    /// Removes Lifeboat's folder of a namespace a restore did not fill (the namespace stays:
    /// the next restore fills it again).
    async fn remove(&self, namespace: &str) -> Result<(), InstanceError> {
        if self.get(namespace).is_some() {
            return Err(InstanceError::Exists(namespace.to_owned()));
        }
        let dir = self
            .runner
            .paths()
            .data_dir()
            .join("instances")
            .join(namespace);
        crate::runtime::host::files::remove_tree(dir.clone())
            .await
            .map_err(|source| InstanceError::Io {
                what: "cannot remove",
                path: dir,
                source,
            })?;
        self.removed().insert(namespace.to_owned());
        Ok(())
    }

    fn restoring_in(&self, namespace: &str) -> Option<String> {
        self.get(namespace).and_then(|i| i.restoring())
    }

    /// Writes pgBackRest's settings and creates its stanza once the system Postgres and its
    /// `pgbackrest server` sidecar answer (retrying for up to ten minutes), unless a restore
    /// that did not finish left it stopped.
    async fn start(&self) -> Result<(), InstanceError> {
        for namespace in self.managed_namespaces() {
            // Lifeboat backs up only its own namespace: the others' version is never recorded.
            match self.open(&namespace, false).await {
                Ok(i) => self.adopt(Arc::new(i)),
                Err(e) => {
                    tracing::error!(%namespace, error = %e, "cannot load a namespace this Lifeboat manages");
                }
            }
        }
        let instance = self.open(&self.namespace, true).await?;
        if let Some(op) = instance.restoring() {
            // A restore stopped the system Postgres on purpose and did not finish: its data
            // is incomplete until a restore succeeds, so do not wait for it to answer.
            tracing::error!(namespace = %self.namespace, operation = %op, "a restore into this namespace did not finish; the system Postgres stays stopped until a restore succeeds");
            self.loaded.set_own(Arc::new(instance));
            return Ok(());
        }
        let started = tokio::time::Instant::now();
        loop {
            match instance.create_stanza().await {
                Ok(()) => break,
                Err(e) if started.elapsed() < START_LIMIT => {
                    tracing::info!(error = %e, "the system Postgres is not ready for pgBackRest yet; retrying in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => return Err(e),
            }
        }
        tracing::info!(namespace = %self.namespace, "system instance ready");
        self.loaded.set_own(Arc::new(instance));
        Ok(())
    }

    async fn stop_all(&self) {}
}
