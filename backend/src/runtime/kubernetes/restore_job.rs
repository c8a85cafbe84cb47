//! The restore Job: `pgbackrest restore` in a pod that mounts the system Postgres' claim,
//! the way Crunchy's operator restores.
//!
//! The Job's pod is the system Postgres' own `postgres` container (same image, so the same
//! pgBackRest; same environment, volumes and security context) with its command replaced,
//! its probes dropped and its data volume bound to the StatefulSet's claim of pod 0. The
//! environment is what points pgBackRest at the repository: the `pgbackrest server` beside
//! Lifeboat's staging volume (`repo1-host-type=tls`), the one the system Postgres archives
//! its WAL to. Lifeboat follows the pod's log through the API server (pgBackRest's progress
//! lines) and reads the container's exit code; the Job is deleted, and its pod waited for,
//! before the step ends, so the claim is free for Postgres.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, PersistentVolumeClaimVolumeSource, Pod, PodSpec, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, LogParams, PostParams};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::watch::{self, Selector};
use crate::command::{Stream, TAIL_LINES, ToolOutput};

/// How long the Job's pod may take to start running.
const START_LIMIT: Duration = Duration::from_secs(120);
/// How long a Job (and its pod) may take to go once deleted.
const DELETE_LIMIT: Duration = Duration::from_secs(90);
/// How long the pod may take to report its exit once its log has ended.
const EXIT_LIMIT: Duration = Duration::from_secs(60);
/// How many times a broken log stream is followed again while the pod runs.
const MAX_LOG_REOPENS: u32 = 30;

/// The label on the Job's pod (never the StatefulSet's own, which its Service selects).
const RESTORE_OF: &str = "lifeboat.plotly.com/restore-of";

/// Why the restore Job could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The API server refused or failed a call.
    #[error("cannot {what}: {source}")]
    Api {
        /// What we were doing.
        what: String,
        /// Why.
        source: kube::Error,
    },
    /// The StatefulSet has no container to run pgBackRest in.
    #[error("StatefulSet {0} has no pod template with a container")]
    NoContainer(String),
    /// A wait ran out, or the pod could not start.
    #[error("{0}")]
    Stuck(String),
    /// The operation was cancelled: the Job was deleted.
    #[error("the restore Job was deleted because the operation was cancelled")]
    Cancelled,
}

fn api(what: impl Into<String>) -> impl FnOnce(kube::Error) -> JobError {
    let what = what.into();
    move |source| JobError::Api { what, source }
}

/// One StatefulSet's restore Job.
pub struct RestoreJob {
    client: Client,
    namespace: String,
    statefulset: String,
}

impl std::fmt::Debug for RestoreJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreJob")
            .field("namespace", &self.namespace)
            .field("statefulset", &self.statefulset)
            .finish_non_exhaustive()
    }
}

impl RestoreJob {
    /// The restore Job of `statefulset` in `namespace`.
    pub fn new(client: Client, namespace: &str, statefulset: &str) -> Self {
        Self {
            client,
            namespace: namespace.to_owned(),
            statefulset: statefulset.to_owned(),
        }
    }

    fn name(&self) -> String {
        format!("{}-restore", self.statefulset)
    }

