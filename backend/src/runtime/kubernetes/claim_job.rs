//! A data mover: one tool (restic) in a short-lived Job whose pod mounts an app's claim, so
//! the claim's data is read and written where it lives. The cluster's scheduler places the
//! pod: on the claim's node when its volume is local to one (a PersistentVolume with a node
//! affinity), anywhere it fits otherwise. Lifeboat schedules nothing itself.
//!
//! The tool's secrets (the bucket's credentials, the passphrase) never appear in the Job:
//! they go in a Secret of the Job's name, which the pod reads through `secretKeyRef`s and a
//! volume, owned by the Job so that it goes when the Job goes. The pod runs as root, the
//! way a backup agent must to read every file of every owner and put each back with its
//! owner and mode; it gets no service account token.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, PersistentVolumeClaimVolumeSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, Secret, SecretKeySelector, SecretVolumeSource,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::restore_job::{JobError, RestoreJob};
use crate::command::{Arg, Stream, ToolCommand, ToolOutput};

/// Where the pod finds the tool's secret files.
const SECRETS_DIR: &str = "/var/run/lifeboat-job";

/// The pod's scratch folder (restic's cache, temporary files).
const SCRATCH: &str = "/var/tmp/lifeboat-job";

/// The label on a data mover's pod: the claim it mounts.
const MOVES: &str = "lifeboat.plotly.com/moves-claim";

/// Why a data mover could not run.
#[derive(Debug, thiserror::Error)]
pub enum ClaimJobError {
    /// The Job itself.
    #[error(transparent)]
    Job(#[from] JobError),
    /// Writing its Secret.
    #[error("cannot write Secret {name}: {source}")]
    Secret {
        /// The Secret's name.
        name: String,
        /// Why.
        source: kube::Error,
    },
    /// The command names something only Lifeboat's own container has.
    #[error("{0}")]
    Unsupported(String),
}

/// One data mover.
#[derive(Debug, Clone)]
pub struct ClaimJob<'a> {
    /// The namespace of the claim.
    pub namespace: &'a str,
    /// The Job's (and its Secret's) name.
    pub name: String,
    /// The claim.
    pub claim: &'a str,
    /// Where the pod mounts it.
    pub mount: &'a str,
    /// The tool's working directory in the pod.
    pub workdir: &'a str,
    /// The image holding the tool (Lifeboat's own).
    pub image: &'a str,
}

