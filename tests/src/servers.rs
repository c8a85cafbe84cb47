//! Object-storage test servers on 127.0.0.1: moto (S3) and Azurite (Azure Blob), started as
//! child processes and killed when dropped.
//!
//! Azurite must listen on port 10000 (restic 0.14 finds the emulator only there), so every
//! [`Azurite`] holds an exclusive file lock for its lifetime: tests that use it run one at a
//! time, across test binaries too.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::workspace_root;

/// Azurite's well-known account (any client treats it as "the emulator").
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The port Azurite's blob service must use.
pub const AZURITE_PORT: u16 = 10000;

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn tool(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(default))
}

/// Waits until something accepts TCP connections on `port`.
async fn wait_for_port(port: u16, child: &mut Child, name: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{name} exited before it listened: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{name} did not listen on 127.0.0.1:{port} within 30 s")
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A moto S3 server on a free loopback port, with authentication on: only the key it
/// created (`access_key_id`/`secret_access_key`) is accepted, so a wrong key is refused as
/// on AWS.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// e.g. `http://127.0.0.1:41234`.
    pub endpoint: String,
    /// An IAM user's key that may do anything.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
}

fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find('<')? + start;
    Some(xml[start..end].to_owned())
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p <free port>` (`$MOTO_SERVER`, else
    /// `.tools/venv/bin/moto_server`), creates `buckets` and an IAM user with a key, and
    /// turns authentication on (moto's `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub async fn start(buckets: &[&str]) -> anyhow::Result<Self> {
        let bin = tool("MOTO_SERVER", ".tools/venv/bin/moto_server");
        if !bin.is_file() {
            bail!("{} is missing: run scripts/install.sh", bin.display());
        }
        let port = free_port()?;
        // Requests before authentication starts: one per bucket, then three IAM calls.
        let no_auth = buckets.len() + 3;
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", no_auth.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let waited = wait_for_port(port, &mut child, "moto").await;
        let mut moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key_id: String::new(),
            secret_access_key: String::new(),
        };
        waited?;
        let client = reqwest::Client::new();
        for b in buckets {
            let resp = client.put(format!("{}/{b}", moto.endpoint)).send().await?;
            if !resp.status().is_success() {
                bail!("creating bucket {b} on moto: {}", resp.status());
            }
        }
        // moto routes by the service named in the Authorization header; it is not checked
        // while the no-auth count lasts.
        let iam = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x";
        let call = |form: Vec<(&'static str, String)>| {
            let client = client.clone();
            let url = moto.endpoint.clone();
            async move {
                let resp = client
                    .post(url)
                    .header("Authorization", iam)
                    .form(&form)
                    .send()
                    .await?;
                let status = resp.status();
                let text = resp.text().await?;
                if !status.is_success() {
                    bail!("moto IAM call failed: {status} {text}");
                }
                anyhow::Ok(text)
            }
        };
        let v = || ("Version", "2010-05-08".to_owned());
        let user = || ("UserName", "lifeboat".to_owned());
        call(vec![("Action", "CreateUser".into()), user(), v()]).await?;
        let key = call(vec![("Action", "CreateAccessKey".into()), user(), v()]).await?;
        moto.access_key_id = xml_field(&key, "AccessKeyId").context("no AccessKeyId")?;
        moto.secret_access_key =
            xml_field(&key, "SecretAccessKey").context("no SecretAccessKey")?;
        call(vec![
            ("Action", "PutUserPolicy".into()),
            user(),
            ("PolicyName", "all".into()),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(),
            ),
            v(),
        ])
        .await?;
        Ok(moto)
    }

    /// Every object key in `bucket` under `prefix`, straight from moto (with its key).
    pub async fn list(&self, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .objects(bucket, prefix)
            .await?
            .into_iter()
            .map(|o| o.location.to_string())
            .collect())
    }

    /// restic straight against the repository at `<bucket>/<prefix>/restic` in moto (no
    /// passphrase configured), bypassing any proxy.
    pub fn restic(&self, bucket_and_prefix: &str, args: &[&str]) -> std::process::Output {
        Command::new("restic")
            .args(args)
            .env(
                "RESTIC_REPOSITORY",
                format!("s3:{}/{bucket_and_prefix}/restic", self.endpoint),
            )
            .env("RESTIC_PASSWORD", lifeboat::restic::NO_PASSPHRASE_KEY)
            .env("AWS_ACCESS_KEY_ID", &self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_access_key)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap_or_else(|e| std::process::Output {
                status: std::os::unix::process::ExitStatusExt::from_raw(1 << 8),
                stdout: Vec::new(),
                stderr: format!("cannot run restic: {e}").into_bytes(),
            })
    }

    /// The bytes of every object in `bucket` under `prefix`.
    pub async fn bytes(&self, bucket: &str, prefix: &str) -> anyhow::Result<u64> {
        Ok(self
            .objects(bucket, prefix)
            .await?
            .iter()
            .map(|o| o.size)
            .sum())
    }

    async fn objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> anyhow::Result<Vec<object_store::ObjectMeta>> {
        use futures::TryStreamExt as _;
        use object_store::ObjectStore as _;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_region("us-east-1")
            .with_bucket_name(bucket)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .build()?;
        Ok(store
            .list(Some(&object_store::path::Path::from(prefix)))
            .try_collect()
            .await?)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// Azurite's blob service on 127.0.0.1:10000, one at a time (see the module docs).
#[derive(Debug)]
pub struct Azurite {
    child: Child,
    _dir: tempfile::TempDir,
    _lock: std::fs::File,
    /// `http://127.0.0.1:10000`.
    pub endpoint: String,
}

impl Azurite {
    /// Waits for the Azurite lock, starts `azurite-blob` (`$AZURITE_BLOB`, else
    /// `.tools/npm/node_modules/.bin/azurite-blob`) with a fresh store, and waits until it
    /// answers.
    pub async fn start() -> anyhow::Result<Self> {
        let bin = tool("AZURITE_BLOB", ".tools/npm/node_modules/.bin/azurite-blob");
        if !bin.is_file() {
            bail!("{} is missing: run scripts/install.sh", bin.display());
        }
        let lock_path = std::env::temp_dir().join("lifeboat-tests-azurite.lock");
        let lock = tokio::task::spawn_blocking(move || -> anyhow::Result<std::fs::File> {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)?;
            f.lock()?;
            Ok(f)
        })
        .await??;
        // A previous holder has exited; its Azurite must be gone before we bind the port.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", AZURITE_PORT)).is_ok() {
            if Instant::now() > deadline {
                bail!("something else listens on 127.0.0.1:{AZURITE_PORT}; stop it first");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(&bin)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &AZURITE_PORT.to_string(),
            ])
            .arg("--location")
            .arg(dir.path())
            .args([
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
                "--silent",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let waited = wait_for_port(AZURITE_PORT, &mut child, "azurite").await;
        let azurite = Self {
            child,
            _dir: dir,
            _lock: lock,
            endpoint: format!("http://127.0.0.1:{AZURITE_PORT}"),
        };
        waited?;
        Ok(azurite)
    }

    /// Creates a container. An unsigned request is refused, so `restic init` (whose Azure
    /// client creates the container) makes a throwaway repository, which is then deleted.
    pub async fn create_container(&self, container: &str) -> anyhow::Result<()> {
        let scratch = ".harness-init";
        let out = tokio::process::Command::new("restic")
            .args(["init", "-q"])
            .env("RESTIC_REPOSITORY", format!("azure:{container}:/{scratch}"))
            .env("RESTIC_PASSWORD", "harness")
            .env("AZURE_ACCOUNT_NAME", AZURITE_ACCOUNT)
            .env("AZURE_ACCOUNT_KEY", AZURITE_KEY)
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run restic")?;
        if !out.status.success() {
            bail!(
                "restic init for container {container} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        use futures::TryStreamExt as _;
        use object_store::{ObjectStore as _, ObjectStoreExt as _};
        let store = object_store::azure::MicrosoftAzureBuilder::new()
            .with_use_emulator(true)
            .with_account(AZURITE_ACCOUNT)
            .with_access_key(AZURITE_KEY)
            .with_container_name(container)
            .with_allow_http(true)
            .build()?;
        let prefix = object_store::path::Path::from(scratch);
        let objects: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
        for o in objects {
            store.delete(&o.location).await?;
        }
        Ok(())
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}