    /// Runs `pgbackrest <args>` in the Job built from `sts` (the live StatefulSet, or the
    /// saved one when the namespace has none yet) to its end, calling `on_line` for each line
    /// of its log; an earlier attempt's Job is removed first.
    pub async fn run(
        &self,
        sts: &StatefulSet,
        args: Vec<String>,
        cancel: &CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, JobError> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), &self.namespace);
        self.remove().await?;
        let (job, container) = self.build(sts, args)?;
        jobs.create(&PostParams::default(), &job)
            .await
            .map_err(api(format!("create Job {}", self.name())))?;
        let result = tokio::select! {
            r = self.follow(&container, on_line) => r,
            () = cancel.cancelled() => Err(JobError::Cancelled),
        };
        // A Job that ended well is deleted here and waited for while Postgres starts (see
        // `wait_removed`): its container has exited, so it writes to the claim no more.
        // Otherwise the claim must be free again before a next attempt: wait for it now.
        let removed = match &result {
            Ok(out) if out.success() => self.delete().await,
            _ => self.remove().await,
        };
        if let (Err(_), Err(e)) = (&result, &removed) {
            tracing::error!(error = %e, "the restore Job could not be removed");
        }
        let out = result?;
        removed?;
        Ok(out)
    }

    /// The live StatefulSet, if the namespace has it.
    pub async fn live(&self) -> Result<Option<StatefulSet>, JobError> {
        let sts: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        sts.get_opt(&self.statefulset)
            .await
            .map_err(api(format!("read StatefulSet {}", self.statefulset)))
    }

    /// The Job, built from the StatefulSet's pod template; and the container's name.
    fn build(&self, sts: &StatefulSet, args: Vec<String>) -> Result<(Job, String), JobError> {
        let spec = sts.spec.clone().unwrap_or_default();
        let mut pod = spec
            .template
            .spec
            .ok_or_else(|| JobError::NoContainer(self.statefulset.clone()))?;
        let container = pick_container(&pod.containers)
            .ok_or_else(|| JobError::NoContainer(self.statefulset.clone()))?;
        let container = Container {
            command: Some(vec!["pgbackrest".into()]),
            args: Some(args),
            readiness_probe: None,
            liveness_probe: None,
            startup_probe: None,
            lifecycle: None,
            ports: None,
            ..container
        };
        let name = container.name.clone();
        let claims = spec
            .volume_claim_templates
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| t.metadata.name)
            .map(|claim| Volume {
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: format!("{claim}-{}-0", self.statefulset),
                    read_only: None,
                }),
                name: claim,
                ..Default::default()
            });
        let mut volumes = pod.volumes.take().unwrap_or_default();
        volumes.extend(claims);
        pod = PodSpec {
            containers: vec![container],
            init_containers: None,
            restart_policy: Some("Never".into()),
            volumes: Some(volumes),
            ..pod
        };
        let labels = BTreeMap::from([(RESTORE_OF.to_owned(), self.statefulset.clone())]);
        let job = Job {
            metadata: ObjectMeta {
                name: Some(self.name()),
                namespace: Some(self.namespace.clone()),
                labels: Some(
                    [(
                        "app.kubernetes.io/managed-by".to_owned(),
                        "lifeboat".to_owned(),
                    )]
                    .into(),
                ),
                ..Default::default()
            },
            spec: Some(JobSpec {
                backoff_limit: Some(0),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    spec: Some(pod),
                },
                ..Default::default()
            }),
            status: None,
        };
        Ok((job, name))
    }

    /// Waits for the pod, streams its log, and reads its exit code.
    async fn follow(
        &self,
        container: &str,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, JobError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let pod = self.wait_started(&pods).await?;
        let mut tail = VecDeque::with_capacity(TAIL_LINES);
        // A log stream can break while pgBackRest still runs (the API server restarts, a
        // connection drops): follow it again, from its new lines, while the pod runs.
        for attempt in 0..=MAX_LOG_REOPENS {
            let params = LogParams {
                container: Some(container.to_owned()),
                follow: true,
                tail_lines: (attempt > 0).then_some(0),
                ..Default::default()
            };
            let stream = pods
                .log_stream(&pod, &params)
                .await
                .map_err(api(format!("follow the log of pod {pod}")))?;
            let mut lines = stream.lines();
            while let Some(line) = lines.next().await {
                let Ok(line) = line else { break };
                on_line(Stream::Stdout, &line);
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            // The log ends with the container; its status follows within moments.
            let running = self.still_running(&pods, &pod).await?;
            if !running {
                break;
            }
            tracing::warn!(%pod, attempt, "the restore Job's log stream ended while it runs; following it again");
        }
        let exit_code = self.wait_exit(&pods, &pod).await?;
        Ok(ToolOutput {
            exit_code: Some(exit_code),
            stdout_tail: tail.into(),
            stderr_tail: Vec::new(),
        })
    }

    /// The Job's pod, once it runs (or has already ended).
    async fn wait_started(&self, pods: &Api<Pod>) -> Result<String, JobError> {
        let mut last = "no pod yet".to_owned();
        let started = watch::until(pods, &self.selector(), START_LIMIT, |found| {
            let pod = found.first()?;
            let phase = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default();
            if matches!(phase.as_str(), "Running" | "Succeeded" | "Failed") {
                return Some(pod.name_any());
            }
            last = waiting_reason(pod).unwrap_or_else(|| format!("pod is {phase}"));
            None
        })
        .await
        .map_err(api("watch the restore Job's pods"))?;
        started.ok_or_else(|| {
            JobError::Stuck(format!(
                "the restore Job's pod did not start within {} s ({last})",
                START_LIMIT.as_secs()
            ))
        })
    }

    /// The Job's pods, by [`RESTORE_OF`].
    fn selector(&self) -> Selector {
        Selector::labels(&format!("{RESTORE_OF}={}", self.statefulset))
    }

    /// Whether the pod still runs 3 s after its log ended (its status follows the log's
    /// end within moments; still running then, the log stream broke).
    async fn still_running(&self, pods: &Api<Pod>, pod: &str) -> Result<bool, JobError> {
        let ended = watch::until(
            pods,
            &Selector::name(pod),
            Duration::from_secs(3),
            |found| {
                let running = found
                    .first()
                    .and_then(|p| p.status.as_ref())
                    .is_some_and(|s| s.phase.as_deref() == Some("Running"));
                (!running).then_some(())
            },
        )
        .await
        .map_err(api("watch the restore Job's pods"))?;
        Ok(ended.is_none())
    }

    /// The container's exit code once the pod has ended.
    async fn wait_exit(&self, pods: &Api<Pod>, pod: &str) -> Result<i32, JobError> {
        let code = watch::until(pods, &Selector::name(pod), EXIT_LIMIT, |found| {
            found
                .first()?
                .status
                .as_ref()?
                .container_statuses
                .as_ref()?
                .first()?
                .state
                .as_ref()?
                .terminated
                .as_ref()
                .map(|t| t.exit_code)
        })
        .await
        .map_err(api("watch the restore Job's pods"))?;
        code.ok_or_else(|| {
            JobError::Stuck(format!(
                "pod {pod}'s log ended but it did not report an exit within {} s",
                EXIT_LIMIT.as_secs()
            ))
        })
    }

    /// Deletes the Job (and its pod) if it is there, and waits until both are gone.
    async fn remove(&self) -> Result<(), JobError> {
        self.delete().await?;
        self.wait_removed().await
    }

    /// Asks for the Job (and, through the garbage collector, its pod) to be deleted.
    async fn delete(&self) -> Result<(), JobError> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), &self.namespace);
        let name = self.name();
        match jobs.delete(&name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api(format!("delete Job {name}"))(e)),
        }
    }

    /// Waits until the Job and its pods are gone (after [`Self::run`], which deleted it).
    pub async fn wait_removed(&self) -> Result<(), JobError> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), &self.namespace);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let name = self.name();
        let stuck = || {
            JobError::Stuck(format!(
                "Job {name} and its pods were still there {} s after being deleted",
                DELETE_LIMIT.as_secs()
            ))
        };
        let started = tokio::time::Instant::now();
        // Deleted in the background, the Job goes at once and its pods after it.
        while jobs
            .get_opt(&name)
            .await
            .map_err(api(format!("read Job {name}")))?
            .is_some()
        {
            if started.elapsed() > DELETE_LIMIT {
                return Err(stuck());
            }
            tokio::time::sleep(super::POLL).await;
        }
        let left = DELETE_LIMIT.saturating_sub(started.elapsed());
        watch::until(&pods, &self.selector(), left, |p| {
            p.is_empty().then_some(())
        })
        .await
        .map_err(api("watch the restore Job's pods"))?
        .ok_or_else(stuck)
    }
}

/// The container pgBackRest runs in: the one named `postgres`, else the first.
fn pick_container(containers: &[Container]) -> Option<Container> {
    containers
        .iter()
        .find(|c| c.name == "postgres")
        .or_else(|| containers.first())
        .cloned()
}

/// Why a pod has not started, if its status says (`ImagePullBackOff: …`).
fn waiting_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let from_container = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
        .map(|w| {
            format!(
                "{}: {}",
                w.reason.clone().unwrap_or_default(),
                w.message.clone().unwrap_or_default()
            )
        })
        .next();
    from_container.or_else(|| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.status == "False" && c.message.is_some())
            .and_then(|c| c.message.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgbackrest_runs_in_the_postgres_container() {
        let c = |name: &str| Container {
            name: name.into(),
            ..Default::default()
        };
        let picked = pick_container(&[c("pgbackrest"), c("postgres")]).map(|c| c.name);
        assert_eq!(picked.as_deref(), Some("postgres"));
        let picked = pick_container(&[c("db")]).map(|c| c.name);
        assert_eq!(picked.as_deref(), Some("db"));
        assert!(pick_container(&[]).is_none());
    }
}