impl ClaimJob<'_> {
    /// Runs `cmd` in the Job (through `sh -c script sh <tool> <args>…` when a script is
    /// given) to its end, calling `on_line` for each line of its log; the Job and its Secret
    /// are removed after. An earlier attempt's Job is removed first. Returns the tool's
    /// output and the node its pod ran on.
    pub async fn run(
        &self,
        client: &Client,
        cmd: &ToolCommand,
        script: Option<&str>,
        cancel: &CancellationToken,
        on_line: &mut (dyn for<'l> FnMut(Stream, &'l str) + Send),
    ) -> Result<(ToolOutput, Option<String>), ClaimJobError> {
        let runner = RestoreJob::named(
            client.clone(),
            self.namespace,
            &self.name,
            (MOVES, self.claim.to_owned()),
        );
        runner.remove().await?;
        let (job, secret) = self.build(cmd, script, &runner.pod_label())?;
        self.write_secret(client, &secret).await?;
        let created = runner.create(&job).await?;
        // Owned by the Job: the garbage collector removes it with the Job, however the Job
        // goes (a run that ends, a cancel, a Lifeboat that dies).
        let mut owned = secret;
        owned.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            name: created.name_any(),
            uid: created.uid().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        }]);
        self.write_secret(client, &owned).await?;
        let out = runner.run_created("mover", cancel, on_line).await?;
        Ok((out, runner.ran_on()))
    }

    async fn write_secret(&self, client: &Client, secret: &Secret) -> Result<(), ClaimJobError> {
        let api: Api<Secret> = Api::namespaced(client.clone(), self.namespace);
        api.patch(
            &self.name,
            &PatchParams::apply("lifeboat").force(),
            &Patch::Apply(secret),
        )
        .await
        .map(drop)
        .map_err(|source| ClaimJobError::Secret {
            name: self.name.clone(),
            source,
        })
    }

    /// The Job and the Secret it reads.
    fn build(
        &self,
        cmd: &ToolCommand,
        script: Option<&str>,
        label: &(&'static str, String),
    ) -> Result<(Job, Secret), ClaimJobError> {
        let mut data = BTreeMap::new();
        let env = self.env(cmd, &mut data);
        let mut args = Vec::with_capacity(cmd.args.len());
        for (i, a) in cmd.args.iter().enumerate() {
            args.push(match a {
                Arg::Text(t) => t.clone(),
                Arg::SecretFile { prefix, file } => {
                    let key = format!("arg-{i}");
                    data.insert(key.clone(), bytes(&file.content));
                    format!("{prefix}{SECRETS_DIR}/{key}")
                }
                Arg::Place { place, .. } => {
                    return Err(ClaimJobError::Unsupported(format!(
                        "a Job beside claim {} cannot reach Lifeboat's {place:?}",
                        self.claim
                    )));
                }
            });
        }
        let program = cmd.tool.program().to_owned();
        let command = match script {
            Some(s) => vec![
                "sh".to_owned(),
                "-c".into(),
                s.to_owned(),
                "sh".into(),
                program,
            ],
            None => vec![program],
        };
        let with_files = !cmd.secret_file_env.is_empty()
            || cmd.args.iter().any(|a| matches!(a, Arg::SecretFile { .. }));
        let (mounts, volumes) = self.volumes(with_files);
        let container = Container {
            name: "mover".into(),
            image: Some(self.image.to_owned()),
            command: Some(command),
            args: Some(args),
            env: Some(env),
            working_dir: Some(self.workdir.to_owned()),
            volume_mounts: Some(mounts),
            ..Default::default()
        };
        let managed = BTreeMap::from([(
            "app.kubernetes.io/managed-by".to_owned(),
            "lifeboat".to_owned(),
        )]);
        let pod = PodSpec {
            containers: vec![container],
            restart_policy: Some("Never".into()),
            automount_service_account_token: Some(false),
            termination_grace_period_seconds: Some(10),
            security_context: Some(PodSecurityContext {
                run_as_user: Some(0),
                run_as_group: Some(0),
                ..Default::default()
            }),
            volumes: Some(volumes),
            ..Default::default()
        };
        let meta = ObjectMeta {
            name: Some(self.name.clone()),
            namespace: Some(self.namespace.to_owned()),
            labels: Some(managed),
            ..Default::default()
        };
        let job = Job {
            metadata: meta.clone(),
            spec: Some(JobSpec {
                backoff_limit: Some(0),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(BTreeMap::from([(label.0.to_owned(), label.1.clone())])),
                        ..Default::default()
                    }),
                    spec: Some(pod),
                },
                ..Default::default()
            }),
            status: None,
        };
        let secret = Secret {
            metadata: meta,
            data: Some(data),
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        Ok((job, secret))
    }

    /// The container's environment: plain values as they are, secrets by reference to the
    /// Secret (their values go in `data`), secret files by their path in the pod.
    fn env(&self, cmd: &ToolCommand, data: &mut BTreeMap<String, ByteString>) -> Vec<EnvVar> {
        let plain = |name: &str, value: String| EnvVar {
            name: name.to_owned(),
            value: Some(value),
            value_from: None,
        };
        let mut env: Vec<EnvVar> = cmd.env.iter().map(|(k, v)| plain(k, v.clone())).collect();
        for (k, v) in &cmd.secret_env {
            data.insert(k.clone(), bytes(v));
            env.push(EnvVar {
                name: k.clone(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: self.name.clone(),
                        key: k.clone(),
                        optional: Some(false),
                    }),
                    ..Default::default()
                }),
            });
        }
        for (k, file) in &cmd.secret_file_env {
            let key = format!("file-{k}");
            data.insert(key.clone(), bytes(&file.content));
            env.push(plain(k, format!("{SECRETS_DIR}/{key}")));
        }
        env.push(plain("RESTIC_CACHE_DIR", format!("{SCRATCH}/restic-cache")));
        env.push(plain("TMPDIR", SCRATCH.to_owned()));
        env
    }

    /// The claim, a scratch folder and (`with_files`) the Secret's files: mounts and volumes.
    fn volumes(&self, with_files: bool) -> (Vec<VolumeMount>, Vec<Volume>) {
        let mount = |name: &str, path: &str| VolumeMount {
            name: name.to_owned(),
            mount_path: path.to_owned(),
            read_only: (name == "secrets").then_some(true),
            ..Default::default()
        };
        let mut mounts = vec![mount("data", self.mount), mount("scratch", SCRATCH)];
        let mut volumes = vec![
            Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: self.claim.to_owned(),
                    read_only: None,
                }),
                ..Default::default()
            },
            Volume {
                name: "scratch".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            },
        ];
        if with_files {
            mounts.push(mount("secrets", SECRETS_DIR));
            volumes.push(Volume {
                name: "secrets".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(self.name.clone()),
                    default_mode: Some(0o400),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        (mounts, volumes)
    }
}

fn bytes(secret: &crate::secret::Secret) -> ByteString {
    ByteString(secret.expose().as_bytes().to_vec())
}

/// A Job name for moving `component` (`app/app-001/files`) in a `verb` (`backup`,
/// `restore`): `lifeboat-<verb>-<app-001-files>`, cut to 63 characters with a hash so
/// that two long names never meet.
pub fn job_name(verb: &str, component: &str) -> String {
    let base = format!("lifeboat-{verb}-{}", component.replace('/', "-"))
        .trim_end_matches('-')
        .to_owned();
    let base = base.replace("app-app-", "app-");
    if base.len() <= 63 {
        return base;
    }
    // FNV-1a: stable across builds, so a retry finds the Job an earlier run left.
    let hash = component.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let cut = base
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i <= 54)
        .last()
        .unwrap_or(0);
    format!("{}-{hash:08x}", base[..cut].trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{SecretFile, Tool};
    use crate::secret::Secret as Value;

    fn job() -> ClaimJob<'static> {
        ClaimJob {
            namespace: "dash",
            name: "lifeboat-backup-app-001-files".into(),
            claim: "app-001-files",
            mount: "/data/files/apps/app-001",
            workdir: "/data",
            image: "lifeboat:0.1.0",
        }
    }

    #[test]
    fn secrets_go_in_the_secret_never_in_the_job() {
        let mut cmd = ToolCommand::new(Tool::Restic, ["backup", "files/apps/app-001"]);
        cmd.env
            .push(("RESTIC_REPOSITORY".into(), "s3:http://x/b".into()));
        cmd.secret_env
            .push(("RESTIC_PASSWORD".into(), Value::new("hunter2")));
        cmd.secret_file_env.push((
            "GOOGLE_APPLICATION_CREDENTIALS".into(),
            SecretFile {
                content: Value::new("{\"private_key\": \"k\"}"),
            },
        ));
        let (job, secret) = job()
            .build(&cmd, None, &(MOVES, "app-001-files".into()))
            .unwrap();
        let text = serde_json::to_string(&job).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("private_key"),
            "{text}"
        );
        let data = secret.data.unwrap();
        assert_eq!(data["RESTIC_PASSWORD"].0, b"hunter2");
        assert!(data.contains_key("file-GOOGLE_APPLICATION_CREDENTIALS"));
        let pod = job.spec.unwrap().template.spec.unwrap();
        let c = &pod.containers[0];
        assert_eq!(c.command.as_deref().unwrap(), ["restic"]);
        assert_eq!(c.working_dir.as_deref(), Some("/data"));
        let env = c.env.as_ref().unwrap();
        let gac = env
            .iter()
            .find(|e| e.name == "GOOGLE_APPLICATION_CREDENTIALS")
            .unwrap();
        assert_eq!(
            gac.value.as_deref(),
            Some("/var/run/lifeboat-job/file-GOOGLE_APPLICATION_CREDENTIALS")
        );
        assert_eq!(pod.automount_service_account_token, Some(false));
        let claim = pod.volumes.as_ref().unwrap()[0]
            .persistent_volume_claim
            .as_ref()
            .unwrap();
        assert_eq!(claim.claim_name, "app-001-files");
    }

    #[test]
    fn a_script_wraps_the_tool() {
        let cmd = ToolCommand::new(Tool::Restic, ["restore", "abc"]);
        let (job, _) = job()
            .build(&cmd, Some("exec \"$@\""), &(MOVES, "c".into()))
            .unwrap();
        let c = &job.spec.unwrap().template.spec.unwrap().containers[0];
        assert_eq!(
            c.command.as_deref().unwrap(),
            ["sh", "-c", "exec \"$@\"", "sh", "restic"]
        );
        assert_eq!(c.args.as_deref().unwrap(), ["restore", "abc"]);
    }

    #[test]
    fn job_names_are_labels() {
        assert_eq!(
            job_name("backup", "app/app-001/files"),
            "lifeboat-backup-app-001-files"
        );
        let long = job_name("restore", &format!("workspace/{}/files", "w".repeat(80)));
        assert!(long.len() <= 63, "{long}");
        assert_ne!(
            long,
            job_name("restore", &format!("workspace/{}x/files", "w".repeat(80)))
        );
    }
}
