//! The seam between what Lifeboat does and where it does it.
//!
//! Everything above this module (operations, jobs, storage, config, api) sees a runtime only
//! through these traits:
//!
//! - [`Runtime`] runs tools ([`ToolCommand`]s naming places and secret files, never host
//!   paths), says what is missing, chooses the secret store, and hands out staging areas.
//! - [`InstanceRegistry`] creates, removes, lists and looks up the instances it manages, by
//!   namespace.
//! - [`Instance`] is one Dash Enterprise system: its Postgres, its configuration, its
//!   restore marker. Its state is private to the runtime.
//! - [`Staging`] is a place a job writes (the fetched snapshot of a restore, a backup's
//!   staging): a folder locally, a volume in Kubernetes.
//!
//! `local/` (the embedded default) implements them with processes and folders on this host;
//! `kubernetes/` with a Dash Enterprise namespace on an API server (its tools run in
//! Lifeboat's own pod, through the same process runner).

pub mod apps;
pub mod error;
pub mod host;
pub mod kubernetes;
pub mod loaded;
pub mod local;

use std::sync::Arc;

use lifeboat_shared::backup::{AppInfo, InstanceInfo, WorkspaceInfo};
use tokio_util::sync::CancellationToken;

use crate::command::{Place, Stream, ToolCommand, ToolOutput};
use crate::config_store::ConfigStore;
use crate::secrets::SecretSource;

pub use apps::{AppPart, Owner, PartKind};
pub use error::{InstanceError, RuntimeError, StagingError};
use host::marker::RestoreMarker;
use host::sql::SystemSql;

/// Runs tools and owns the instances and places they work on. Implementations kill what
/// they started when `cancel` fires and never leave a tool running after `run` returns.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + std::fmt::Debug {
    /// `local` or `kubernetes`.
    fn name(&self) -> &'static str;

    /// Where Lifeboat runs (a host or pod name), for the bucket lock's holder.
    fn host(&self) -> String;

    /// Runs `cmd` to completion, calling `on_line` for every line of output as it comes.
    async fn run(
        &self,
        cmd: ToolCommand,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, RuntimeError>;

    /// One sentence naming what is missing for backups and restores to work here and how to
    /// get it, or `None` when nothing is.
    fn install_hint(&self) -> Option<String>;

    /// The PostgreSQL major version restores here run (`None` when it cannot be told).
    fn postgres_major(&self) -> Option<u32>;

    /// The instances this runtime manages.
    fn instances(&self) -> &dyn InstanceRegistry;

    /// Where the restore `operation` fetches its snapshot.
    fn restore_staging(&self, operation: &str) -> Arc<dyn Staging>;

    /// Where bucket credentials and the passphrase are kept here.
    fn secrets(&self) -> Arc<dyn SecretSource>;

    /// Where the storage configuration is saved here.
    fn config_store(&self) -> Arc<dyn ConfigStore>;

    /// How many apps' parts a backup takes at once (on Kubernetes, how many data-mover
    /// Jobs run at once): `--app-jobs`, 2 by default.
    fn app_jobs(&self) -> usize {
        2
    }

    /// Whether a restore here brings `kind` back from the bucket itself, beside where it
    /// lives (on Kubernetes, an app's files and Redis, in a Job on their claim), so it
    /// need not be fetched into Lifeboat's staging first.
    fn restores_beside(&self, kind: PartKind) -> bool {
        let _ = kind;
        false
    }
}

/// The instances a runtime manages, by namespace.
#[async_trait::async_trait]
pub trait InstanceRegistry: Send + Sync + std::fmt::Debug {
    /// This Lifeboat's own instance, once it is up.
    fn own(&self) -> Option<Arc<dyn Instance>>;

    /// The instance in `namespace` (this Lifeboat's own or one a restore created).
    fn get(&self, namespace: &str) -> Option<Arc<dyn Instance>>;

    /// Every instance: this Lifeboat's own first, then the others by namespace.
    fn list(&self) -> Vec<Arc<dyn Instance>>;

    /// Whether `namespace` holds what is left of an instance that is not loaded (a restore
    /// that stopped before it finished creating one).
    fn has_remains(&self, namespace: &str) -> bool;

    /// Whether `namespace` exists but is not Lifeboat's to restore into: neither an instance
    /// it manages nor what one of its restores left (on Kubernetes, `default` or an
    /// application's namespace). A restore there is refused before anything is fetched.
    async fn is_foreign(&self, namespace: &str) -> Result<bool, InstanceError>;

    /// Creates a new, empty instance in `namespace` for a restore to fill (its Postgres not
    /// started). It is listed only once [`InstanceRegistry::adopt`]ed. Refuses an existing one.
    async fn create_empty(&self, namespace: &str) -> Result<Arc<dyn Instance>, InstanceError>;

    /// Lists an instance [`InstanceRegistry::create_empty`] made, once a restore filled it.
    fn adopt(&self, instance: Arc<dyn Instance>);

