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
/// How long pgBackRest may run in the Job: no limit of Lifeboat's own (its own timeouts
/// apply, and the operation can be cancelled), only the one a wait needs.
const RUN_LIMIT: Duration = Duration::from_secs(30 * 24 * 3600);
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

/// One StatefulSet's restore Job (or, through [`RestoreJob::named`], any Job Lifeboat runs
/// to its end and removes: a data mover beside an app's claim).
pub struct RestoreJob {
    client: Client,
    namespace: String,
    statefulset: String,
    /// The Job's name.
    job: String,
    /// The label on its pod that finds it: key and value.
    label: (&'static str, String),
    /// The node its pod ran on, once it started.
    ran_on: std::sync::Mutex<Option<String>>,
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
            job: format!("{statefulset}-restore"),
            label: (RESTORE_OF, statefulset.to_owned()),
            ran_on: std::sync::Mutex::new(None),
        }
    }

    /// The Job `name` of `namespace`, whose pod carries the label `label` (key, value).
    pub fn named(
        client: Client,
        namespace: &str,
        name: &str,
        label: (&'static str, String),
    ) -> Self {
        Self {
            client,
            namespace: namespace.to_owned(),
            statefulset: String::new(),
            job: name.to_owned(),
            label,
            ran_on: std::sync::Mutex::new(None),
        }
    }

    fn name(&self) -> String {
        self.job.clone()
    }

    /// The node the Job's pod ran on, once it started.
    pub fn ran_on(&self) -> Option<String> {
        self.ran_on.lock().ok().and_then(|n| n.clone())
    }

    /// The label the Job's pod must carry (its template's labels must include it).
    pub fn pod_label(&self) -> (&'static str, String) {
        self.label.clone()
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
        self.remove().await?;
        let (job, container) = self.build(sts, args)?;
        self.run_built(&job, &container, cancel, on_line).await
    }

    /// Creates `job` (an earlier one of its name must be gone: see [`Self::remove`]) and
    /// runs it to its end as [`Self::run`] does, following `container`'s log.
    pub async fn run_built(
        &self,
        job: &Job,
        container: &str,
        cancel: &CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, JobError> {
        self.create(job).await?;
        self.run_created(container, cancel, on_line).await
    }

    /// Creates `job`; returns it as the API server has it (its uid, for owner references).
    pub async fn create(&self, job: &Job) -> Result<Job, JobError> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), &self.namespace);
        jobs.create(&PostParams::default(), job)
            .await
            .map_err(api(format!("create Job {}", self.name())))
    }

    /// Follows the Job [`Self::create`] made to its end, then deletes it (waiting until it
    /// and its pod are gone unless it ended well).
    pub async fn run_created(
        &self,
        container: &str,
        cancel: &CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, JobError> {
        let result = tokio::select! {
            r = self.follow(container, on_line) => r,
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
        let labels = BTreeMap::from([(self.label.0.to_owned(), self.label.1.clone())]);
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
    ///
    /// The pod's exit is watched beside the log: a kubelet ends a followed log some time
    /// after its container (up to a second; 200 ms for the node stand-in), and the restore
    /// waits with Postgres down. Once the container has ended, its log is complete, so it
    /// is read whole and what the stream had not passed on yet is passed on from it.
    async fn follow(
        &self,
        container: &str,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<ToolOutput, JobError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let pod = self.wait_started(&pods).await?;
        let mut log = LogLines::default();
        let exited = {
            let streaming = self.stream_log(&pods, &pod, container, &mut log, on_line);
            tokio::pin!(streaming);
            tokio::select! {
                ended = &mut streaming => {
                    ended?;
                    None
                }
                code = self.watch_exit(&pods, &pod, container) => Some(code),
            }
        };
        let exit_code = match exited {
            Some(code) => {
                let params = LogParams {
                    container: Some(container.to_owned()),
                    ..Default::default()
                };
                // The exit is known: a log that cannot be read now leaves the lines followed.
                match pods.logs(&pod, &params).await {
                    Ok(whole) => log.finish(&whole, on_line),
                    Err(e) => {
                        tracing::warn!(%pod, error = %e, "cannot read the restore Job's whole log; keeping the lines followed");
                    }
                }
                code
            }
            None => self.wait_exit(&pods, &pod, container).await?,
        };
        Ok(ToolOutput {
            exit_code: Some(exit_code),
            stdout_tail: log.tail.into(),
            stderr_tail: Vec::new(),
        })
    }

    /// Follows the pod's log into `log` until it ends with the container.
    async fn stream_log(
        &self,
        pods: &Api<Pod>,
        pod: &str,
        container: &str,
        log: &mut LogLines,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<(), JobError> {
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
                .log_stream(pod, &params)
                .await
                .map_err(api(format!("follow the log of pod {pod}")))?;
            log.resumed |= attempt > 0;
            let mut lines = stream.lines();
            while let Some(line) = lines.next().await {
                let Ok(line) = line else { break };
                log.push(line, on_line);
            }
            // The log ends with the container; its status follows within moments.
            if !self.still_running(pods, pod).await? {
                return Ok(());
            }
            tracing::warn!(%pod, attempt, "the restore Job's log stream ended while it runs; following it again");
        }
        Ok(())
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
                let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
                if let Ok(mut ran_on) = self.ran_on.lock() {
                    *ran_on = node;
                }
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

    /// The Job's pods, by their label.
    fn selector(&self) -> Selector {
        Selector::labels(&format!("{}={}", self.label.0, self.label.1))
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

    /// The exit code of `container` once it has ended, waited for up to `limit` (by its
    /// name: the kubelet sorts statuses by name, and a sidecar injected into the pod, a
    /// mesh's proxy, may come first).
    async fn exit_code(
        &self,
        pods: &Api<Pod>,
        pod: &str,
        container: &str,
        limit: Duration,
    ) -> Result<Option<i32>, JobError> {
        watch::until(pods, &Selector::name(pod), limit, |found| {
            found
                .first()?
                .status
                .as_ref()?
                .container_statuses
                .as_ref()?
                .iter()
                .find(|c| c.name == container)?
                .state
                .as_ref()?
                .terminated
                .as_ref()
                .map(|t| t.exit_code)
        })
        .await
        .map_err(api("watch the restore Job's pods"))
    }

    /// The container's exit code, however long pgBackRest runs: a failed watch (the API
    /// server restarting) is watched again a second later, while the log is followed.
    async fn watch_exit(&self, pods: &Api<Pod>, pod: &str, container: &str) -> i32 {
        loop {
            match self.exit_code(pods, pod, container, RUN_LIMIT).await {
                Ok(Some(code)) => return code,
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(%pod, error = %e, "watching the restore Job's pod failed; watching again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// The container's exit code once its log has ended (it follows within moments).
    async fn wait_exit(
        &self,
        pods: &Api<Pod>,
        pod: &str,
        container: &str,
    ) -> Result<i32, JobError> {
        self.exit_code(pods, pod, container, EXIT_LIMIT)
            .await?
            .ok_or_else(|| {
                JobError::Stuck(format!(
                    "pod {pod}'s log ended but it did not report an exit within {} s",
                    EXIT_LIMIT.as_secs()
                ))
            })
    }

    /// Deletes the Job (and its pod) if it is there, and waits until both are gone.
    pub async fn remove(&self) -> Result<(), JobError> {
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
            tokio::time::sleep(watch::POLL).await;
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

/// The lines of the Job's log seen so far: how many, and the last [`TAIL_LINES`].
#[derive(Debug, Default)]
struct LogLines {
    tail: VecDeque<String>,
    seen: usize,
    /// The stream was followed again from its new lines (`tail_lines=0`): `seen` no longer
    /// counts from the log's start.
    resumed: bool,
}

impl LogLines {
    fn push(&mut self, line: String, on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send)) {
        on_line(Stream::Stdout, &line);
        self.seen += 1;
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// Takes the whole log of the ended container: passes on the lines the stream had not
    /// (those after the `seen` first ones when the last of them is the last line seen; else,
    /// as after a resumed stream, those after the last line seen), and keeps its last lines
    /// as the tail. When the whole log does not line up with what was seen (the kubelet
    /// rotated its file), its last lines are passed on after a line saying so: the end of
    /// the log (an error) is never lost.
    fn finish(&mut self, whole: &str, on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send)) {
        let lines: Vec<&str> = whole.lines().collect();
        let new_from = match self.tail.back() {
            None => Some(0),
            Some(last) => (!self.resumed
                && self.seen.checked_sub(1).and_then(|i| lines.get(i)) == Some(&last.as_str()))
            .then_some(self.seen)
            .or_else(|| lines.iter().rposition(|l| l == last).map(|i| i + 1)),
        };
        let from = lines.len().saturating_sub(TAIL_LINES);
        let new_from = new_from.unwrap_or_else(|| {
            on_line(
                Stream::Stdout,
                "… (the log was rotated or broken off: its last lines follow)",
            );
            from
        });
        for line in &lines[new_from..] {
            on_line(Stream::Stdout, line);
        }
        self.seen = self.seen.max(lines.len());
        self.tail = lines[from..].iter().map(|l| (*l).to_owned()).collect();
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

    #[test]
    fn the_whole_log_passes_on_only_what_the_stream_had_not() {
        let mut passed = Vec::new();
        let mut log = LogLines::default();
        for l in ["INFO: restore command begin", "P00 DETAIL: restore file a"] {
            log.push(l.to_owned(), &mut |_, line| passed.push(line.to_owned()));
        }
        let whole = "INFO: restore command begin\nP00 DETAIL: restore file a\nP00 DETAIL: restore file b\nINFO: restore command end: completed successfully\n";
        log.finish(whole, &mut |_, line| passed.push(line.to_owned()));
        assert_eq!(
            passed,
            [
                "INFO: restore command begin",
                "P00 DETAIL: restore file a",
                "P00 DETAIL: restore file b",
                "INFO: restore command end: completed successfully"
            ]
        );
        assert_eq!(log.tail.len(), 4);
        assert_eq!(
            log.tail.back().map(String::as_str),
            Some("INFO: restore command end: completed successfully")
        );
    }

    #[test]
    fn after_a_resumed_stream_the_last_line_seen_is_where_new_lines_start() {
        let mut passed = Vec::new();
        let mut log = LogLines::default();
        log.push("line 1".to_owned(), &mut |_, _| {});
        // Followed again from its new lines: line 2 and 3 were never seen.
        log.resumed = true;
        log.push("line 4".to_owned(), &mut |_, _| {});
        log.finish(
            "line 1\nline 2\nline 3\nline 4\nERROR: [040]: the end\n",
            &mut |_, line| passed.push(line.to_owned()),
        );
        assert_eq!(passed, ["ERROR: [040]: the end"]);
        // The tail is the log's own last lines, with those the stream missed.
        assert_eq!(log.tail.len(), 5);
    }

    #[test]
    fn a_rotated_log_still_passes_on_its_last_lines() {
        let mut passed = Vec::new();
        let mut log = LogLines::default();
        for i in 0..5 {
            log.push(format!("old line {i}"), &mut |_, _| {});
        }
        // The kubelet rotated the file: the whole log now holds fewer lines than were seen,
        // none of them the last one seen.
        log.finish("new line 1\nERROR: [040]: the end\n", &mut |_, line| {
            passed.push(line.to_owned());
        });
        assert_eq!(passed.len(), 3, "{passed:?}");
        assert!(passed[0].contains("rotated"), "{passed:?}");
        assert_eq!(passed[2], "ERROR: [040]: the end");
        assert_eq!(
            log.tail.back().map(String::as_str),
            Some("ERROR: [040]: the end")
        );
    }

    #[test]
    fn the_tail_keeps_the_last_lines_of_a_long_log() {
        let whole: String = (0..TAIL_LINES + 7).map(|i| format!("line {i}\n")).collect();
        let mut count = 0;
        let mut log = LogLines::default();
        log.finish(&whole, &mut |_, _| count += 1);
        assert_eq!(count, TAIL_LINES + 7);
        assert_eq!(log.tail.len(), TAIL_LINES);
        assert_eq!(log.tail.front().map(String::as_str), Some("line 7"));
    }
}
