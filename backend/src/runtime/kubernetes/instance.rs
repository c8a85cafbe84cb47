//! The system of one Dash Enterprise namespace, as the kubernetes runtime sees it: the
//! system Postgres in the StatefulSet's pod, reached by pgBackRest over TLS, and the
//! platform's configuration objects.

use std::path::PathBuf;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use lifeboat_shared::backup::{AppInfo, InstanceInfo, WorkspaceInfo};
use tokio_util::sync::CancellationToken;

use super::apply::Selection;
use super::restore_job::{JobError, RestoreJob};
use super::rewrite::Move;
use super::workloads::Workloads;
use crate::command::{Place, Stream, ToolCommand, ToolOutput, Volume};
use crate::pgbackrest::{RemotePgSettings, RepoPaths};
use crate::runtime::host::marker::RestoreMarker;
use crate::runtime::host::process::Runner;
use crate::runtime::host::sql::{Psql, SystemSql};
use crate::runtime::host::staging::FolderStaging;
use crate::runtime::{
    AppPart, AppSource, Applied, Beside, DataRestore, Instance, InstanceError, RuntimeError,
    Staging,
};

/// How long the restored Postgres may take to report a ready pod.
const READY_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// Where the system Postgres is and how to reach it.
#[derive(Debug, Clone)]
pub struct KubeSettings {
    /// Its StatefulSet (one replica).
    pub statefulset: String,
    /// The Service in front of it, whose name pgBackRest connects to (`<service>.<ns>.svc`).
    pub service: String,
    /// The `pgbackrest server` sidecar's TLS port.
    pub pgbackrest_port: u16,
    /// Postgres' own port on that Service (where `psql` checks a restore).
    pub postgres_port: u16,
    /// Its data directory, inside its pod.
    pub pg_path: String,
    /// The folder of its Unix socket, inside its pod.
    pub pg_socket_path: String,
    /// The folder holding Lifeboat's pgBackRest client certificate (`tls.crt`, `tls.key`)
    /// and the CA that signed the server's (`ca.crt`).
    pub tls_dir: PathBuf,
    /// The ConfigMap whose `platform.yaml` names the platform's version.
    pub platform_configmap: String,
    /// Lifeboat's own ServiceAccount (bound in the namespaces it manages besides its own).
    pub service_account: String,
    /// The image the data movers (Jobs beside apps' claims) run: Lifeboat's own, which
    /// carries restic.
    pub job_image: String,
    /// How many apps' parts a backup takes at once (data movers among them).
    pub app_jobs: usize,
}

impl Default for KubeSettings {
    fn default() -> Self {
        Self {
            statefulset: "system-postgres".into(),
            service: "system-postgres".into(),
            pgbackrest_port: 8432,
            postgres_port: 5432,
            pg_path: "/var/lib/postgresql/data/pgdata".into(),
            pg_socket_path: "/var/run/postgresql".into(),
            tls_dir: "/etc/lifeboat/pgbackrest-tls".into(),
            platform_configmap: "dash-platform".into(),
            service_account: "lifeboat".into(),
            job_image: format!("lifeboat:{}", env!("CARGO_PKG_VERSION")),
            app_jobs: 2,
        }
    }
}

/// The system of one namespace.
pub struct KubeInstance {
    client: kube::Client,
    namespace: String,
    id: String,
    version: String,
    runner: Arc<Runner>,
    settings: KubeSettings,
    /// Lifeboat's folder for this namespace (on its volume): settings, id, restore marker.
    conf_dir: PathBuf,
    /// The namespace of the Lifeboat managing this one (its own, or the one that restored
    /// it).
    manager: String,
}