    /// Removes what is left in `namespace` (nothing there may be running or loaded).
    async fn remove(&self, namespace: &str) -> Result<(), InstanceError>;

    /// The restore replacing the data of the instance in `namespace`, if one started and
    /// did not finish (whether or not that instance is loaded).
    fn restoring_in(&self, namespace: &str) -> Option<String>;

    /// Brings up this Lifeboat's own instance and the ones earlier restores created.
    async fn start(&self) -> Result<(), InstanceError>;

    /// Namespaces whose instance start-up is still bringing up: not in
    /// [`InstanceRegistry::list`] yet, and no restore may go there until it is.
    fn starting(&self) -> Vec<String> {
        Vec::new()
    }

    /// Stops every instance's Postgres (at shutdown).
    async fn stop_all(&self);
}

/// What [`Instance::restore_data`] restores.
#[derive(Debug, Clone, Copy)]
pub struct DataRestore<'a> {
    /// The pgBackRest backup label (the latest without one).
    pub label: Option<&'a str>,
    /// The backup's configuration, as fetched (`config/`).
    pub config: &'a Place,
    /// The namespace the backup was taken in.
    pub source_namespace: &'a str,
    /// Replay WAL to this moment (as [`crate::pgbackrest::recovery_target`] writes it)
    /// instead of stopping at the backup's consistent point.
    pub to: Option<&'a str>,
}

/// How a backup reads an app's files ([`Instance::read_beside`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beside {
    /// With the rest of the apps' data, below [`Instance::app_data_place`].
    No,
    /// With a tool run beside this claim ([`Instance::run_beside`]).
    Claim(String),
    /// Its claim was never bound (no pod ever used it): nothing was ever written there.
    NeverUsed(String),
}

/// Where a restore takes a part of the apps' data from.
#[derive(Clone, Copy)]
pub struct AppSource<'a> {
    /// The root of the fetched apps' snapshot (what Lifeboat restores itself).
    pub fetched: &'a Place,
    /// `restic restore` of the part's snapshot, only the part's path (`--include`), into
    /// the folder given: for a part a runtime brings back from the bucket beside where it
    /// lives ([`Runtime::restores_beside`]).
    pub restic_restore: &'a (dyn Fn(&str) -> ToolCommand + Send + Sync),
}

impl std::fmt::Debug for AppSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSource")
            .field("fetched", &self.fetched)
            .finish_non_exhaustive()
    }
}

/// What a restore's configuration step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Files (or objects) applied.
    pub files: u64,
    /// Their size.
    pub bytes: u64,
    /// How many had the namespace rewritten.
    pub rewritten: u64,
    /// What else the step did or left alone, in words (one sentence each).
    pub notes: Vec<String>,
}

/// One Dash Enterprise system a runtime manages: its Postgres, its configuration, and the
/// marker a restore leaves on it while it replaces its data.
#[async_trait::async_trait]
pub trait Instance: Send + Sync + std::fmt::Debug {
    /// Its stable id.
    fn id(&self) -> &str;

    /// Its namespace.
    fn namespace(&self) -> &str;

    /// What `GET /api/v1/instance` says.
    fn info(&self) -> InstanceInfo;

    /// Where its Postgres listens, in words for a step's detail (`port 5432`).
    fn postgres_endpoint(&self) -> String;

    /// The platform version recorded in its backups.
    fn platform_version(&self) -> String;

    /// Its pgBackRest settings, as tools name them (`--config=`).
    fn pgbackrest_config(&self) -> Place;

    /// What a backup of it stages (`pgbackrest/` and `config/` below it).
    fn backup_staging(&self) -> Arc<dyn Staging>;

    /// About how much a backup stages: the data directory and the configuration.
    async fn size_bytes(&self) -> u64;

    /// Where its Postgres data directory is, in words for an admin, and the free space
    /// there when it can be told (a restore fills it).
    async fn data_dir(&self) -> (String, Option<u64>);

    /// Whether its Postgres runs now.
    async fn is_running(&self) -> bool;

    /// Which run of its Postgres this is, in words (a process id, a pod and its container's
    /// restarts): another one after Postgres stopped and was started again (a crash, a
    /// kill, a new pod). `None` when it does not run or cannot be told.
    async fn postgres_run(&self) -> Option<String>;

    /// Stops its Postgres (fast shutdown, bounded) and, where other workloads use it, those
    /// first.
    async fn stop(&self) -> Result<(), InstanceError>;

    /// Exports the configuration into its backup staging (`config/`); returns (files, bytes).
    async fn export_config(&self) -> Result<(u64, u64), InstanceError>;

    /// Replaces the configuration with the one at `from`, rewriting the namespace from
    /// `source_namespace` to this one's.
    async fn apply_config(
        &self,
        from: &Place,
        source_namespace: &str,
    ) -> Result<Applied, InstanceError>;

    /// Makes the fetched pgBackRest repository at `fetched` this instance's staging
    /// repository (the old one goes).
    async fn install_repository(&self, fetched: &Place) -> Result<(), InstanceError>;

