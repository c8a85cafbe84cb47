//! Apps with data of their own in a Dash Enterprise-shaped namespace, laid out as App
//! Manager lays them out on Kubernetes:
//!
//! - an app-data Postgres (the StatefulSet `app-postgres`, apart from the system one) with
//!   a database and an owner role per app that has one;
//! - a Redis per app that has one (a Deployment `<app>-redis`, persistence on, its RDB on
//!   the claim `<app>-redis`, the Service `<app>-redis`);
//! - a claim per app with a persistent filesystem (`<app>-files`, mounted by the app's own
//!   pod) and per workspace (`<workspace>-files`: the first [`OPEN_WORKSPACES`] are open,
//!   their pods mount them; the others were never started, so their claims were never
//!   bound, as with a real WaitForFirstConsumer class);
//! - a `DashApp` per app naming its services.
//!
//! Which app has which comes from App Manager's own record (`appmanager.app_services` and
//! `workspaces` in the system Postgres, seeded as the demo's). Each part is seeded with the
//! demo's data (`app_seed`), and read back here the same way for checks.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use lifeboat::runtime::local::instance::app_seed;
use lifeboat::runtime::{AppPart, PartKind};

use crate::cluster::Cluster;

/// How many workspaces have a running pod (and so a bound claim).
pub const OPEN_WORKSPACES: usize = 2;

/// What [`Cluster::lay_out_app_data`] made.
#[derive(Debug, Clone, Default)]
pub struct LaidOut {
    /// Every app App Manager gave a service, by name.
    pub apps: Vec<LaidApp>,
    /// Every workspace: its name, its app, whether it is open (its claim bound).
    pub workspaces: Vec<(String, String, bool)>,
}

/// One app and its services.
#[derive(Debug, Clone, Default)]
pub struct LaidApp {
    /// Its name (`app-001`).
    pub name: String,
    /// A database of its own on `app-postgres`.
    pub postgres: bool,
    /// A Redis of its own.
    pub redis: bool,
    /// A persistent filesystem.
    pub files: bool,
}

impl LaidOut {
    /// The app called `name`.
    pub fn app(&self, name: &str) -> Option<&LaidApp> {
        self.apps.iter().find(|a| a.name == name)
    }

    /// The claims that hold data: apps' files, open workspaces' files.
    pub fn bound_file_claims(&self) -> Vec<String> {
        let apps = self
            .apps
            .iter()
            .filter(|a| a.files)
            .map(|a| format!("{}-files", a.name));
        let workspaces = self
            .workspaces
            .iter()
            .filter(|(_, _, open)| *open)
            .map(|(w, _, _)| format!("{w}-files"));
        apps.chain(workspaces).collect()
    }
}

impl Cluster {
    /// Lays out the apps' data services of `namespace` (see the module) from App Manager's
    /// record, waits until they run, and seeds them.
    pub fn lay_out_app_data(&self, namespace: &str) -> anyhow::Result<LaidOut> {
        let laid = self.recorded_apps(namespace)?;
        self.apply_str(&manifest(namespace, &laid))?;
        self.wait_for(
            "the apps' data services to be ready",
            Duration::from_secs(180),
            &mut || self.app_pods_ready(namespace, &laid),
        )
        .map_err(|e| e.context(self.diagnose(namespace)))?;
        for app in &laid.apps {
            if app.postgres {
                // One statement a run: a database is not created inside a transaction.
                let name = &app.name;
                self.app_psql(
                    namespace,
                    "postgres",
                    &format!("CREATE ROLE \"{name}\" LOGIN"),
                )?;
                self.app_psql(
                    namespace,
                    "postgres",
                    &format!("CREATE DATABASE \"{name}\" OWNER \"{name}\""),
                )?;
                self.app_psql(namespace, &app.name, &app_seed::orders_sql(&app.name))?;
            }
            if app.redis {
                let ip = self.pod_ip(namespace, &format!("app={}-redis", app.name))?;
                redis_pipe(&ip, &app_seed::redis_script(&app.name))?;
            }
            if app.files {
                let part = AppPart::app(&app.name, PartKind::Files);
                let dir = self.claim_dir(namespace, &format!("{}-files", app.name))?;
                app_seed::write_files(&part, &dir)?;
            }
        }
        for (w, _, open) in &laid.workspaces {
            if *open {
                let dir = self.claim_dir(namespace, &format!("{w}-files"))?;
                app_seed::write_files(&AppPart::workspace(w), &dir)?;
            }
        }
        Ok(laid)
    }