impl std::fmt::Debug for KubeInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeInstance")
            .field("namespace", &self.namespace)
            .field("id", &self.id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn io(what: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> InstanceError {
    let path = path.to_path_buf();
    move |source| InstanceError::Io { what, path, source }
}

impl KubeInstance {
    /// The system of `namespace`, managed by the Lifeboat of `manager`: reads (or makes) its
    /// id, writes pgBackRest's settings and, with `read_version`, reads the platform's
    /// version (a namespace being created has none yet, and Lifeboat no access there yet).
    pub async fn open(
        client: kube::Client,
        namespace: &str,
        manager: &str,
        runner: Arc<Runner>,
        settings: KubeSettings,
        read_version: bool,
    ) -> Result<Self, InstanceError> {
        let paths = runner.paths();
        let conf_dir = paths.volume(&Volume::PgbackrestConfig(namespace.to_owned()));
        let repo = RepoPaths::new(
            paths
                .volume(&Volume::BackupStaging(namespace.to_owned()))
                .join("pgbackrest"),
            &conf_dir,
        );
        for dir in [
            &repo.repo_path,
            &repo.lock_path,
            &repo.log_path,
            &repo.spool_path,
        ] {
            std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        }
        let id_file = conf_dir.join("instance-id");
        let id = match std::fs::read_to_string(&id_file) {
            Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
            _ => {
                let id = new_id(namespace);
                crate::atomic::write_file(&id_file, id.as_bytes(), 0o644)
                    .map_err(io("cannot write", &id_file))?;
                id
            }
        };
        let tls = |f: &str| settings.tls_dir.join(f);
        let conf = crate::pgbackrest::render_remote_config(&RemotePgSettings {
            repo,
            pg_host: format!("{}.{namespace}.svc", settings.service),
            pg_host_port: settings.pgbackrest_port,
            ca_file: tls("ca.crt"),
            cert_file: tls("tls.crt"),
            key_file: tls("tls.key"),
            pg_path: settings.pg_path.clone(),
            pg_socket_path: settings.pg_socket_path.clone(),
        });
        let conf_file = conf_dir.join("pgbackrest.conf");
        crate::atomic::write_file(&conf_file, conf.as_bytes(), 0o644)
            .map_err(io("cannot write", &conf_file))?;
        let version = if read_version {
            platform_version(&client, namespace, &settings.platform_configmap).await
        } else {
            "unknown".to_owned()
        };
        Ok(Self {
            client,
            namespace: namespace.to_owned(),
            id,
            version,
            runner,
            settings,
            conf_dir,
            manager: manager.to_owned(),
        })
    }

    /// `pgbackrest stanza-create` (idempotent), which needs the system Postgres and its
    /// sidecar to answer.
    pub async fn create_stanza(&self) -> Result<(), InstanceError> {
        let cmd = crate::pgbackrest::stanza_create(&self.pgbackrest_config());
        let out = self
            .runner
            .run(cmd, CancellationToken::new(), &mut |_, _| {})
            .await?;
        if out.exit_code == Some(0) {
            Ok(())
        } else {
            Err(InstanceError::Tool {
                step: "pgbackrest stanza-create",
                tail: crate::pgbackrest::output_tail(&out),
            })
        }
    }

    fn staging(&self) -> FolderStaging {
        FolderStaging::new(
            self.runner.paths(),
            Place::root(Volume::BackupStaging(self.namespace.clone())),
            Vec::new(),
        )
    }

    fn workloads(&self) -> Workloads {
        Workloads::new(
            self.client.clone(),
            &self.namespace,
            &self.settings.statefulset,
        )
    }

    /// `psql` to the system Postgres from Lifeboat's container: to its pod's IP while the pod
    /// runs (a restore uses Postgres before the readiness probe passes), else to its Service.
    async fn psql(&self) -> Psql {
        let host = match self.workloads().postgres_pod_ip().await {
            Ok(Some(ip)) => ip,
            _ => format!("{}.{}.svc", self.settings.service, self.namespace),
        };
        Psql {
            host,
            port: self.settings.postgres_port,
            as_postgres_user: false,
        }
    }

    /// Its apps' own data.
    fn apps(&self) -> super::apps::KubeApps<'_> {
        super::apps::KubeApps {
            client: &self.client,
            namespace: &self.namespace,
            runner: &self.runner,
            job_image: &self.settings.job_image,
            place: Place::root(Volume::AppData(self.namespace.clone())),
        }
    }

    /// The system Postgres' restore Job.
    fn restore_job(&self) -> RestoreJob {
        RestoreJob::new(
            self.client.clone(),
            &self.namespace,
            &self.settings.statefulset,
        )
    }

    /// How saved objects move here from `source` (`None` in place).
    fn moving<'a>(&'a self, source: &'a str) -> Option<Move<'a>> {
        (source != self.namespace).then_some(Move {
            from: source,
            to: &self.namespace,
            manager: &self.manager,
        })
    }

    /// For a namespace without the system Postgres yet: applies what the restore Job's pod
    /// needs before it (ServiceAccounts, RBAC, Secrets, ConfigMaps, claims — the Postgres
    /// claim among them — and Services) and returns the saved StatefulSet, moved here.
    async fn prepare_new(
        &self,
        config: &std::path::Path,
        source: &str,
    ) -> Result<StatefulSet, InstanceError> {
        let moving = self.moving(source);
        let before_workloads = Selection {
            max_rank: Some(5),
            only: None,
            moving,
            stopped: false,
        };
        super::apply::apply_dir(&self.client, &self.namespace, config, before_workloads)
            .await
            .map_err(cluster)?;
        let name = &self.settings.statefulset;
        let saved = super::apply::object_files(config)
            .map_err(cluster)?
            .into_iter()
            .find(|f| f.kind() == "StatefulSet" && f.name() == name)
            .ok_or_else(|| {
                InstanceError::Cluster(format!(
                    "the backup holds no StatefulSet {name} to restore the system Postgres from \
                     (a local instance's backup restores only into a namespace that has one)"
                ))
            })?;
        let (obj, _) = super::apply::prepared(&saved, &self.namespace, moving).map_err(cluster)?;
        serde_json::to_value(obj)
            .and_then(serde_json::from_value)
            .map_err(|e| InstanceError::Cluster(format!("the saved StatefulSet {name}: {e}")))
    }

    fn staging_repo(&self) -> PathBuf {
        self.runner
            .paths()
            .volume(&Volume::BackupStaging(self.namespace.clone()))
            .join("pgbackrest")
    }
}

fn cluster(e: impl std::fmt::Display) -> InstanceError {
    InstanceError::Cluster(e.to_string())
}

/// `k8s-<namespace>-<8 hex>`: stable for the life of Lifeboat's volume.
fn new_id(namespace: &str) -> String {
    let mut bytes = [0u8; 4];
    // A clock-derived suffix is good enough when the OS has no randomness to give.
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("k8s-{namespace}-{hex}")
}

/// The `version:` line of the platform ConfigMap's `platform.yaml` (`unknown` without).
async fn platform_version(client: &kube::Client, namespace: &str, name: &str) -> String {
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), namespace);
    let text = match api.get_opt(name).await {
        Ok(Some(cm)) => cm
            .data
            .and_then(|d| d.get("platform.yaml").cloned())
            .unwrap_or_default(),
        Ok(None) => String::new(),
        Err(e) => {
            tracing::warn!(error = %e, configmap = name, "cannot read the platform's version");
            String::new()
        }
    };
    text.lines()
        .find_map(|l| l.trim().strip_prefix("version:"))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[async_trait::async_trait]
