//! SQL against a system Postgres through `psql`, the same on both runtimes: whether
//! recovery has finished, the row counts a backup records and a restore verifies, and the
//! apps and workspaces the post-restore checklist names.
//!
//! Locally `psql` reaches the demo's Unix socket as the `postgres` OS user; on Kubernetes it
//! reaches the system Postgres' Service from Lifeboat's container.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::process::Runner;
use crate::command::{Stream, Tool, ToolCommand};
use crate::runtime::error::InstanceError;

/// The tables whose row counts a backup records and a restore checks, by database.
pub const COUNTED: [(&str, &[&str]); 2] = [
    (
        "keycloak",
        &[
            "realm",
            "user_entity",
            "keycloak_group",
            "identity_provider",
        ],
    ),
    ("appmanager", &["apps", "workspaces"]),
];

/// Where `psql` connects, as the `postgres` database user.
#[derive(Debug, Clone)]
pub struct Psql {
    /// A host name or a socket folder.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Run as the PostgreSQL OS user (peer authentication on the local socket).
    pub as_postgres_user: bool,
}

impl Psql {
    /// `psql` on `database`, stopping at the first error, without reading `~/.psqlrc`.
    pub fn command(&self, database: &str, extra: &[&str]) -> ToolCommand {
        let mut args = vec![
            "-h".to_owned(),
            self.host.clone(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            "postgres".into(),
            "-d".into(),
            database.into(),
            "-v".into(),
            "ON_ERROR_STOP=1".into(),
            "-X".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut cmd = ToolCommand::new(Tool::Psql, args);
        cmd.as_postgres_user = self.as_postgres_user;
        // A Postgres that does not answer fails the check instead of hanging it (a
        // restore's verify, its start's recovery poll).
        cmd.env.push(("PGCONNECT_TIMEOUT".into(), "10".into()));
        cmd.env
            .push(("PGOPTIONS".into(), "-c statement_timeout=120s".into()));
        cmd
    }

    /// One query's whole unaligned, tuples-only output.
    pub async fn query(
        &self,
        runner: &Runner,
        database: &str,
        sql: &str,
    ) -> Result<String, InstanceError> {
        let mut lines = Vec::new();
        let out = runner
            .run(
                self.command(database, &["-At", "-c", sql]),
                CancellationToken::new(),
                &mut |stream, line| {
                    if stream == Stream::Stdout {
                        lines.push(line.to_owned());
                    }
                },
            )
            .await?;
        if out.exit_code != Some(0) {
            return Err(InstanceError::Tool {
                step: "psql",
                tail: crate::pgbackrest::output_tail(&out),
            });
        }
        Ok(lines.join("\n"))
    }
}

/// What App Manager records of its apps' data services and its workspaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppRecord {
    /// (app, service), sorted.
    pub services: Vec<(String, String)>,
    /// Workspace names, sorted.
    pub workspaces: Vec<String>,
}

/// The SQL checks of a system Postgres, the same on every runtime (each says only how
/// `psql` reaches its Postgres): recovery, the row counts a backup records and a restore
/// verifies, and what the post-restore checklist names.
#[derive(Debug, Clone)]
pub struct SystemSql {
    psql: Psql,
    runner: Arc<Runner>,
}

impl SystemSql {
    /// The checks of the Postgres `psql` reaches, run by `runner`.
    pub fn new(psql: Psql, runner: Arc<Runner>) -> Self {
        Self { psql, runner }
    }

    async fn query(&self, database: &str, sql: &str) -> Result<String, InstanceError> {
        self.psql.query(&self.runner, database, sql).await
    }

    /// Marks where the WAL ends now, for the recovery window: the time (`at`, RFC 3339 in
    /// UTC, by Postgres' clock), then a commit after it (`txid_current()`: recovery to a
    /// moment stops at the first commit past it, and fails when it finds none), then a
    /// switch to a new segment, so the one holding that commit is archived. Returns `at` and
    /// that segment's name. Each statement is its own transaction.
    pub async fn mark_wal_end(&self) -> Result<(String, String), InstanceError> {
        let at = self
            .query(
                "postgres",
                "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            )
            .await?;
        self.query("postgres", "SELECT txid_current()").await?;
        let segment = self
            .query("postgres", "SELECT pg_walfile_name(pg_switch_wal())")
            .await?;
        let segment = segment.trim().to_owned();
        if segment.len() != 24 || !segment.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(InstanceError::App(format!(
                "Postgres named no WAL segment ({segment:?})"
            )));
        }
        Ok((at.trim().to_owned(), segment))
    }

    /// Whether WAL segment `segment` (24 hex digits, as [`Self::mark_wal_end`] returns) is
    /// archived; the last archiving failure's segment and time, when one is newer than the
    /// last success.
    pub async fn archived(&self, segment: &str) -> Result<(bool, Option<String>), InstanceError> {
        if segment.len() != 24 || !segment.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(InstanceError::App(format!(
                "not a WAL segment: {segment:?}"
            )));
        }
        let out = self
            .query(
                "postgres",
                &format!(
                    "SELECT coalesce(last_archived_wal >= '{segment}', false), \
                     CASE WHEN last_failed_time > coalesce(last_archived_time, 'epoch') \
                     THEN last_failed_wal || ' at ' || last_failed_time END \
                     FROM pg_stat_archiver"
                ),
            )
            .await?;
        let mut cols = out.trim().split('|');
        let done = cols.next() == Some("t");
        let failing = cols.next().filter(|s| !s.is_empty()).map(str::to_owned);
        Ok((done, failing))
    }

