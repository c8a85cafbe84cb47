//! A real Kubernetes control plane on this machine, as controller-runtime's envtest starts
//! one, but with the controllers running too: etcd, kube-apiserver (secure port on
//! 127.0.0.1, a throwaway CA, service-account signing keys, `Node,RBAC` authorization, an
//! audit log of every request), kube-controller-manager, kube-scheduler, and
//! `lifeboat-node`, the one stand-in (the kubelet and container runtime: pods' containers
//! run as local processes, see `cluster/node/`).
//!
//! The binaries are built from pinned upstream sources by `scripts/install.sh cluster`
//! into `~/.cache/lifeboat/k8s-<version>/bin` (or `$LIFEBOAT_K8S_BIN`). Every start and wait
//! is bounded; dropping the [`Cluster`] kills every process it started, by PID, node first
//! (its containers die with it), even when a test fails. Nothing listens on a Service
//! cluster IP and nothing here connects to one: pods get loopback addresses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::servers::free_port;

/// The Kubernetes release the control plane is built from.
pub const K8S_VERSION: &str = "v1.36.3";

/// The cluster's nodes (each a `lifeboat-node` stand-in): pods spread over both, and a
/// claim's volume stays on the node of the first pod that used it.
pub const NODES: [&str; 2] = ["lifeboat-node", "lifeboat-node-2"];

/// Apps in its App Manager database.
pub const SEED_APPS: u32 = 12;

/// Where the control plane's binaries are.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LIFEBOAT_K8S_BIN") {
        return PathBuf::from(dir);
    }
    // scripts/install.sh builds them into $LIFEBOAT_CACHE (default ~/.cache/lifeboat).
    let cache = std::env::var_os("LIFEBOAT_CACHE").map_or_else(
        || {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
            home.join(".cache/lifeboat")
        },
        PathBuf::from,
    );
    cache.join(format!("k8s-{K8S_VERSION}")).join("bin")
}

/// A running control plane and node. Dropping it stops everything.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    procs: Vec<(&'static str, Child)>,
    /// The admin's kubeconfig (a client certificate in `system:masters`).
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    /// The API server's audit log (JSON lines).
    pub audit_log: PathBuf,
    /// The prefix of the pods' loopback IPs (`127.0.<n>.`).
    pub pod_ip_prefix: String,
    /// Held while the cluster runs: the lock on its pod network (see `claim_pod_network`).
    _pod_network: std::fs::File,
}