impl Instance for KubeInstance {
    fn id(&self) -> &str {
        &self.id
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn info(&self) -> InstanceInfo {
        InstanceInfo {
            instance_id: self.id.clone(),
            namespace: self.namespace.clone(),
            runtime: "kubernetes".into(),
            components: vec!["postgres".into(), "configuration".into()],
            postgres_port: None,
            postgres_socket_dir: None,
            config_dir: None,
            restore_incomplete: self.restoring(),
            // The namespace's Keycloak is its own Deployment: not Lifeboat's to report yet.
            keycloak_url: None,
            apps: Vec::new(),
            workspaces: Vec::new(),
        }
    }

    fn postgres_endpoint(&self) -> String {
        format!(
            "{}.{}.svc (pgBackRest TLS port {})",
            self.settings.service, self.namespace, self.settings.pgbackrest_port
        )
    }

    fn platform_version(&self) -> String {
        self.version.clone()
    }

    fn pgbackrest_config(&self) -> Place {
        Place::at(
            Volume::PgbackrestConfig(self.namespace.clone()),
            "pgbackrest.conf",
        )
    }

    fn backup_staging(&self) -> Arc<dyn Staging> {
        Arc::new(self.staging())
    }

    /// The staging repository holds the last full backup: the next one is about as large.
    async fn size_bytes(&self) -> u64 {
        self.staging().size().await
    }

    async fn data_dir(&self) -> (String, Option<u64>) {
        // The claim is mounted by Postgres' pod (or the restore Job's), not here.
        (
            format!(
                "the data volume of {}-0 in namespace {}",
                self.settings.statefulset, self.namespace
            ),
            None,
        )
    }

    async fn is_running(&self) -> bool {
        let api: kube::Api<StatefulSet> =
            kube::Api::namespaced(self.client.clone(), &self.namespace);
        match api.get_opt(&self.settings.statefulset).await {
            Ok(Some(s)) => s
                .status
                .and_then(|st| st.ready_replicas)
                .is_some_and(|r| r > 0),
            _ => false,
        }
    }

    async fn postgres_run(&self) -> Option<String> {
        self.workloads().postgres_run().await.ok().flatten()
    }

    /// Scales what uses the system Postgres to 0 (remembering the counts on each), then the
    /// Postgres StatefulSet, and waits until its pods are gone.
    async fn stop(&self) -> Result<(), InstanceError> {
        let workloads = self.workloads();
        let scaled = workloads.scale_down_users().await.map_err(cluster)?;
        for s in &scaled {
            tracing::info!(workload = %s.workload, replicas = s.replicas, "scaled to 0 for the restore");
        }
        workloads.stop_postgres().await.map_err(cluster)
    }

    async fn export_config(&self) -> Result<(u64, u64), InstanceError> {
        let to = self.runner.paths().of(&Place::at(
            Volume::BackupStaging(self.namespace.clone()),
            "config",
        ));
        let exported = super::export::export(&self.client, &self.namespace)
            .await
            .map_err(|e| InstanceError::Export(e.to_string()))?;
        let t = to.clone();
        tokio::task::spawn_blocking(move || exported.write_to(&t))
            .await
            .map_err(|e| io("cannot write the configuration to", &to)(std::io::Error::other(e)))?
            .map_err(io("cannot write the configuration to", &to))
    }

    /// Server-side applies the saved objects in dependency order, then scales what
    /// [`Instance::stop`] scaled down back to the counts the backup saved (the remembered
    /// ones for workloads it does not hold).
    async fn apply_config(
        &self,
        from: &Place,
        source_namespace: &str,
    ) -> Result<Applied, InstanceError> {
        let dir = self.runner.paths().of(from);
        let selection = Selection {
            moving: self.moving(source_namespace),
            ..Selection::ALL
        };
        let report = super::apply::apply_dir(&self.client, &self.namespace, &dir, selection)
            .await
            .map_err(cluster)?;
        let back = self
            .workloads()
            .scale_back_users(&report.saved_replicas)
            .await
            .map_err(cluster)?;
        let mut notes = Vec::new();
        if !report.rewritten.is_empty() {
            notes.push(format!("moved: {}", report.rewritten.join(", ")));
        }
        if !report.left.is_empty() {
            notes.push(format!(
                "naming {source_namespace} but left alone (not a Service host name): {}",
                report.left.join("; ")
            ));
        }
        if !report.skipped.is_empty() {
            notes.push(format!("left alone: {}", report.skipped.join(", ")));
        }
        if !report.put_back.is_empty() {
            notes.push(format!(
                "put back as saved (what was added since the backup removed): {}",
                report.put_back.join(", ")
            ));
        }
        if !report.created_since.is_empty() {
            notes.push(format!(
                "created since the backup, left in place (delete them if they should go): {}",
                report.created_since.join(", ")
            ));
        }
        if !back.is_empty() {
            let list: Vec<String> = back
                .iter()
                .map(|s| format!("{} to {}", s.workload, s.replicas))
                .collect();
            notes.push(format!("scaled back {}", list.join(", ")));
        }
        Ok(Applied {
            files: report.applied,
            bytes: report.bytes,
            rewritten: report.rewritten.len() as u64,
            notes,
        })
    }

    /// Moves the fetched repository to where Lifeboat's `pgbackrest server` serves it.
    async fn install_repository(&self, fetched: &Place) -> Result<(), InstanceError> {
        let fetched = self.runner.paths().of(fetched);
        crate::runtime::host::staging::install_repository(&fetched, &self.staging_repo()).await
    }

    /// Nothing to do: the restore Job's delta restore checks every file already in the
    /// data directory against the backup's checksums and removes what the backup lacks.
    async fn empty_data(&self) -> Result<(), InstanceError> {
        Ok(())
    }

    /// In a Job beside the data. Into a namespace without the system Postgres yet, the
    /// Job's prerequisites and the Postgres claim are applied from the backup first, and
    /// the saved StatefulSet after it, at 0 replicas (the start step scales it up).
    async fn restore_data(
        &self,
        what: DataRestore<'_>,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, InstanceError> {
        let mut args = vec![
            format!("--stanza={}", crate::pgbackrest::STANZA),
            format!("--pg1-path={}", self.settings.pg_path),
            crate::pgbackrest::NO_NETWORK_COMPRESSION.to_owned(),
            format!("--process-max={}", crate::pgbackrest::PROCESS_MAX),
        ];
        args.extend(crate::pgbackrest::restore_args(what.label, what.to));
        let job = self.restore_job();
        let live = job.live().await.map_err(cluster)?;
        let config = self.runner.paths().of(what.config);
        let (sts, is_new) = match live {
            Some(sts) => (sts, false),
            None => (
                self.prepare_new(&config, what.source_namespace).await?,
                true,
            ),
        };
        // The Job's log lines go through the same redaction as every local tool's (its
        // pgBackRest has no secret environment: certificates are files).
        let redact = crate::command::redact::Redactor::default();
        let mut clean = |s: Stream, l: &str| on_line(s, &redact.clean(l));
        let out = job
            .run(&sts, args, &cancel, &mut clean)
            .await
            .map_err(|e| match e {
                JobError::Cancelled => {
                    InstanceError::Runtime(RuntimeError::Cancelled("pgbackrest"))
                }
                e => cluster(e),
            })?;
        if is_new && out.success() {
            let only = Selection {
                max_rank: None,
                only: Some(("StatefulSet", &self.settings.statefulset)),
                moving: self.moving(what.source_namespace),
                stopped: true,
            };
            super::apply::apply_dir(&self.client, &self.namespace, &config, only)
                .await
                .map_err(cluster)?;
        }
        Ok(out)
    }

    /// Scales the system Postgres back up and waits for its pod to run, and for the restore
    /// Job (deleted when it ended) to be gone; the restore then polls Postgres itself (it
    /// replays WAL to the backup's consistent point first).
    async fn start_restored(&self, waiting: &(dyn Fn(&str) + Sync)) -> Result<(), InstanceError> {
        waiting("waiting for the Postgres pod to run and replay WAL");
        let workloads = self.workloads();
        workloads.start_postgres().await.map_err(cluster)?;
        let job = self.restore_job();
        let (running, removed) = tokio::join!(
            workloads.wait_postgres_running(READY_LIMIT),
            job.wait_removed()
        );
        removed.map_err(cluster)?;
        running
            .map(drop)
            .map_err(|e| InstanceError::Start(e.to_string()))
    }

    /// From Lifeboat's container to the system Postgres' pod (or its Service).
    async fn sql(&self) -> SystemSql {
        SystemSql::new(self.psql().await, self.runner.clone())
    }

    /// A file on Lifeboat's volume (`instances/<namespace>/pgbr/restore-in-progress`): it
    /// outlives Lifeboat's pod.
    fn restore_marker(&self) -> RestoreMarker {
        RestoreMarker::at(self.conf_dir.join("restore-in-progress"))
    }

    /// As its `DashApp` objects name them (`spec.services`).
    async fn app_data(&self) -> Result<(Vec<AppInfo>, Vec<WorkspaceInfo>), InstanceError> {
        self.apps().list().await
    }

    fn app_data_place(&self) -> Place {
        Place::root(Volume::AppData(self.namespace.clone()))
    }

    async fn stage_app_part(
        &self,
        part: &AppPart,
        cancel: CancellationToken,
    ) -> Result<u64, InstanceError> {
        self.apps().stage(part, cancel).await
    }

    async fn clear_app_staging(&self) -> Result<(), InstanceError> {
        self.apps().clear_staging()
    }

    async fn read_beside(&self, part: &AppPart) -> Result<Beside, InstanceError> {
        self.apps().read_beside(part).await
    }

    async fn run_beside(
        &self,
        part: &AppPart,
        claim: &str,
        cmd: ToolCommand,
        script: Option<&str>,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<(ToolOutput, Option<String>), InstanceError> {
        self.apps()
            .run_beside(part, claim, &cmd, script, &cancel, on_line)
            .await
    }

    async fn restore_app_part(
        &self,
        part: &AppPart,
        from: &AppSource<'_>,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        self.apps()
            .restore(part, from, self.runner.paths(), cancel)
            .await
    }
}