    /// App Manager's record of which app has which service, and its workspaces.
    fn recorded_apps(&self, namespace: &str) -> anyhow::Result<LaidOut> {
        let services = self.psql(
            namespace,
            "appmanager",
            "SELECT a.name, s.service FROM app_services s JOIN apps a ON a.id = s.app_id ORDER BY 1, 2",
        )?;
        let mut apps: BTreeMap<String, LaidApp> = BTreeMap::new();
        for line in services.lines() {
            let Some((name, service)) = line.split_once('|') else {
                continue;
            };
            let app = apps.entry(name.to_owned()).or_insert_with(|| LaidApp {
                name: name.to_owned(),
                ..LaidApp::default()
            });
            match service {
                "postgres" => app.postgres = true,
                "redis" => app.redis = true,
                "files" => app.files = true,
                other => bail!("App Manager records an unknown service {other:?}"),
            }
        }
        let workspaces = self
            .psql(
                namespace,
                "appmanager",
                "SELECT w.name, a.name FROM workspaces w JOIN apps a ON a.id = w.app_id ORDER BY 1",
            )?
            .lines()
            .filter_map(|l| l.split_once('|'))
            .enumerate()
            .map(|(i, (w, a))| (w.to_owned(), a.to_owned(), i < OPEN_WORKSPACES))
            .collect();
        Ok(LaidOut {
            apps: apps.into_values().collect(),
            workspaces,
        })
    }

    fn app_pods_ready(&self, namespace: &str, laid: &LaidOut) -> bool {
        let mut selectors = vec!["app=app-postgres".to_owned()];
        for a in &laid.apps {
            if a.redis {
                selectors.push(format!("app={}-redis", a.name));
            }
            if a.files {
                selectors.push(format!("app={}", a.name));
            }
        }
        for (w, _, open) in &laid.workspaces {
            if *open {
                selectors.push(format!("app={w}"));
            }
        }
        selectors.iter().all(|s| {
            self.kubectl(&[
                "-n",
                namespace,
                "get",
                "pods",
                "-l",
                s,
                "-o",
                "jsonpath={.items[*].status.containerStatuses[*].ready}",
            ])
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
        })
    }

    /// `psql` as `postgres` on the app-data Postgres of `namespace`, in its pod; returns
    /// what it printed (unaligned, tuples only).
    pub fn app_psql(&self, namespace: &str, db: &str, sql: &str) -> anyhow::Result<String> {
        self.psql_in_pod(namespace, "app-postgres-0", db, sql)
    }

    /// A checksum of `app`'s orders (every row, in order) and their count.
    pub fn app_orders(&self, namespace: &str, app: &str) -> anyhow::Result<String> {
        self.app_psql(
            namespace,
            app,
            "SELECT count(*) || ' ' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o",
        )
        .map(|s| s.trim().to_owned())
    }

    /// Every key of `app`'s Redis with its type, value and time to live (ms, -1 without).
    pub fn app_redis_keys(&self, namespace: &str, app: &str) -> anyhow::Result<RedisKeys> {
        let ip = self.pod_ip(namespace, &format!("app={app}-redis"))?;
        redis_keys(&ip, 6379)
    }

    /// Every file of the claim `claim` of `namespace`: content hash and mode.
    pub fn claim_files(&self, namespace: &str, claim: &str) -> anyhow::Result<FileTree> {
        file_tree(&self.claim_dir(namespace, claim)?)
    }
}

/// Keys of a Redis: type, value and time to live in ms (-1: none).
pub type RedisKeys = BTreeMap<String, (String, String, i64)>;

/// Files below a folder: content hash and mode.
pub type FileTree = BTreeMap<String, (u64, u32)>;