    /// Removes everything in its data directory (Postgres must be stopped).
    async fn empty_data(&self) -> Result<(), InstanceError>;

    /// Restores the backup `what.label` (the latest without one) from the installed
    /// repository over the data directory with `pgbackrest restore`, calling `on_line` for
    /// each line it prints: locally as a process here; on Kubernetes in a restore Job beside
    /// the data (built from the saved StatefulSet when the namespace has none yet).
    async fn restore_data(
        &self,
        what: DataRestore<'_>,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, InstanceError>;

    /// Starts Postgres on a restored data directory with this instance's settings and waits
    /// until it accepts connections (after replaying WAL to the backup's consistent point),
    /// and the services that start on it (Keycloak) until they answer. `waiting` is told
    /// what it waits for at each stage, in words for the page ("waiting for Keycloak to
    /// answer").
    async fn start_restored(&self, waiting: &(dyn Fn(&str) + Sync)) -> Result<(), InstanceError>;

    /// The SQL checks of its Postgres (recovery finished, row counts, apps and workspaces,
    /// identity providers), written once in [`SystemSql`]: a runtime says only how `psql`
    /// reaches its Postgres now.
    async fn sql(&self) -> SystemSql;

    /// The marker a restore leaves while it replaces this instance's data (past the point
    /// of no return): while it names an operation, Lifeboat will not start its Postgres.
    /// Written once in [`RestoreMarker`]; a runtime says only where it is kept.
    fn restore_marker(&self) -> RestoreMarker;

    /// Its apps that have data of their own and its workspaces, as App Manager records
    /// them (its `appmanager` database), each with how it is reached here.
    async fn app_data(&self) -> Result<(Vec<AppInfo>, Vec<WorkspaceInfo>), InstanceError>;

    /// Where a backup reads its apps' data (`files/`, `dumps/`; see [`apps`]): the root of
    /// the apps' snapshot.
    fn app_data_place(&self) -> Place;

    /// Stages `part` for a backup below [`Instance::app_data_place`]: an app's database
    /// with `pg_dump -Fc`, its Redis as a point-in-time RDB (`redis-cli --rdb`, which does
    /// not block the server); files are read where they live. Returns the part's bytes.
    async fn stage_app_part(
        &self,
        part: &AppPart,
        cancel: CancellationToken,
    ) -> Result<u64, InstanceError>;

    /// Empties what [`Instance::stage_app_part`] staged (`dumps/`), leaving it in place.
    async fn clear_app_staging(&self) -> Result<(), InstanceError>;

    /// How a backup reads `part` (asked of files only): with the rest, below
    /// [`Instance::app_data_place`] (locally), or beside its own claim (on Kubernetes).
    async fn read_beside(&self, part: &AppPart) -> Result<Beside, InstanceError> {
        let _ = part;
        Ok(Beside::No)
    }

    /// Runs `cmd` beside `claim` (the claim of `part`): in a Job whose pod mounts it at
    /// `/data/<part's path>` and works in `/data`, through `sh -c script` when given.
    /// Returns its output and the node it ran on.
    async fn run_beside(
        &self,
        part: &AppPart,
        claim: &str,
        cmd: ToolCommand,
        script: Option<&str>,
        cancel: CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<(ToolOutput, Option<String>), InstanceError> {
        let _ = (claim, cmd, script, cancel, on_line);
        Err(InstanceError::NotHere(format!(
            "running a tool beside {}",
            part.describe()
        )))
    }

    /// Restores `part` from `from`, creating what is missing here first (its database and
    /// role, its Redis, its folder) and stopping and starting its Redis around the
    /// restore; returns what it did, in words.
    async fn restore_app_part(
        &self,
        part: &AppPart,
        from: &AppSource<'_>,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError>;

    /// The restore replacing this instance's data, if one started and did not finish.
    fn restoring(&self) -> Option<String> {
        self.restore_marker().read()
    }
}

/// A place a job writes and then reads back: a folder locally, a volume in Kubernetes.
#[async_trait::async_trait]
pub trait Staging: Send + Sync + std::fmt::Debug {
    /// Where it is, as tools name it.
    fn place(&self) -> Place;

    /// Where it is, in words for an admin (a folder on this host, a folder of Lifeboat's
    /// volume).
    fn describe(&self) -> String;

    /// Empties it, creating it if needed.
    async fn reset(&self) -> Result<(), StagingError>;

    /// Bytes stored in it now.
    async fn size(&self) -> u64;

    /// Free bytes where it lives (the least of what it and what it will fill share).
    async fn free_bytes(&self) -> Option<u64>;

    /// A small text file below it, if it is there.
    async fn read(&self, rel: &str) -> Option<String>;

    /// Whether a folder is there below it.
    async fn has_dir(&self, rel: &str) -> bool;

    /// Removes it; a failure is logged, not returned (it is only staging).
    async fn remove(&self);

    /// The WAL segments archived in the staging repository below it (`pgbackrest/archive`),
    /// in order (none when it holds no repository).
    async fn wal_segments(&self) -> Vec<crate::runtime::host::segments::Segment>;
}