/// Claims a pod network (`127.0.<n>.`, n in 100..=199) that no other cluster on this machine
/// holds. Each is a locked file for as long as its cluster runs (the lock goes with the
/// process, however it ends), so control planes started side by side (the test tiers run
/// several test binaries at once) never give two pods the same address and port.
fn claim_pod_network() -> anyhow::Result<(u32, std::fs::File)> {
    let dir = std::env::temp_dir().join("lifeboat-pod-networks");
    std::fs::create_dir_all(&dir)?;
    let first = std::process::id() % 100;
    for i in 0..100 {
        let n = 100 + (first + i) % 100;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(n.to_string()))?;
        match file.try_lock() {
            Ok(()) => return Ok((n, file)),
            Err(std::fs::TryLockError::WouldBlock) => continue,
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
    bail!("every pod network (127.0.100.x to 127.0.199.x) is held by another running cluster")
}

/// How long each component may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(90);

impl Cluster {
    /// Starts etcd, the API server, the controllers, the scheduler and the node; returns
    /// once the node is Ready and the default storage class exists.
    pub fn start() -> anyhow::Result<Self> {
        let bin = bin_dir();
        for b in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kubectl",
            "lifeboat-node",
        ] {
            if !bin.join(b).is_file() {
                bail!(
                    "{} is missing: run `scripts/install.sh cluster` (it builds the pinned control plane)",
                    bin.join(b).display()
                );
            }
        }
        let dir = tempfile::Builder::new().prefix("lbk8s-").tempdir()?;
        let (network, pod_network) = claim_pod_network()?;
        let mut cluster = Self {
            kubeconfig: dir.path().join("admin.kubeconfig"),
            audit_log: dir.path().join("audit.log"),
            server: String::new(),
            pod_ip_prefix: format!("127.0.{network}."),
            _pod_network: pod_network,
            procs: Vec::new(),
            dir,
        };
        cluster.boot(&bin)?;
        Ok(cluster)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The cluster's own folder (its certificates, kubeconfigs, and the node's pods).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn boot(&mut self, bin: &Path) -> anyhow::Result<()> {
        let pki = self.path("pki");
        std::fs::create_dir_all(&pki)?;
        certificates(&pki)?;
        let etcd_port = free_port()?;
        let peer_port = free_port()?;
        let api_port = free_port()?;
        self.server = format!("https://127.0.0.1:{api_port}");
        std::fs::write(self.path("audit-policy.yaml"), AUDIT_POLICY)?;
        for (user, name) in [
            ("admin", "admin"),
            ("controller-manager", "controller-manager"),
            ("scheduler", "scheduler"),
            ("node", "node"),
            ("node-2", "node-2"),
        ] {
            std::fs::write(
                self.path(&format!("{name}.kubeconfig")),
                kubeconfig(&self.server, &pki, user),
            )?;
        }
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        self.spawn(
            "etcd",
            Command::new(bin.join("etcd"))
                .arg(format!("--data-dir={}", self.path("etcd").display()))
                .arg(format!("--listen-client-urls={etcd_url}"))
                .arg(format!("--advertise-client-urls={etcd_url}"))
                .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"))
                .arg(format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"
                ))
                .arg(format!(
                    "--initial-cluster=default=http://127.0.0.1:{peer_port}"
                ))
                .arg("--listen-metrics-urls=")
                .arg("--unsafe-no-fsync")
                .arg("--log-level=warn"),
        )?;
        let p = |f: &str| pki.join(f).display().to_string();
        self.spawn(
            "kube-apiserver",
            Command::new(bin.join("kube-apiserver"))
                .arg(format!("--etcd-servers={etcd_url}"))
                .arg("--bind-address=127.0.0.1")
                .arg("--advertise-address=127.0.0.1")
                .arg(format!("--secure-port={api_port}"))
                .arg(format!("--cert-dir={}", self.path("apiserver").display()))
                .arg(format!("--tls-cert-file={}", p("apiserver.crt")))
                .arg(format!("--tls-private-key-file={}", p("apiserver.key")))
                .arg(format!("--client-ca-file={}", p("ca.crt")))
                .arg("--service-cluster-ip-range=10.0.0.0/24")
                .arg(format!("--service-account-issuer={}", self.server))
                .arg(format!("--service-account-key-file={}", p("sa.pub")))
                .arg(format!(
                    "--service-account-signing-key-file={}",
                    p("sa.key")
                ))
                .arg("--authorization-mode=Node,RBAC")
                .arg("--enable-admission-plugins=NodeRestriction")
                .arg(format!("--audit-log-path={}", self.audit_log.display()))
                .arg(format!(
                    "--audit-policy-file={}",
                    self.path("audit-policy.yaml").display()
                ))
                .arg("--audit-log-format=json")
                .arg(format!(
                    "--kubelet-client-certificate={}",
                    p("apiserver-kubelet.crt")
                ))
                .arg(format!(
                    "--kubelet-client-key={}",
                    p("apiserver-kubelet.key")
                ))
                .arg("--kubelet-preferred-address-types=InternalIP")
                .arg("--allow-privileged=true")
                .arg("--endpoint-reconciler-type=none")
                .arg("--v=0"),
        )?;
        self.wait("the API server to answer /readyz", || {
            self.kubectl(&["get", "--raw", "/readyz"])
                .is_ok_and(|o| o.status.success())
        })?;
        self.spawn(
            "kube-controller-manager",
            Command::new(bin.join("kube-controller-manager"))
                .arg(format!(
                    "--kubeconfig={}",
                    self.path("controller-manager.kubeconfig").display()
                ))
                .arg(format!(
                    "--authentication-kubeconfig={}",
                    self.path("controller-manager.kubeconfig").display()
                ))
                .arg(format!(
                    "--authorization-kubeconfig={}",
                    self.path("controller-manager.kubeconfig").display()
                ))
                .arg("--bind-address=127.0.0.1")
                .arg("--secure-port=0")
                .arg(format!(
                    "--service-account-private-key-file={}",
                    p("sa.key")
                ))
                .arg(format!("--root-ca-file={}", p("ca.crt")))
                .arg(format!("--cluster-signing-cert-file={}", p("ca.crt")))
                .arg(format!("--cluster-signing-key-file={}", p("ca.key")))
                .arg("--use-service-account-credentials=true")
                .arg(
                    "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
                )
                .arg("--leader-elect=false"),
        )?;
        self.spawn(
            "kube-scheduler",
            Command::new(bin.join("kube-scheduler"))
                .arg(format!(
                    "--kubeconfig={}",
                    self.path("scheduler.kubeconfig").display()
                ))
                .arg(format!(
                    "--authentication-kubeconfig={}",
                    self.path("scheduler.kubeconfig").display()
                ))
                .arg(format!(
                    "--authorization-kubeconfig={}",
                    self.path("scheduler.kubeconfig").display()
                ))
                .arg("--bind-address=127.0.0.1")
                .arg("--secure-port=0")
                .arg("--leader-elect=false"),
        )?;
        self.apply_str(NODE_RBAC)?;
        std::fs::write(self.path("images.json"), images_map()?)?;
        // Two nodes on one pod network, each with its own addresses, folders and volumes.
        for (i, (node, range)) in NODES.into_iter().zip(["10-129", "130-250"]).enumerate() {
            let creds = if i == 0 {
                "node".to_owned()
            } else {
                format!("node-{}", i + 1)
            };
            let node_port = free_port()?;
            self.spawn(
                node,
                Command::new(bin.join("lifeboat-node"))
                    .arg(format!(
                        "--kubeconfig={}",
                        self.path(&format!("{creds}.kubeconfig")).display()
                    ))
                    .arg(format!("--node-name={node}"))
                    .arg(format!("--listen=127.0.0.1:{node_port}"))
                    .arg(format!("--tls-cert={}", p("node-serving.crt")))
                    .arg(format!("--tls-key={}", p("node-serving.key")))
                    .arg(format!("--client-ca={}", p("ca.crt")))
                    .arg(format!("--state-dir={}", self.path(&creds).display()))
                    .arg(format!("--images={}", self.path("images.json").display()))
                    .arg(format!("--pod-ip-prefix={}", self.pod_ip_prefix))
                    .arg(format!("--pod-ip-range={range}")),
            )?;
        }
        for node in NODES {
            self.wait(&format!("node {node} to be Ready"), || {
                self.kubectl(&[
                    "get",
                    "node",
                    node,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                ])
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout) == "True")
            })?;
        }
        self.apply_str(STORAGE_CLASS)?;
        self.wait("the default service account of namespace default", || {
            self.kubectl(&["get", "serviceaccount", "default"])
                .is_ok_and(|o| o.status.success())
        })?;
        Ok(())
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> anyhow::Result<()> {
        let log = std::fs::File::create(self.path(&format!("{name}.log")))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        self.procs.push((name, child));
        Ok(())
    }

    /// Polls `ready` every 200 ms for at most [`START_TIMEOUT`]; the error names what it
    /// waited for and ends with the logs of the processes that exited.
    pub fn wait(&self, what: &str, mut ready: impl FnMut() -> bool) -> anyhow::Result<()> {
        self.wait_for(what, START_TIMEOUT, &mut ready)
    }

    /// [`Cluster::wait`] with its own limit.
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        ready: &mut dyn FnMut() -> bool,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "gave up after {} s waiting for {what}\n{}",
            limit.as_secs(),
            self.logs_tail()
        )
    }

    /// The last lines of every component's log.
    pub fn logs_tail(&self) -> String {
        let mut out = String::new();
        for (name, _) in &self.procs {
            let text =
                std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {name}.log (last 15 lines)\n"));
            for l in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Runs kubectl (built from the same release) as the admin.
    pub fn kubectl(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.kubectl_as(&self.kubeconfig, args)
    }

    /// Runs kubectl with another kubeconfig.
    pub fn kubectl_as(&self, kubeconfig: &Path, args: &[&str]) -> anyhow::Result<Output> {
        Ok(Command::new(bin_dir().join("kubectl"))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg("--request-timeout=20s")
            .args(args)
            .stdin(Stdio::null())
            .output()?)
    }

    /// Runs kubectl as the admin; it must succeed. Returns its standard output.
    pub fn kubectl_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.kubectl(args)?;
        if !out.status.success() {
            bail!(
                "kubectl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl apply -f -` of a manifest.
    pub fn apply_str(&self, yaml: &str) -> anyhow::Result<String> {
        let file = self.path(&format!("apply-{}.yaml", crate::servers::free_port()?));
        std::fs::write(&file, yaml)?;
        self.kubectl_ok(&["apply", "-f", &file.display().to_string()])
    }

    /// The folder of a claim's volume on the node.
    pub fn claim_dir(&self, namespace: &str, claim: &str) -> anyhow::Result<PathBuf> {
        let pv = self.kubectl_ok(&[
            "-n",
            namespace,
            "get",
            "pvc",
            claim,
            "-o",
            "jsonpath={.spec.volumeName}",
        ])?;
        let path = self.kubectl_ok(&[
            "get",
            "pv",
            pv.trim(),
            "-o",
            "jsonpath={.spec.hostPath.path}",
        ])?;
        Ok(PathBuf::from(path.trim()))
    }

    /// A kubeconfig that authenticates with `token` (e.g. a service account's).
    pub fn token_kubeconfig(&self, name: &str, token: &str) -> anyhow::Result<PathBuf> {
        let path = self.path(&format!("{name}.kubeconfig"));
        let ca = self.path("pki/ca.crt");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: {:?}, certificate-authority: {:?}}}\nusers:\n- name: u\n  user: {{token: {:?}}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n",
                self.server,
                ca.display().to_string(),
                token
            ),
        )?;
        Ok(path)
    }

    /// The audit log's entries (JSON lines).
    pub fn audit_entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// A Dash Enterprise-shaped namespace made by [`Cluster::dash_namespace`].
#[derive(Debug, Clone)]
pub struct DashNamespace {
    /// Its name.
    pub name: String,
    /// Lifeboat's admin token (from the Secret `lifeboat-admin`).
    pub lifeboat_token: String,
    /// The master realm's admin of its Keycloak (the Secret `keycloak-admin`): name and
    /// password.
    pub keycloak_admin: (String, String),
    /// Realm `dash` and its users, as the harness laid them out (`keycloak_url` is the
    /// in-cluster `http://keycloak.<namespace>.svc:8080/auth`).
    pub realm: lifeboat::keycloak::realm::DemoUsers,
}

/// The master realm's admin the harness gives each namespace's Keycloak.
pub const KEYCLOAK_ADMIN: &str = "platform-admin";

/// The in-cluster URL of the Keycloak of `namespace` (its `--hostname`).
pub fn keycloak_service_url(namespace: &str) -> String {
    format!("http://keycloak.{namespace}.svc:8080/auth")
}

/// The manifests of the Dash Enterprise-shaped namespace, in the order they apply.
pub fn namespace_manifests() -> anyhow::Result<Vec<(String, String)>> {
    let dir = crate::workspace_root().join("cluster/namespace");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok((name, std::fs::read_to_string(&p)?))
        })
        .collect()
}

