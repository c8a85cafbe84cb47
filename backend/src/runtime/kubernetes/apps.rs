//! The apps' own data of a namespace, as its `DashApp` objects name it (`dash_apps`):
//!
//! - an app's database is dumped (`pg_dump -Fc`) and restored (`pg_restore`) from
//!   Lifeboat's container over the network, like `psql`'s checks;
//! - an app's Redis is read from Lifeboat's container as a point-in-time RDB
//!   (`redis-cli --rdb`, which does not block the server), and restored beside its claim:
//!   its Deployment is scaled to 0, a Job on the claim puts the RDB back, and it is scaled
//!   back;
//! - an app's or workspace's files are read and written where they live, by restic in a
//!   Job whose pod mounts the claim (`claim_job`), a snapshot per claim; the scheduler
//!   places each Job on its claim's node.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use lifeboat_shared::backup::{AppInfo, WorkspaceInfo};
use tokio_util::sync::CancellationToken;

use super::claim_job::{ClaimJob, job_name};
use super::dash_apps::{self, DashAppServices, POSTGRES_PORT, REDIS_PORT};
use super::workloads::Workloads;
use crate::command::{Place, Stream, Tool, ToolCommand, ToolOutput};
use crate::runtime::host::process::Runner;
use crate::runtime::host::rdb;
use crate::runtime::host::sql::Psql;
use crate::runtime::{AppPart, AppSource, Beside, InstanceError, PartKind};

/// Where a data mover's pod mounts the claim: `/data/<the part's folder>`, working in
/// `/data`, so that a snapshot's paths are the part's own (`files/apps/app-001/…`), as in
/// a snapshot of the local runtime.
const MOUNT_ROOT: &str = "/data";

/// How long an app's service may take to answer after a restore of the platform brought
/// it back (or its Redis after its restore).
const READY_LIMIT: Duration = Duration::from_secs(180);

/// The apps' data of one namespace.
pub struct KubeApps<'a> {
    /// The API server.
    pub client: &'a Client,
    /// The namespace.
    pub namespace: &'a str,
    /// Lifeboat's own tools.
    pub runner: &'a Runner,
    /// The image data movers run (Lifeboat's own).
    pub job_image: &'a str,
    /// Where a backup stages dumps (the instance's app-data place).
    pub place: Place,
}

impl std::fmt::Debug for KubeApps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApps")
            .field("namespace", &self.namespace)
            .field("job_image", &self.job_image)
            .finish_non_exhaustive()
    }
}

fn cluster(e: impl std::fmt::Display) -> InstanceError {
    InstanceError::Cluster(e.to_string())
}

