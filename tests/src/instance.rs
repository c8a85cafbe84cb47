//! The local instances a Lifeboat runs, seen from outside: their PostgreSQL through `psql`
//! as the `postgres` user, row-level checksums of every table, and their configuration
//! folder read byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::page::get_json;
use crate::server::Lifeboat;

/// The databases a backup captures (Keycloak's and App Manager's).
pub const DATABASES: [&str; 2] = ["keycloak", "appmanager"];

/// One instance as `GET /api/v1/instance(s)` describes it (local runtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Its namespace.
    pub namespace: String,
    /// Its PostgreSQL's port.
    pub port: u16,
    /// The folder holding its PostgreSQL's Unix socket.
    pub socket_dir: PathBuf,
    /// Its configuration folder.
    pub config_dir: PathBuf,
}

impl Instance {
    /// Reads one entry of `GET /api/v1/instance` or `GET /api/v1/instances`.
    pub fn from_json(v: &Value) -> anyhow::Result<Self> {
        let s = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .with_context(|| format!("no {k} in {v}"))
        };
        Ok(Self {
            namespace: s("namespace")?,
            port: v["postgres_port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .with_context(|| format!("no postgres_port in {v}"))?,
            socket_dir: PathBuf::from(s("postgres_socket_dir")?),
            config_dir: PathBuf::from(s("config_dir")?),
        })
    }

    /// `server`'s own instance (`GET /api/v1/instance`).
    pub async fn own(server: &Lifeboat) -> anyhow::Result<Self> {
        Self::from_json(&get_json(server, "/instance").await?)
    }

    /// Every instance `server` runs (`GET /api/v1/instances`), its own first.
    pub async fn all(server: &Lifeboat) -> anyhow::Result<Vec<Self>> {
        let list = get_json(server, "/instances").await?;
        list["instances"]
            .as_array()
            .with_context(|| format!("no instances in {list}"))?
            .iter()
            .map(Self::from_json)
            .collect()
    }

    /// `<program> -h <socket dir> -p <port> -U postgres`, run as the `postgres` OS user: a
    /// PostgreSQL client tool (`psql`, `pgbench`) on this instance's Unix socket, killed if
    /// dropped.
    pub fn client(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("setpriv");
        cmd.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--",
            program,
        ])
        .arg("-h")
        .arg(&self.socket_dir)
        .args(["-p", &self.port.to_string(), "-U", "postgres"])
        .kill_on_drop(true);
        cmd
    }

    /// Runs `sql` in `db` with `psql` as the `postgres` user over the Unix socket; returns
    /// its unaligned, tuples-only output, trimmed. Fails when psql does.
    pub async fn psql(&self, db: &str, sql: &str) -> anyhow::Result<String> {
        let out = self
            .client("psql")
            .args(["-At", "-X", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql])
            .output()
            .await
            .context("cannot run setpriv/psql")?;
        if !out.status.success() {
            bail!(
                "psql -d {db} on {} ({}): {}",
                self.namespace,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Every public table of [`DATABASES`], as `db.table → "rows:md5 of the rows in order"`.
    pub async fn checksums(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut sums = BTreeMap::new();
        for db in DATABASES {
            let tables = self
                .psql(
                    db,
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                )
                .await?;
            for t in tables.lines().filter(|t| !t.is_empty()) {
                let sum = self
                    .psql(
                        db,
                        &format!(
                            "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, E'\\n' \
                             ORDER BY x::text), '')) FROM public.\"{t}\" x"
                        ),
                    )
                    .await?;
                sums.insert(format!("{db}.{t}"), sum);
            }
        }
        anyhow::ensure!(
            sums.len() >= 8,
            "too few tables in {}: {sums:?}",
            self.namespace
        );
        Ok(sums)
    }

    /// Deletes a Keycloak user and the rows that refer to it.
    pub async fn delete_user(&self, username: &str) -> anyhow::Result<()> {
        let who = format!("(SELECT id FROM user_entity WHERE username = '{username}')");
        let deleted = self
            .psql(
                "keycloak",
                &format!(
                    "DELETE FROM user_attribute WHERE user_id = {who}; \
                     DELETE FROM credential WHERE user_id = {who}; \
                     DELETE FROM user_group_membership WHERE user_id = {who}; \
                     WITH d AS (DELETE FROM user_entity WHERE username = '{username}' RETURNING 1) \
                     SELECT count(*) FROM d"
                ),
            )
            .await?;
        anyhow::ensure!(
            deleted.lines().last() == Some("1"),
            "user {username} was not deleted in {}: {deleted:?}",
            self.namespace
        );
        Ok(())
    }

    /// Every file of the configuration folder with its bytes.
    pub fn config_files(&self) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        folder_files(&self.config_dir)
    }
}

/// Every file under `dir` (recursively), by path relative to `dir`, with its bytes.
pub fn folder_files(dir: &Path) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
        for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else {
                let rel = p.strip_prefix(root)?.display().to_string();
                let bytes =
                    std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
                out.insert(rel, bytes);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    anyhow::ensure!(!out.is_empty(), "{} holds no file", dir.display());
    Ok(out)
}

/// The names of the entries whose values differ between two maps (or that only one has),
/// for a readable assertion message.
pub fn differing<V: PartialEq>(a: &BTreeMap<String, V>, b: &BTreeMap<String, V>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}