/// Runs `redis-cli` against `host:port`; its output trimmed.
pub fn redis_cli(host: &str, port: u16, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("redis-cli")
        .args(["-h", host, "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running redis-cli")?;
    if !out.status.success() {
        bail!(
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Sends a script of commands (one per line) to the Redis at `host:6379`.
fn redis_pipe(host: &str, script: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut child = Command::new("redis-cli")
        .args(["-h", host, "-p", "6379"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running redis-cli")?;
    child
        .stdin
        .take()
        .context("redis-cli's stdin")?
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("redis-cli: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Every key of the Redis at `host:port`.
pub fn redis_keys(host: &str, port: u16) -> anyhow::Result<RedisKeys> {
    let mut all = BTreeMap::new();
    for key in redis_cli(host, port, &["--scan"])?.lines() {
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        let kind = redis_cli(host, port, &["TYPE", key])?;
        let value = match kind.as_str() {
            "string" => redis_cli(host, port, &["GET", key])?,
            "hash" => redis_cli(host, port, &["HGETALL", key])?,
            "list" => redis_cli(host, port, &["LRANGE", key, "0", "-1"])?,
            other => bail!("key {key} is of an unexpected type {other}"),
        };
        let ttl: i64 = redis_cli(host, port, &["PTTL", key])?.parse()?;
        all.insert(key.to_owned(), (kind, value, ttl));
    }
    Ok(all)
}

/// Whether `after` holds the same keys and values as `before`, each key that had a time
/// to live still living, a little less long (less than 5 minutes passed); the differences
/// in words.
pub fn same_keys(before: &RedisKeys, after: &RedisKeys) -> Result<(), String> {
    if before.keys().ne(after.keys()) {
        return Err(format!(
            "keys differ: {} before, {} after",
            before.len(),
            after.len()
        ));
    }
    for (k, (kind, value, ttl)) in before {
        let (kind2, value2, ttl2) = &after[k];
        if (kind, value) != (kind2, value2) {
            return Err(format!("{k}: {kind} {value:?} became {kind2} {value2:?}"));
        }
        let ok = if *ttl < 0 {
            ttl == ttl2
        } else {
            *ttl2 > 0 && ttl2 <= ttl && ttl - ttl2 < 300_000
        };
        if !ok {
            return Err(format!("{k}: time to live {ttl} ms became {ttl2} ms"));
        }
    }
    Ok(())
}

/// Every file below `dir`: a hash of its content and its mode.
pub fn file_tree(dir: &Path) -> anyhow::Result<FileTree> {
    fn walk(root: &Path, dir: &Path, out: &mut FileTree) -> anyhow::Result<()> {
        use std::hash::{Hash as _, Hasher as _};
        use std::os::unix::fs::PermissionsExt as _;
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let meta = e.metadata()?;
            if meta.is_dir() {
                walk(root, &e.path(), out)?;
            } else {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(e.path())?.hash(&mut h);
                let rel = e.path().strip_prefix(root)?.display().to_string();
                out.insert(rel, (h.finish(), meta.permissions().mode() & 0o7777));
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// The objects of the apps' data services of `namespace`.
pub fn manifest(namespace: &str, laid: &LaidOut) -> String {
    let mut out = APP_POSTGRES.replace("NAMESPACE", namespace);
    let claim = |name: &str| {
        format!(
            "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}\n"
        )
    };
    let sleeper = |name: &str, claim: &str, path: &str| {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      terminationGracePeriodSeconds: 2\n      containers:\n      - {{name: app, image: 'debian:12', command: [sleep, infinity], volumeMounts: [{{name: data, mountPath: {path}}}]}}\n      volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]\n"
        )
    };
    for app in &laid.apps {
        let name = &app.name;
        let mut services = String::new();
        if app.postgres {
            services.push_str(&format!(
                "    postgres: {{service: app-postgres, database: {name}}}\n"
            ));
        }
        if app.redis {
            out.push_str(&claim(&format!("{name}-redis")));
            out.push_str(&REDIS.replace("NAMESPACE", namespace).replace("APP", name));
            services.push_str(&format!(
                "    redis: {{service: {name}-redis, deployment: {name}-redis, claim: {name}-redis}}\n"
            ));
        }
        if app.files {
            out.push_str(&claim(&format!("{name}-files")));
            out.push_str(&sleeper(name, &format!("{name}-files"), "/app/data"));
            services.push_str(&format!("    files: {{claim: {name}-files}}\n"));
        }
        if let Some((w, _, _)) = laid.workspaces.iter().find(|(_, a, _)| a == name) {
            services.push_str(&format!("    workspace: {{name: {w}, claim: {w}-files}}\n"));
        }
        out.push_str(&format!(
            "---\napiVersion: platform.dash.example/v1\nkind: DashApp\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  repository: git@dash.{namespace}.example:{name}.git\n  replicas: 1\n  services:\n{services}"
        ));
    }
    for (w, app, open) in &laid.workspaces {
        out.push_str(&claim(&format!("{w}-files")));
        if *open {
            out.push_str(&sleeper(w, &format!("{w}-files"), "/workspace"));
        }
        if laid.app(app).is_none() {
            // A workspace of an app with no service of its own: its DashApp names only it.
            out.push_str(&format!(
                "---\napiVersion: platform.dash.example/v1\nkind: DashApp\nmetadata: {{name: {app}, namespace: {namespace}}}\nspec:\n  repository: git@dash.{namespace}.example:{app}.git\n  replicas: 1\n  services:\n    workspace: {{name: {w}, claim: {w}-files}}\n"
            ));
        }
    }
    out
}

/// The app-data Postgres: a StatefulSet apart from the system one, no WAL archiving (its
/// databases are dumped one by one), reached on its pod's IP by the namespace's pods.
const APP_POSTGRES: &str = "apiVersion: v1
kind: Service
metadata: {name: app-postgres, namespace: NAMESPACE}
spec:
  selector: {app: app-postgres}
  ports: [{name: postgres, port: 5432, targetPort: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: app-postgres, namespace: NAMESPACE}
spec:
  serviceName: app-postgres
  replicas: 1
  selector: {matchLabels: {app: app-postgres}}
  template:
    metadata: {labels: {app: app-postgres}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: postgres
        image: postgres:15
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - {name: PGDATA, value: /var/lib/postgresql/data/pgdata}
        command: [sh, -c]
        args:
        - |
          if [ ! -s \"$PGDATA/PG_VERSION\" ]; then
            initdb -D \"$PGDATA\" -U postgres -A trust --encoding=UTF8 --no-locale >/dev/null
          fi
          grep -q '^host all all 127.0.0.0/8 trust' \"$PGDATA/pg_hba.conf\" ||
            echo 'host all all 127.0.0.0/8 trust' >> \"$PGDATA/pg_hba.conf\"
          exec postgres -D \"$PGDATA\" -c listen_addresses=\"$POD_IP\" -p 5432 \\
            -c unix_socket_directories=/var/run/postgresql
        readinessProbe:
          exec: {command: [sh, -c, 'pg_isready -h /var/run/postgresql -p 5432']}
          periodSeconds: 2
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
        - {name: socket, mountPath: /var/run/postgresql}
      volumes:
      - {name: socket, emptyDir: {}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
";

/// An app's Redis: persistence on (an RDB on its claim every minute with a change, and at
/// shutdown), reached on its pod's IP.
const REDIS: &str = "---
apiVersion: v1
kind: Service
metadata: {name: APP-redis, namespace: NAMESPACE}
spec:
  selector: {app: APP-redis}
  ports: [{name: redis, port: 6379, targetPort: 6379}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: APP-redis, namespace: NAMESPACE}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector: {matchLabels: {app: APP-redis}}
  template:
    metadata: {labels: {app: APP-redis}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: redis
        image: redis:7
        args: [--bind, $(POD_IP), --port, '6379', --dir, /data, --dbfilename, dump.rdb,
               --save, '60 1', --appendonly, 'no', --protected-mode, 'no', --daemonize, 'no']
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        readinessProbe:
          tcpSocket: {port: 6379}
          periodSeconds: 2
        volumeMounts:
        - {name: data, mountPath: /data}
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: APP-redis}
";