    /// Whether Postgres has finished recovery (and accepts writes).
    pub async fn is_primary(&self) -> Result<bool, InstanceError> {
        let out = self.query("postgres", "SELECT pg_is_in_recovery()").await?;
        Ok(out.trim() == "f")
    }

    /// Row counts of the [`COUNTED`] tables, as `database.table → rows`.
    pub async fn counts(&self) -> Result<BTreeMap<String, u64>, InstanceError> {
        let mut counts = BTreeMap::new();
        for (db, tables) in COUNTED {
            let out = self.query(db, &count_query(tables)).await?;
            counts.extend(parse_counts(db, &out));
        }
        Ok(counts)
    }

    /// The names of App Manager's apps and of its workspaces, each sorted.
    pub async fn apps_and_workspaces(&self) -> Result<(Vec<String>, Vec<String>), InstanceError> {
        let mut lists = Vec::with_capacity(2);
        for table in ["apps", "workspaces"] {
            let sql = format!("SELECT name FROM {table} ORDER BY name");
            lists.push(names(&self.query("appmanager", &sql).await?));
        }
        let workspaces = lists.pop().unwrap_or_default();
        let apps = lists.pop().unwrap_or_default();
        Ok((apps, workspaces))
    }

    /// In one query (it answers `GET /api/v1/instance`): the data services App Manager
    /// records for its apps (`app_services`), as (app, service) sorted, the service one of
    /// `postgres`, `redis`, `files` (none when App Manager's database predates them), and
    /// its workspaces' names, sorted.
    pub async fn app_services(&self) -> Result<AppRecord, InstanceError> {
        let workspaces = "SELECT 'w|' || name FROM workspaces";
        let both = format!(
            "SELECT 'a|' || a.name || '|' || s.service FROM app_services s \
             JOIN apps a ON a.id = s.app_id UNION ALL {workspaces} ORDER BY 1"
        );
        let out = match self.query("appmanager", &both).await {
            Ok(out) => out,
            // App Manager's database from before `app_services`.
            Err(InstanceError::Tool { tail, .. }) if tail.contains("app_services") => {
                self.query("appmanager", &format!("{workspaces} ORDER BY 1"))
                    .await?
            }
            Err(e) => return Err(e),
        };
        let mut record = AppRecord::default();
        for line in names(&out) {
            match line.split('|').collect::<Vec<_>>()[..] {
                ["a", app, service] => record.services.push((app.to_owned(), service.to_owned())),
                ["w", ws] => record.workspaces.push(ws.to_owned()),
                _ => {}
            }
        }
        Ok(record)
    }

    /// Keycloak's enabled identity providers, as `realm/alias`, sorted.
    pub async fn identity_providers(&self) -> Result<Vec<String>, InstanceError> {
        let sql = "SELECT r.name || '/' || i.provider_alias FROM identity_provider i \
                   JOIN realm r ON r.id = i.realm_id WHERE i.enabled ORDER BY 1";
        Ok(names(&self.query("keycloak", sql).await?))
    }
}

fn count_query(tables: &[&str]) -> String {
    tables
        .iter()
        .map(|t| format!("SELECT '{t}', count(*) FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

fn parse_counts<'a>(db: &'a str, out: &'a str) -> impl Iterator<Item = (String, u64)> + 'a {
    out.lines().filter_map(move |line| {
        let (table, n) = line.split_once('|')?;
        Some((format!("{db}.{table}"), n.trim().parse().ok()?))
    })
}

fn names(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_one_union_and_parse_back_by_database() {
        assert_eq!(
            count_query(&["apps", "workspaces"]),
            "SELECT 'apps', count(*) FROM apps UNION ALL SELECT 'workspaces', count(*) FROM workspaces"
        );
        let parsed: BTreeMap<_, _> =
            parse_counts("appmanager", "apps|12\nworkspaces|3\nnoise").collect();
        assert_eq!(parsed.get("appmanager.apps"), Some(&12));
        assert_eq!(parsed.get("appmanager.workspaces"), Some(&3));
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn a_remote_psql_connects_by_host_name_as_itself() {
        let p = Psql {
            host: "system-postgres.dash.svc".into(),
            port: 5432,
            as_postgres_user: false,
        };
        let cmd = p.command("keycloak", &["-At"]);
        assert!(!cmd.as_postgres_user);
        let text: Vec<String> = cmd
            .args
            .iter()
            .filter_map(|a| match a {
                crate::command::Arg::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(&text[..2], ["-h", "system-postgres.dash.svc"]);
        assert!(text.contains(&"keycloak".to_owned()));
    }
}