impl KubeApps<'_> {
    /// The apps with data of their own and the workspaces.
    pub async fn list(&self) -> Result<(Vec<AppInfo>, Vec<WorkspaceInfo>), InstanceError> {
        let apps = dash_apps::list(self.client, self.namespace)
            .await
            .map_err(cluster)?;
        Ok(dash_apps::listing(&apps, self.namespace))
    }

    /// The services of the app `part` belongs to (for a workspace, the app whose DashApp
    /// names it).
    async fn services(&self, part: &AppPart) -> Result<DashAppServices, InstanceError> {
        let apps = dash_apps::list(self.client, self.namespace)
            .await
            .map_err(cluster)?;
        let found = match part.app_name() {
            Some(app) => apps.into_iter().find(|a| a.name == app),
            None => apps.into_iter().find(|a| {
                a.services
                    .workspace
                    .as_ref()
                    .is_some_and(|w| w.name == part.name())
            }),
        };
        found.ok_or_else(|| self.missing(part, "no DashApp names it"))
    }

    fn missing(&self, part: &AppPart, why: &str) -> InstanceError {
        InstanceError::NoSuchApp(format!(
            "{} is not in namespace {} ({why}); Lifeboat does not create an app's services on Kubernetes: App Manager does",
            part.describe(),
            self.namespace
        ))
    }

    /// The claim holding `part` (files, or a Redis' RDB).
    async fn claim(&self, part: &AppPart) -> Result<String, InstanceError> {
        let s = self.services(part).await?.services;
        self.claim_in(part, s)
    }

    /// The claim holding `part`, as the services already read name it.
    fn claim_in(&self, part: &AppPart, s: dash_apps::Services) -> Result<String, InstanceError> {
        let claim = match (part.kind, part.app_name()) {
            (PartKind::Files, Some(_)) => s.files.map(|f| f.claim),
            (PartKind::Files, None) => s.workspace.map(|w| w.claim),
            (PartKind::Redis, _) => s.redis.map(|r| r.claim),
            (PartKind::Postgres, _) => None,
        };
        claim.ok_or_else(|| self.missing(part, "its DashApp names no claim for it"))
    }

    /// The claim `name`, which must exist.
    async fn existing_claim(
        &self,
        part: &AppPart,
        name: &str,
    ) -> Result<PersistentVolumeClaim, InstanceError> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), self.namespace);
        let found = api
            .list(&ListParams::default().fields(&format!("metadata.name={name}")))
            .await
            .map_err(cluster)?;
        found
            .items
            .into_iter()
            .next()
            .ok_or_else(|| self.missing(part, &format!("claim {name} does not exist")))
    }

    /// How a backup reads files: beside their claim, if it was ever bound.
    pub async fn read_beside(&self, part: &AppPart) -> Result<Beside, InstanceError> {
        let claim = self.claim(part).await?;
        let pvc = self.existing_claim(part, &claim).await?;
        let bound = pvc
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Bound");
        Ok(if bound {
            Beside::Claim(claim)
        } else {
            Beside::NeverUsed(claim)
        })
    }

    /// Runs `cmd` in a data mover beside `claim`, mounted at `/data/<part's folder>`.
    pub async fn run_beside(
        &self,
        part: &AppPart,
        claim: &str,
        cmd: &ToolCommand,
        script: Option<&str>,
        cancel: &CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<(ToolOutput, Option<String>), InstanceError> {
        let mount = mount_path(part);
        let job = ClaimJob {
            namespace: self.namespace,
            name: job_name("data", &part.component()),
            claim,
            mount: &mount,
            workdir: MOUNT_ROOT,
            image: self.job_image,
        };
        job.run(self.client, cmd, script, cancel, on_line)
            .await
            .map_err(|e| match e {
                super::claim_job::ClaimJobError::Job(super::restore_job::JobError::Cancelled) => {
                    InstanceError::Runtime(crate::runtime::RuntimeError::Cancelled(
                        "the data mover's Job was deleted",
                    ))
                }
                other => cluster(other),
            })
    }

    /// Stages `part` below `dumps/`: an app's database or Redis, read over the network.
    pub async fn stage(
        &self,
        part: &AppPart,
        cancel: CancellationToken,
    ) -> Result<u64, InstanceError> {
        let services = self.services(part).await?.services;
        let rel = part.path();
        let target = self.runner.paths().of(&self.place.join(&rel));
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        }
        let _ = std::fs::remove_file(&target);
        let target_text = target.display().to_string();
        let out = match part.kind {
            PartKind::Postgres => {
                let pg = services
                    .postgres
                    .ok_or_else(|| self.missing(part, "its DashApp names no database"))?;
                let host = self.host(&pg.service);
                let cmd = pg_tool(
                    Tool::PgDump,
                    &host,
                    &["-Fc", "-f", &target_text, &pg.database],
                );
                self.runner.run(cmd, cancel, &mut |_, _| {}).await?
            }
            PartKind::Redis => {
                let r = services
                    .redis
                    .ok_or_else(|| self.missing(part, "its DashApp names no Redis"))?;
                let host = self.host(&r.service);
                self.rdb(&host, &target, cancel).await?
            }
            PartKind::Files => {
                return Err(InstanceError::NotHere(format!(
                    "reading {} from Lifeboat's own container (it is read beside its claim)",
                    part.describe()
                )));
            }
        };
        if out.exit_code != Some(0) {
            let _ = std::fs::remove_file(&target);
            return Err(InstanceError::Tool {
                step: if part.kind == PartKind::Postgres {
                    "pg_dump"
                } else {
                    "redis-cli --rdb"
                },
                tail: crate::pgbackrest::output_tail(&out),
            });
        }
        std::fs::metadata(&target)
            .map(|m| m.len())
            .map_err(io("cannot read", &target))
    }

    /// `<service>.<namespace>.svc`.
    fn host(&self, service: &str) -> String {
        format!("{service}.{}.svc", self.namespace)
    }

    /// `redis-cli --rdb` from `host` into `target`, stopped when the RDB has not grown for
    /// [`STALL`] and the server does not answer `PING` (a Redis that stopped answering
    /// would hold it forever).
    async fn rdb(
        &self,
        host: &str,
        target: &std::path::Path,
        cancel: CancellationToken,
    ) -> Result<ToolOutput, InstanceError> {
        let cmd = redis_cli(host, &["--rdb", &target.display().to_string()]);
        match rdb::until_stalled(self.runner, cmd, cancel, target, || self.ping(host)).await {
            Ok(out) => Ok(out?),
            Err(stalled) => Err(InstanceError::App(format!(
                "the Redis at {host} stopped answering: {stalled}"
            ))),
        }
    }

    async fn ping(&self, host: &str) -> bool {
        let cmd = redis_cli(host, &["PING"]);
        let mut quiet = |_: Stream, _: &str| {};
        let limit = tokio::time::timeout(
            Duration::from_secs(3),
            self.runner.run(cmd, CancellationToken::new(), &mut quiet),
        );
        matches!(limit.await, Ok(Ok(out)) if out.stdout_tail.iter().any(|l| l.trim() == "PONG"))
    }

    /// Restores `part`: a database from the fetched dump; a Redis or files from the
    /// bucket, beside their claim.
    pub async fn restore(
        &self,
        part: &AppPart,
        from: &AppSource<'_>,
        paths: &crate::runtime::host::paths::Paths,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        let services = self.services(part).await?.services;
        match part.kind {
            PartKind::Postgres => {
                let pg = services
                    .postgres
                    .ok_or_else(|| self.missing(part, "its DashApp names no database"))?;
                let dump = paths.of(&from.fetched.join(&part.path()));
                if !dump.exists() {
                    return Err(InstanceError::App(format!(
                        "the backup holds no {} (nothing at {})",
                        part.describe(),
                        part.path()
                    )));
                }
                self.restore_database(&self.host(&pg.service), &pg.database, &dump, cancel)
                    .await
            }
            PartKind::Redis => {
                let r = services
                    .redis
                    .ok_or_else(|| self.missing(part, "its DashApp names no Redis"))?;
                self.restore_redis(part, &r, from, cancel).await
            }
            PartKind::Files => {
                let claim = self.claim_in(part, services)?;
                self.existing_claim(part, &claim).await?;
                let mount = mount_path(part);
                let cmd = (from.restic_restore)(&format!("{mount}/.lifeboat-restore"));
                let (out, node) = self
                    .beside_checked(part, &claim, cmd, RESTORE_TREE, &cancel)
                    .await?;
                let said = out
                    .stdout_tail
                    .iter()
                    .rev()
                    .find_map(|l| l.strip_prefix("lifeboat: "))
                    .unwrap_or("restored")
                    .to_owned();
                Ok(format!(
                    "claim {claim}: {said}, by a Job beside it on node {}",
                    node.as_deref().unwrap_or("(unknown)")
                ))
            }
        }
    }

    /// Runs `cmd` beside `claim` through `script`, with the part's mount and path in its
    /// environment; a failed run is an error with its last lines.
    async fn beside_checked(
        &self,
        part: &AppPart,
        claim: &str,
        mut cmd: ToolCommand,
        script: &str,
        cancel: &CancellationToken,
    ) -> Result<(ToolOutput, Option<String>), InstanceError> {
        cmd.env.push(("LIFEBOAT_MOUNT".into(), mount_path(part)));
        cmd.env.push(("LIFEBOAT_PART".into(), part.path()));
        let (out, node) = self
            .run_beside(part, claim, &cmd, Some(script), cancel, &mut |_, _| {})
            .await?;
        if out.exit_code != Some(0) {
            return Err(InstanceError::Tool {
                step: "the restore beside the claim",
                tail: crate::pgbackrest::output_tail(&out),
            });
        }
        Ok((out, node))
    }

    async fn restore_database(
        &self,
        host: &str,
        database: &str,
        dump: &std::path::Path,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        let psql = Psql {
            host: host.to_owned(),
            port: POSTGRES_PORT,
            as_postgres_user: false,
        };
        // A restore of the platform brought the app-data Postgres back moments ago: wait
        // until it answers.
        let deadline = tokio::time::Instant::now() + READY_LIMIT;
        loop {
            let probe = psql.command("postgres", &["-Atc", "SELECT 1"]);
            match self.runner.run(probe, cancel.clone(), &mut |_, _| {}).await {
                Ok(out) if out.exit_code == Some(0) => break,
                Err(e @ crate::runtime::RuntimeError::Cancelled(_)) => return Err(e.into()),
                _ if tokio::time::Instant::now() > deadline => {
                    return Err(InstanceError::App(format!(
                        "the app-data Postgres at {host} did not answer within {} s",
                        READY_LIMIT.as_secs()
                    )));
                }
                _ => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        // Replaced whole, so it holds exactly what was backed up. (Each `-c` runs on its
        // own: a database is not dropped inside a transaction.)
        let role = format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{database}') \
             THEN CREATE ROLE \"{database}\" LOGIN; END IF; END $$"
        );
        let drop = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
        let create = format!("CREATE DATABASE \"{database}\" OWNER \"{database}\"");
        let cmd = psql.command("postgres", &["-q", "-c", &role, "-c", &drop, "-c", &create]);
        let out = self.runner.run(cmd, cancel.clone(), &mut |_, _| {}).await?;
        if out.exit_code != Some(0) {
            return Err(InstanceError::Tool {
                step: "psql",
                tail: crate::pgbackrest::output_tail(&out),
            });
        }
        let dump = dump.display().to_string();
        let cmd = pg_tool(
            Tool::PgRestore,
            host,
            &[
                "--exit-on-error",
                "--single-transaction",
                "-d",
                database,
                &dump,
            ],
        );
        let out = self.runner.run(cmd, cancel, &mut |_, _| {}).await?;
        if out.exit_code != Some(0) {
            return Err(InstanceError::Tool {
                step: "pg_restore",
                tail: crate::pgbackrest::output_tail(&out),
            });
        }
        Ok(format!(
            "database {database} on {host} replaced (pg_restore)"
        ))
    }

    async fn restore_redis(
        &self,
        part: &AppPart,
        r: &dash_apps::RedisRef,
        from: &AppSource<'_>,
        cancel: CancellationToken,
    ) -> Result<String, InstanceError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), self.namespace);
        let found = api
            .list(&ListParams::default().fields(&format!("metadata.name={}", r.deployment)))
            .await
            .map_err(cluster)?;
        let Some(deployment) = found.items.into_iter().next() else {
            return Err(self.missing(part, &format!("Deployment {} does not exist", r.deployment)));
        };
        self.existing_claim(part, &r.claim).await?;
        let replicas = deployment
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1);
        let selector = deployment
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.clone())
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let workloads = Workloads::new(self.client.clone(), self.namespace, "");
        // Stopped first: a Redis saves its RDB as it stops, over what is put back.
        self.scale(&api, &r.deployment, 0).await?;
        if !selector.is_empty() {
            workloads
                .wait_pods_gone(
                    &selector,
                    &format!("the pods of Deployment {}", r.deployment),
                    READY_LIMIT,
                )
                .await
                .map_err(cluster)?;
        }
        let mount = mount_path(part);
        let cmd = (from.restic_restore)(&format!("{mount}/.lifeboat-restore"));
        let result = self
            .beside_checked(part, &r.claim, cmd, RESTORE_RDB, &cancel)
            .await
            .map(|(_, node)| node.unwrap_or_else(|| "(unknown)".into()));
        // Started again even when the RDB could not be put back: it serves what it had.
        self.scale(&api, &r.deployment, replicas).await?;
        let node = result?;
        if replicas > 0 {
            self.wait_redis(&self.host(&r.service)).await?;
        }
        Ok(if replicas > 0 {
            format!(
                "Redis {} stopped (Deployment {} scaled to 0), its RDB put back on claim {} by a Job beside it on node {node}, started again",
                r.service, r.deployment, r.claim
            )
        } else {
            format!(
                "the RDB of Redis {} put back on claim {} by a Job beside it on node {node} (its Deployment stays at 0 replicas, as it was)",
                r.service, r.claim
            )
        })
    }

    async fn scale(
        &self,
        api: &Api<Deployment>,
        name: &str,
        replicas: i32,
    ) -> Result<(), InstanceError> {
        let patch = serde_json::json!({"spec": {"replicas": replicas}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(drop)
            .map_err(|e| cluster(format!("cannot scale Deployment {name} to {replicas}: {e}")))
    }

    async fn wait_redis(&self, host: &str) -> Result<(), InstanceError> {
        let deadline = tokio::time::Instant::now() + READY_LIMIT;
        while !self.ping(host).await {
            if tokio::time::Instant::now() > deadline {
                return Err(InstanceError::App(format!(
                    "the Redis at {host} did not answer within {} s of its restore",
                    READY_LIMIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    }

    /// Removes what a backup staged.
    pub fn clear_staging(&self) -> Result<(), InstanceError> {
        let dumps = self.runner.paths().of(&self.place.join("dumps"));
        if dumps.exists() {
            std::fs::remove_dir_all(&dumps).map_err(io("cannot remove", &dumps))?;
        }
        Ok(())
    }
}

/// Where a data mover mounts `part`'s claim: its files' folder, or its RDB's.
fn mount_path(part: &AppPart) -> String {
    let path = part.path();
    let folder = match part.kind {
        PartKind::Files => path.as_str(),
        _ => path.rsplit_once('/').map_or(path.as_str(), |(dir, _)| dir),
    };
    format!("{MOUNT_ROOT}/{folder}")
}

/// A client tool on an app's database server, as the `postgres` database user.
fn pg_tool(tool: Tool, host: &str, args: &[&str]) -> ToolCommand {
    let mut c = ToolCommand::new(
        tool,
        [
            "-h",
            host,
            "-p",
            &POSTGRES_PORT.to_string(),
            "-U",
            "postgres",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(args.iter().map(|a| (*a).to_owned())),
    );
    c.env.push(("PGCONNECT_TIMEOUT".into(), "10".into()));
    c
}

fn redis_cli(host: &str, args: &[&str]) -> ToolCommand {
    ToolCommand::new(
        Tool::RedisCli,
        ["-h", host, "-p", &REDIS_PORT.to_string()]
            .into_iter()
            .map(str::to_owned)
            .chain(args.iter().map(|a| (*a).to_owned())),
    )
}

fn io(what: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> InstanceError {
    let path = path.to_path_buf();
    move |source| InstanceError::Io { what, path, source }
}

/// Puts a part's files back on its claim (mounted at `$LIFEBOAT_MOUNT`): restic restores
/// them beside (`.lifeboat-restore`), and only once it has, what was there goes and they
/// take its place. A failed restore leaves the claim as it was.
const RESTORE_TREE: &str = r#"set -eu
M="$LIFEBOAT_MOUNT"; R="$M/.lifeboat-restore"; P="$LIFEBOAT_PART"
rm -rf "$R"; mkdir -p "$R"
"$@"
if [ ! -d "$R/$P" ]; then echo "the backup holds nothing at $P" >&2; rm -rf "$R"; exit 3; fi
find "$M" -mindepth 1 -maxdepth 1 ! -name .lifeboat-restore -exec rm -rf {} +
find "$R/$P" -mindepth 1 -maxdepth 1 -exec mv -t "$M" {} +
rm -rf "$R"
echo "lifeboat: $(find "$M" -type f | wc -l) files restored"
"#;

/// Puts a Redis' RDB back on its claim (mounted at `$LIFEBOAT_MOUNT`) as `dump.rdb`, by a
/// rename once restic has restored it whole.
const RESTORE_RDB: &str = r#"set -eu
M="$LIFEBOAT_MOUNT"; R="$M/.lifeboat-restore"; P="$LIFEBOAT_PART"
rm -rf "$R"; mkdir -p "$R"
"$@"
if [ ! -f "$R/$P" ]; then echo "the backup holds no RDB at $P" >&2; rm -rf "$R"; exit 3; fi
chmod 0644 "$R/$P"
mv "$R/$P" "$M/dump.rdb"
rm -rf "$R"
echo "lifeboat: RDB put back"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_mounted_where_the_part_is() {
        assert_eq!(
            mount_path(&AppPart::app("app-001", PartKind::Files)),
            "/data/files/apps/app-001"
        );
        assert_eq!(
            mount_path(&AppPart::workspace("ws-1")),
            "/data/files/workspaces/ws-1"
        );
        assert_eq!(
            mount_path(&AppPart::app("app-001", PartKind::Redis)),
            "/data/dumps/app-001"
        );
    }
}