impl Cluster {
    /// Lays out a namespace shaped like Dash Enterprise's (`cluster/namespace/*.yaml`): the
    /// platform's configuration objects and custom resources, the system Postgres with its
    /// `pgbackrest server` sidecar (TLS certificates made here), and Lifeboat, installed
    /// with `deploy/install.sh` as a user would; returns once the Postgres pod and Lifeboat
    /// are ready.
    pub fn dash_namespace(&self, name: &str) -> anyhow::Result<DashNamespace> {
        self.kubectl_ok(&["create", "namespace", name])?;
        let tls = self.path(&format!("tls-{name}"));
        std::fs::create_dir_all(&tls)?;
        let sans = |service: &str| -> String {
            (10..=250)
                .map(|i| format!("IP:{}{i}", self.pod_ip_prefix))
                .chain([
                    format!("DNS:{service}.{name}.svc"),
                    format!("DNS:{service}"),
                ])
                .collect::<Vec<_>>()
                .join(",")
        };
        let ca = self.path("pki");
        pgbackrest_certs(&tls, &ca, &sans("system-postgres"), &sans("lifeboat"))?;
        let f = |n: &str| tls.join(n).display().to_string();
        let ca_crt = ca.join("ca.crt").display().to_string();
        let file = |key: &str, path: String| format!("--from-file={key}={path}");
        self.create_secret(
            name,
            "system-pgbackrest-tls",
            &[
                file("ca.crt", ca_crt.clone()),
                file("tls.crt", f("server.crt")),
                file("tls.key", f("server.key")),
            ],
        )?;
        self.create_secret(
            name,
            "lifeboat-pgbackrest-client",
            &[
                file("ca.crt", ca_crt),
                file("tls.crt", f("client.crt")),
                file("tls.key", f("client.key")),
            ],
        )?;
        let keycloak_db = format!("{:016x}{:016x}", rand_u64(), rand_u64());
        let keycloak_admin = format!("{:016x}{:016x}", rand_u64(), rand_u64());
        let literal = |key: &str, value: &str| format!("--from-literal={key}={value}");
        self.create_secret(name, "keycloak-db", &[literal("password", &keycloak_db)])?;
        self.create_secret(
            name,
            "keycloak-admin",
            &[
                literal("username", KEYCLOAK_ADMIN),
                literal("password", &keycloak_admin),
            ],
        )?;
        let token = format!("lb-{:016x}{:08x}", rand_u64(), std::process::id());
        self.create_secret(name, "lifeboat-admin", &[literal("token", &token)])?;
        self.wait(&format!("the default service account of {name}"), || {
            self.kubectl(&["-n", name, "get", "serviceaccount", "default"])
                .is_ok_and(|o| o.status.success())
        })?;
        for (file, yaml) in namespace_manifests()? {
            // Custom objects apply only once their CRD (in the same file) is established.
            let yaml = yaml.replace("NAMESPACE", name);
            let mut tries = 0;
            loop {
                match self.apply_str(&yaml) {
                    Ok(_) => break,
                    Err(e)
                        if tries < 20
                            && e.to_string().contains("ensure CRDs are installed first") =>
                    {
                        tries += 1;
                        std::thread::sleep(Duration::from_millis(500));
                    }
                    Err(e) => return Err(e.context(format!("applying cluster/namespace/{file}"))),
                }
            }
        }
        let ready = |pod_args: &[&str]| {
            self.kubectl(pod_args).is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .all(|s| s == "true")
                    && !o.stdout.is_empty()
            })
        };
        self.wait_for(
            "system-postgres-0 (postgres and its pgbackrest sidecar) to be ready",
            Duration::from_secs(180),
            &mut || {
                ready(&[
                    "-n",
                    name,
                    "get",
                    "pod",
                    "system-postgres-0",
                    "-o",
                    "jsonpath={.status.containerStatuses[*].ready}",
                ])
            },
        )
        .map_err(|e| e.context(self.diagnose(name)))?;
        self.seed_postgres(name, &keycloak_db)?;
        let issuer = format!("{}/realms/dash", keycloak_service_url(name));
        self.install_lifeboat(name, &["--oidc-issuer", &issuer])?;
        self.wait_for(
            "Lifeboat to be ready",
            Duration::from_secs(180),
            &mut || {
                ready(&[
                    "-n",
                    name,
                    "get",
                    "pods",
                    "-l",
                    "app=lifeboat",
                    "-o",
                    "jsonpath={.items[*].status.containerStatuses[*].ready}",
                ])
            },
        )
        .map_err(|e| e.context(self.diagnose(name)))?;
        let keycloak_admin = (KEYCLOAK_ADMIN.to_owned(), keycloak_admin);
        let origin = format!("http://{}:8080", self.pod_ip(name, "app=lifeboat")?);
        let realm = self.lay_out_realms(name, &keycloak_admin, &origin)?;
        Ok(DashNamespace {
            name: name.to_owned(),
            lifeboat_token: token,
            keycloak_admin,
            realm,
        })
    }

    /// Waits until the Keycloak of `namespace` is ready (its first start creates the
    /// schema) and returns where the harness reaches it: `http://<pod IP>:8080/auth`.
    pub fn keycloak_url(&self, namespace: &str) -> anyhow::Result<String> {
        self.wait_for(
            &format!("the Keycloak of {namespace} to be ready"),
            Duration::from_secs(300),
            &mut || {
                self.kubectl(&[
                    "-n",
                    namespace,
                    "get",
                    "pods",
                    "-l",
                    "app=keycloak",
                    "-o",
                    "jsonpath={.items[*].status.containerStatuses[*].ready}",
                ])
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
            },
        )
        .map_err(|e| e.context(self.diagnose(namespace)))?;
        Ok(format!(
            "http://{}:8080{}",
            self.pod_ip(namespace, "app=keycloak")?,
            lifeboat::keycloak::RELATIVE_PATH
        ))
    }

    /// Lays out realms `corporate` and `dash` on the Keycloak of `namespace` as the demo's
    /// are (`lifeboat::keycloak::realm::demo`), for a Lifeboat page served at `origin`,
    /// through the admin API as `admin`.
    fn lay_out_realms(
        &self,
        namespace: &str,
        admin: &(String, String),
        origin: &str,
    ) -> anyhow::Result<lifeboat::keycloak::realm::DemoUsers> {
        use lifeboat::keycloak::{admin::Admin, realm};
        use lifeboat::secret::Secret;
        let url = self.keycloak_url(namespace)?;
        let realms = realm::demo(&keycloak_service_url(namespace), origin, &mut || {
            Secret::new(format!("{:016x}", rand_u64()))
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let admin = Admin::login(&url, &admin.0, &Secret::new(admin.1.clone())).await?;
            admin.create_realm(&realms.corporate).await?;
            admin.create_realm(&realms.dash).await?;
            anyhow::Ok(())
        })?;
        Ok(realms.users)
    }

    /// `psql -At` as `postgres` in the system Postgres' pod of `namespace`, on database
    /// `db`, stopping at the first error; returns its output.
    pub fn psql(&self, namespace: &str, db: &str, sql: &str) -> anyhow::Result<String> {
        self.psql_in_pod(namespace, "system-postgres-0", db, sql)
    }

    /// `psql` as `postgres` on the socket of the Postgres in `pod` (its `postgres`
    /// container) of `namespace`; it must succeed. Returns what it printed.
    pub fn psql_in_pod(
        &self,
        namespace: &str,
        pod: &str,
        db: &str,
        sql: &str,
    ) -> anyhow::Result<String> {
        let out = self.postgres_client_in(
            namespace,
            pod,
            "psql",
            &["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
        )?;
        if !out.status.success() {
            bail!(
                "psql -d {db} in {namespace}/{pod}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a PostgreSQL client tool (`psql`, `pg_dump`, `pgbench`…) as `postgres` on the
    /// socket of the system Postgres of `namespace`, in its pod's `postgres` container.
    pub fn postgres_client(
        &self,
        namespace: &str,
        program: &str,
        args: &[&str],
    ) -> anyhow::Result<Output> {
        self.postgres_client_in(namespace, "system-postgres-0", program, args)
    }

    /// [`Cluster::postgres_client`] in the Postgres pod `pod`.
    pub fn postgres_client_in(
        &self,
        namespace: &str,
        pod: &str,
        program: &str,
        args: &[&str],
    ) -> anyhow::Result<Output> {
        let mut argv = vec![
            "-n",
            namespace,
            "exec",
            pod,
            "-c",
            "postgres",
            "--",
            program,
            "-h",
            "/var/run/postgresql",
            "-U",
            "postgres",
        ];
        argv.extend_from_slice(args);
        self.kubectl(&argv)
    }

    /// Runs `deploy/install.sh <namespace> <args>` as an admin would (what it prints is
    /// returned; a failure carries it).
    pub fn install_lifeboat(&self, namespace: &str, args: &[&str]) -> anyhow::Result<String> {
        self.install_lifeboat_with(namespace, args, &[])
    }

    /// [`Cluster::install_lifeboat`] with more environment (`LIFEBOAT_URL`, …).
    pub fn install_lifeboat_with(
        &self,
        namespace: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<String> {
        let out = Command::new(crate::workspace_root().join("deploy/install.sh"))
            .arg(namespace)
            .args(args)
            .env("KUBECTL", bin_dir().join("kubectl"))
            .env("KUBECONFIG", &self.kubeconfig)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .context("running deploy/install.sh")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            bail!(
                "deploy/install.sh {namespace} {}: {}\n{text}",
                args.join(" "),
                out.status
            );
        }
        Ok(text)
    }

    /// Fills the system Postgres of `namespace` the way Dash Enterprise's is filled: an
    /// empty database for Keycloak (its role `keycloak` has the password `keycloak_db`;
    /// Keycloak creates its schema on its first start) and App Manager's (apps,
    /// workspaces), from the demo instance's seed script with fewer rows.
    fn seed_postgres(&self, namespace: &str, keycloak_db: &str) -> anyhow::Result<()> {
        use lifeboat::runtime::local::instance::seed;
        let sql = seed::with_keycloak(
            &seed::SQL_TEMPLATE
                .replace("{namespace}", namespace)
                // Workspaces belong to the realm's users (`user001` …).
                .replace("{USERS}", &lifeboat::keycloak::realm::USERS.to_string())
                .replace("{APPS}", &SEED_APPS.to_string()),
            &format!(
                "CREATE ROLE keycloak LOGIN PASSWORD '{keycloak_db}';\n\
                 CREATE DATABASE keycloak OWNER keycloak;\n"
            ),
        );
        let file = self.path(&format!("seed-{namespace}.sql"));
        std::fs::write(&file, sql)?;
        let out = Command::new(bin_dir().join("kubectl"))
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args([
                "-n",
                namespace,
                "exec",
                "-i",
                "system-postgres-0",
                "-c",
                "postgres",
                "--",
                "psql",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "/var/run/postgresql",
                "-U",
                "postgres",
            ])
            .stdin(std::fs::File::open(&file)?)
            .output()?;
        if !out.status.success() {
            bail!(
                "seeding the system Postgres of {namespace}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// What the pods of `namespace` are doing, and their containers' last log lines.
    pub fn diagnose(&self, namespace: &str) -> String {
        let mut out = String::new();
        let text = |args: &[&str]| {
            self.kubectl(args).map_or_else(
                |e| e.to_string(),
                |o| {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                },
            )
        };
        out.push_str(&text(&["-n", namespace, "get", "pods,pvc", "-o", "wide"]));
        out.push_str(&text(&[
            "-n",
            namespace,
            "get",
            "pods",
            "-o",
            "custom-columns=POD:.metadata.name,PHASE:.status.phase,DELETING:.metadata.deletionTimestamp,REASON:.status.reason,MESSAGE:.status.message",
        ]));
        let pods = text(&[
            "-n",
            namespace,
            "get",
            "pods",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}{\" \"}{range .spec.containers[*]}{.name}{\" \"}{end}{\"\\n\"}{end}",
        ]);
        for line in pods.lines() {
            let mut words = line.split_whitespace();
            let Some(pod) = words.next() else { continue };
            for c in words {
                out.push_str(&format!("--- {pod}/{c}\n"));
                out.push_str(&text(&["-n", namespace, "logs", pod, "-c", c, "--tail=15"]));
                out.push_str(&text(&[
                    "-n",
                    namespace,
                    "get",
                    "pod",
                    pod,
                    "-o",
                    &format!("jsonpath={{.status.containerStatuses[?(@.name==\"{c}\")].state}}"),
                ]));
                out.push('\n');
            }
        }
        out
    }

    /// `kubectl -n <namespace> create secret generic <name> <sources…>` (each source a
    /// `--from-literal=…` or `--from-file=…`).
    pub fn create_secret(
        &self,
        namespace: &str,
        name: &str,
        sources: &[String],
    ) -> anyhow::Result<()> {
        let mut args = vec!["-n", namespace, "create", "secret", "generic", name];
        args.extend(sources.iter().map(String::as_str));
        self.kubectl_ok(&args).map(|_| ())
    }

    /// The Secret `lifeboat-storage` the README has an admin create for a bucket on moto:
    /// its key, and the passphrase when there is one.
    pub fn storage_secret(
        &self,
        namespace: &str,
        moto: &crate::servers::Moto,
        passphrase: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut sources = vec![
            format!("--from-literal=AWS_ACCESS_KEY_ID={}", moto.access_key_id),
            format!(
                "--from-literal=AWS_SECRET_ACCESS_KEY={}",
                moto.secret_access_key
            ),
        ];
        sources.extend(passphrase.map(|p| format!("--from-literal=RESTIC_PASSPHRASE={p}")));
        self.create_secret(namespace, "lifeboat-storage", &sources)
    }

    /// The names of the pods matching `selector` in `namespace` (`pod/<name>` trimmed).
    pub fn pod_names(&self, namespace: &str, selector: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .kubectl_ok(&["-n", namespace, "get", "pods", "-l", selector, "-o", "name"])?
            .lines()
            .map(|l| l.trim().trim_start_matches("pod/").to_owned())
            .filter(|l| !l.is_empty())
            .collect())
    }

    /// The IP of the first pod matching `selector` in `namespace` that is not being deleted.
    pub fn pod_ip(&self, namespace: &str, selector: &str) -> anyhow::Result<String> {
        let pods: serde_json::Value = serde_json::from_str(
            &self.kubectl_ok(&["-n", namespace, "get", "pods", "-l", selector, "-o", "json"])?,
        )?;
        // A pod being deleted may still answer (it shuts down gracefully) while its
        // replacement starts: only a pod that is not going counts.
        pods["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .find_map(|p| p["status"]["podIP"].as_str().filter(|ip| !ip.is_empty()))
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no running pod matches {selector} in {namespace}"))
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The pgBackRest certificates, each for every pod IP and its Service's names, each a server
/// and a client one: the system Postgres' (CN `system-postgres`: its sidecar serves
/// Lifeboat, its archiver pushes WAL to Lifeboat's server) and Lifeboat's (CN `lifeboat`, the
/// name the sidecar's `tls-server-auth` allows; its server receives the WAL).
fn pgbackrest_certs(
    dir: &Path,
    ca_dir: &Path,
    pg_sans: &str,
    lifeboat_sans: &str,
) -> anyhow::Result<()> {
    let ca_crt = ca_dir.join("ca.crt").display().to_string();
    let ca_key = ca_dir.join("ca.key").display().to_string();
    for (name, subject, ext) in [
        (
            "server",
            "/CN=system-postgres",
            format!("subjectAltName={pg_sans}\nextendedKeyUsage=serverAuth,clientAuth"),
        ),
        (
            "client",
            "/CN=lifeboat",
            format!("subjectAltName={lifeboat_sans}\nextendedKeyUsage=serverAuth,clientAuth"),
        ),
    ] {
        let (key, csr, crt, extf) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        openssl(
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
                subject,
            ],
            dir,
        )?;
        std::fs::write(dir.join(&extf), format!("{ext}\n"))?;
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_crt,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &extf,
            ],
            dir,
        )?;
    }
    Ok(())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The node first: its containers die with it (parent-death signal).
        for (_, child) in self.procs.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n";

/// What the node stand-ins may do beyond what the Node authorizer grants a kubelet:
/// virtual-kubelet watches Secrets, ConfigMaps and Services cluster-wide (a real kubelet
/// reads only those of its pods), each node watches every pod (its stand-in for cluster
/// DNS names the pods of the other node too), and each provisions the claims of its
/// storage class that the scheduler placed on it.
const NODE_RBAC: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lifeboat-node}
rules:
- apiGroups: [\"\"]
  resources: [secrets, configmaps, services, persistentvolumeclaims, pods]
  verbs: [get, list, watch]
- apiGroups: [\"\"]
  resources: [persistentvolumes]
  verbs: [get, list, watch, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lifeboat-node}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lifeboat-node}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: \"system:node:lifeboat-node\"}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: \"system:node:lifeboat-node-2\"}
";

const STORAGE_CLASS: &str = "apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: lifeboat-local
  annotations:
    storageclass.kubernetes.io/is-default-class: \"true\"
provisioner: lifeboat.local/node
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
";

/// Which program each image runs on this machine.
fn images_map() -> anyhow::Result<String> {
    let pg_bin = "/usr/lib/postgresql/15/bin";
    let lifeboat = crate::server::lifeboat_bin();
    let keycloak = lifeboat::keycloak::install::KeycloakInstall::find(None)
        .context("Keycloak for the namespaces' Deployment (scripts/install.sh keycloak)")?;
    Ok(serde_json::json!({
        // The platform's Postgres image carries pgBackRest (its archiver pushes WAL with it);
        // like the official image, it stops with SIGINT (a fast shutdown), not SIGTERM.
        "postgres:15": {"path": [pg_bin, "/usr/bin"], "user": "postgres", "entrypoint": [format!("{pg_bin}/postgres")], "stopSignal": "SIGINT"},
        "debian:12": {"path": ["/usr/bin", "/bin"], "entrypoint": ["/bin/sh"]},
        // An app's managed Redis: Debian's redis-server.
        "redis:7": {"path": ["/usr/bin"], "user": "redis", "entrypoint": ["/usr/bin/redis-server"]},
        "lifeboat": {"path": ["/usr/bin", "/bin", pg_bin], "user": "postgres", "entrypoint": [lifeboat.display().to_string()],
                     "env": {"LIFEBOAT_STATIC_DIR": crate::server::static_dir().display().to_string()}},
        "pgbackrest": {"path": ["/usr/bin", pg_bin], "user": "postgres", "entrypoint": ["/usr/bin/pgbackrest"]},
        // Keycloak's image runs `kc.sh`, which starts this; its data folder is the pod's
        // own volume (not under /tmp: the node's folders, volumes' sources, are there).
        "quay.io/keycloak/keycloak": {"entrypoint": lifeboat::keycloak::server::entrypoint(&keycloak, "/var/tmp/keycloak/transaction-logs", "/var/tmp/keycloak")},
    })
    .to_string())
}

fn openssl(args: &[&str], dir: &Path) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("running openssl")?;
    if !out.status.success() {
        bail!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A throwaway CA and every certificate the components need, plus the service-account
/// signing key pair.
fn certificates(pki: &Path) -> anyhow::Result<()> {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=lifeboat-test-ca",
        ],
        pki,
    )?;
    let certs: [(&str, &str, &str); 8] = [
        (
            "apiserver",
            "/CN=kube-apiserver",
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1",
        ),
        ("admin", "/O=system:masters/CN=admin", ""),
        (
            "controller-manager",
            "/CN=system:kube-controller-manager",
            "",
        ),
        ("scheduler", "/CN=system:kube-scheduler", ""),
        ("node", "/O=system:nodes/CN=system:node:lifeboat-node", ""),
        (
            "node-2",
            "/O=system:nodes/CN=system:node:lifeboat-node-2",
            "",
        ),
        (
            "node-serving",
            "/CN=lifeboat-node",
            "subjectAltName=IP:127.0.0.1",
        ),
        (
            "apiserver-kubelet",
            "/O=system:masters/CN=kube-apiserver-kubelet-client",
            "",
        ),
    ];
    for (name, subject, ext) in certs {
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        openssl(
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
                subject,
            ],
            pki,
        )?;
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
        ];
        let ext_file = format!("{name}.ext");
        if !ext.is_empty() {
            std::fs::write(pki.join(&ext_file), format!("{ext}\n"))?;
            args.extend(["-extfile", &ext_file]);
        }
        openssl(&args, pki)?;
    }
    openssl(&["genrsa", "-out", "sa.key", "2048"], pki)?;
    openssl(&["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], pki)?;
    Ok(())
}

fn kubeconfig(server: &str, pki: &Path, user: &str) -> String {
    let f = |n: &str| pki.join(n).display().to_string();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: lifeboat-test\n  cluster: {{server: {server:?}, certificate-authority: {:?}}}\nusers:\n- name: {user}\n  user: {{client-certificate: {:?}, client-key: {:?}}}\ncontexts:\n- name: {user}\n  context: {{cluster: lifeboat-test, user: {user}}}\ncurrent-context: {user}\n",
        f("ca.crt"),
        f(&format!("{user}.crt")),
        f(&format!("{user}.key")),
    )
}
