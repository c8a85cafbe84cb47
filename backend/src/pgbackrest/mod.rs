//! pgBackRest: its configuration file, its commands and its output. Pure: no IO here; steps
//! run the commands through a [`crate::runtime::Runtime`]. Commands name the instance's
//! settings as a [`Place`]; the runtime says where that is.
//!
//! Lifeboat runs pgBackRest into a *staging* repository on the instance's side (a folder
//! locally); restic then moves that folder into the bucket. The staging repository is
//! written uncompressed (`compress-type=none`) so that restic, which chunks and deduplicates
//! content, stores an unchanged relation file of the next backup as zero new bytes; restic
//! compresses what it uploads itself. See docs/figures.md for the measurement.

pub mod info;
pub mod progress;

use std::path::{Path, PathBuf};

use crate::command::{Arg, Place, Tool, ToolCommand, ToolOutput};

pub use info::{BackupInfo, InfoError, parse_info};
pub use progress::{FileProgress, parse_detail_line};

/// The stanza every Lifeboat instance uses: one cluster per staging repository, so a fixed
/// name keeps backups restorable into any other instance.
pub const STANZA: &str = "system";

/// Parallel workers for a backup or a restore (`process-max`): the same on every runtime,
/// the restore Job's pod included (pgBackRest's default is 1).
pub const PROCESS_MAX: u32 = 2;

/// Where pgBackRest keeps its repository and its own files (the `[global]` section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPaths {
    /// The staging repository (`repo1-path`).
    pub repo_path: PathBuf,
    /// Lock files (`lock-path`; the default `/tmp/pgbackrest` is shared by every user).
    pub lock_path: PathBuf,
    /// Log files (`log-path`).
    pub log_path: PathBuf,
    /// Asynchronous archiving spool (`spool-path`).
    pub spool_path: PathBuf,
    /// Parallel workers for backup and restore (`process-max`).
    pub process_max: u32,
}

impl RepoPaths {
    /// The repository at `repo`, locks, logs and spool in `lock/`, `log/` and `spool/` of
    /// `dir`, two workers.
    pub fn new(repo: PathBuf, dir: &Path) -> Self {
        Self {
            repo_path: repo,
            lock_path: dir.join("lock"),
            log_path: dir.join("log"),
            spool_path: dir.join("spool"),
            process_max: PROCESS_MAX,
        }
    }
}

/// Where pgBackRest keeps things for one cluster on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgbrSettings {
    /// The repository and pgBackRest's own files.
    pub repo: RepoPaths,
    /// The cluster's data directory (`pg1-path`).
    pub pg_path: PathBuf,
    /// The cluster's port (`pg1-port`).
    pub pg_port: u16,
    /// The folder holding its Unix socket (`pg1-socket-path`).
    pub pg_socket_path: PathBuf,
}

/// The `[global]` section both kinds of `pgbackrest.conf` share: the staging repository
/// and where pgBackRest keeps its locks, logs and spool.
fn global_section(r: &RepoPaths) -> String {
    format!(
        "# Written by Lifeboat; rewritten at every start.\n\
         [global]\n\
         repo1-path={repo}\n\
         # The bucket keeps the history (restic); staging keeps only the latest full backup.\n\
         repo1-retention-full=1\n\
         # Uncompressed, so restic deduplicates unchanged files between backups.\n\
         compress-type=none\n\
         start-fast=y\n\
         process-max={pmax}\n\
         lock-path={lock}\n\
         log-path={log}\n\
         spool-path={spool}\n\
         log-level-console=info\n\
         log-level-file=detail\n\
         # Past this much WAL waiting in pg_wal, pgBackRest drops it (a hole in the recovery\n\
         # window) rather than let the disk fill and Postgres stop.\n\
         archive-push-queue-max={queue_max}\n\
         \n\
         # WAL is shipped every minute, segments cut short: compressed, they cost what was written.\n\
         [global:archive-push]\n\
         compress-type=lz4\n\
         \n",
        repo = r.repo_path.display(),
        pmax = r.process_max.max(1),
        lock = r.lock_path.display(),
        log = r.log_path.display(),
        spool = r.spool_path.display(),
        queue_max = ARCHIVE_QUEUE_MAX,
    )
}

/// `archive-push-queue-max`: the WAL that may wait in `pg_wal` for the archive.
pub const ARCHIVE_QUEUE_MAX: &str = "1GiB";

/// The `pgbackrest.conf` for these settings.
pub fn render_config(s: &PgbrSettings) -> String {
    format!(
        "{global}[{STANZA}]\n\
         pg1-path={pg}\n\
         pg1-port={port}\n\
         pg1-socket-path={sock}\n",
        global = global_section(&s.repo),
        pg = s.pg_path.display(),
        port = s.pg_port,
        sock = s.pg_socket_path.display(),
    )
}

/// Where pgBackRest keeps things when the cluster is in another pod, reached over TLS from
/// its `pgbackrest server` sidecar (the repository stays on this side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePgSettings {
    /// The repository (on this side) and pgBackRest's own files.
    pub repo: RepoPaths,
    /// The sidecar's host name (`pg1-host`).
    pub pg_host: String,
    /// Its TLS port (`pg1-host-port`).
    pub pg_host_port: u16,
    /// The CA that signed the sidecar's certificate (`pg1-host-ca-file`).
    pub ca_file: PathBuf,
    /// Our client certificate (`pg1-host-cert-file`).
    pub cert_file: PathBuf,
    /// Its key (`pg1-host-key-file`).
    pub key_file: PathBuf,
    /// The cluster's data directory inside its pod (`pg1-path`).
    pub pg_path: String,
    /// Its socket folder inside its pod (`pg1-socket-path`).
    pub pg_socket_path: String,
}

/// The `pgbackrest.conf` of a repository host whose cluster is in another pod
/// (`pg1-host-type=tls`, the way Crunchy's operator runs its repository host).
pub fn render_remote_config(s: &RemotePgSettings) -> String {
    format!(
        "{global}[{STANZA}]\n\
         pg1-host={host}\n\
         pg1-host-type=tls\n\
         pg1-host-port={port}\n\
         pg1-host-ca-file={ca}\n\
         pg1-host-cert-file={cert}\n\
         pg1-host-key-file={key}\n\
         pg1-path={pg}\n\
         pg1-socket-path={sock}\n\
         # Files cross the cluster's network as they are (no gzip on one side to unpack on the other).\n\
         {no_compression}\n",
        global = global_section(&s.repo),
        host = s.pg_host,
        port = s.pg_host_port,
        ca = s.ca_file.display(),
        cert = s.cert_file.display(),
        key = s.key_file.display(),
        pg = s.pg_path,
        sock = s.pg_socket_path,
        no_compression = NO_NETWORK_COMPRESSION.trim_start_matches("--"),
    )
}

/// Between pods, pgBackRest sends files as they are: with `compress-type=none` it would
/// otherwise gzip them (level 3) on one side and unpack them on the other, which costs
/// more CPU than an in-cluster network saves (the Kubernetes backup's Postgres step, scale
/// 20: 4.9–5.6 s with it, 4.0–4.3 s without; docs/figures.md).
pub const NO_NETWORK_COMPRESSION: &str = "--compress-level-network=0";

/// The `archive_command` PostgreSQL runs for each WAL segment (`--config` is explicit
/// because the archiver does not inherit any environment of ours).
pub fn archive_command(pgbackrest: &std::path::Path, config: &std::path::Path) -> String {
    format!(
        "{} --config={} --stanza={STANZA} archive-push %p",
        pgbackrest.display(),
        config.display()
    )
}

/// A pgBackRest command for the stanza, as the PostgreSQL service account; `config` is the
/// instance's `pgbackrest.conf`.
pub fn command(config: &Place, args: &[&str]) -> ToolCommand {
    let mut cmd = ToolCommand::new(Tool::Pgbackrest, Vec::<String>::new());
    cmd.arg(Arg::Place {
        prefix: "--config=".into(),
        place: config.clone(),
    });
    cmd.arg(format!("--stanza={STANZA}"));
    for a in args {
        cmd.arg(*a);
    }
    cmd.as_postgres_user = true;
    cmd
}

/// `stanza-create` (idempotent: succeeds when the stanza already matches the cluster).
pub fn stanza_create(config: &Place) -> ToolCommand {
    command(config, &["stanza-create"])
}

/// A backup of `kind` (`full`, `diff` or `incr`; pgBackRest takes a full instead when the
/// repository has none to build on) that prints one `DETAIL: backup file …` line per file
/// on stdout.
///
/// It does not expire the backups it replaces: the upload takes the repository with the
/// older chain's WAL still in it (a restore to a moment before this backup replays from
/// its snapshot), and [`expire`] runs after.
pub fn backup(config: &Place, kind: lifeboat_shared::backup::BackupType) -> ToolCommand {
    let kind = format!("--type={}", kind.as_str());
    command(
        config,
        &[
            &kind,
            "--no-expire-auto",
            "--log-level-console=detail",
            "backup",
        ],
    )
}

/// `expire`: what the staging's retention (the last full and its chain) no longer keeps.
pub fn expire(config: &Place) -> ToolCommand {
    command(config, &["expire"])
}

/// A full backup ([`backup`] of `full`).
pub fn backup_full(config: &Place) -> ToolCommand {
    backup(config, lifeboat_shared::backup::BackupType::Full)
}

/// `info --output=json`.
pub fn info(config: &Place) -> ToolCommand {
    command(config, &["--output=json", "info"])
}

/// A restore of `label` (or the latest backup) over the data directory, changing only the
/// files that differ, that replays WAL to the backup's consistent point (or, with `to`, to
/// that moment) and then promotes.
pub fn restore_to_backup(config: &Place, label: Option<&str>, to: Option<&str>) -> ToolCommand {
    let args = restore_args(label, to);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    command(config, &args)
}

/// The options and command of [`restore_to_backup`], without the config and stanza: a
/// delta restore (every file already there is checked against the backup's checksum, the
/// rest removed) of `label`, recovering to its consistent point, or with `to` (a time
/// pgBackRest takes, as [`recovery_target`] writes it) replaying WAL to that moment, then
/// promoting, with progress lines.
pub fn restore_args(label: Option<&str>, to: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = vec!["--delta".into()];
    match to {
        Some(t) => {
            args.push("--type=time".into());
            args.push(format!("--target={t}"));
        }
        None => args.push("--type=immediate".into()),
    }
    args.extend(["--target-action=promote", "--log-level-console=detail"].map(str::to_owned));
    if let Some(l) = label {
        args.push(format!("--set={l}"));
    }
    args.push("restore".into());
    args
}

/// An RFC 3339 moment as PostgreSQL's `recovery_target_time` reads it
/// (`2026-12-07 23:30:01.123456+00`); `None` when it is not one.
pub fn recovery_target(rfc3339: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?
        .to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]+00"
    );
    t.format(&f).ok()
}

/// The last lines of a failed run's output, errors first.
pub fn output_tail(output: &ToolOutput) -> String {
    output.tail(|l| l.contains("DETAIL:"))
}

/// Whether a failed run's output says another pgBackRest holds the stanza's lock
/// (`ERROR: [050]`, LockAcquireError): worth waiting for, unlike other failures.
pub fn is_lock_held(tail: &str) -> bool {
    tail.contains("ERROR: [050]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_told_from_other_failures() {
        assert!(is_lock_held(
            "ERROR: [050]: unable to acquire lock on file '/d/pgbr/lock/system-backup.lock': Resource temporarily unavailable"
        ));
        assert!(!is_lock_held(
            "ERROR: [055]: unable to load info file '/d/staging/pgbackrest/backup/system/backup.info'"
        ));
    }

    fn settings() -> PgbrSettings {
        PgbrSettings {
            repo: RepoPaths::new("/d/staging/pgbackrest".into(), "/d/pgbr".as_ref()),
            pg_path: "/d/pg".into(),
            pg_port: 55432,
            pg_socket_path: "/d/pgsock".into(),
        }
    }

    #[test]
    fn config_names_every_path_and_disables_compression() {
        let c = render_config(&settings());
        for want in [
            "repo1-path=/d/staging/pgbackrest",
            "compress-type=none",
            "start-fast=y",
            "process-max=2",
            "lock-path=/d/pgbr/lock",
            "[system]",
            "pg1-port=55432",
            "pg1-socket-path=/d/pgsock",
        ] {
            assert!(c.contains(want), "{want} missing from\n{c}");
        }
    }

    #[test]
    fn remote_config_reaches_the_cluster_over_tls() {
        let c = render_remote_config(&RemotePgSettings {
            repo: RepoPaths::new("/v/staging/pgbackrest".into(), "/v".as_ref()),
            pg_host: "system-postgres.dash.svc".into(),
            pg_host_port: 8432,
            ca_file: "/tls/ca.crt".into(),
            cert_file: "/tls/tls.crt".into(),
            key_file: "/tls/tls.key".into(),
            pg_path: "/var/lib/postgresql/data/pgdata".into(),
            pg_socket_path: "/var/run/postgresql".into(),
        });
        for want in [
            "repo1-path=/v/staging/pgbackrest",
            "compress-type=none",
            "pg1-host=system-postgres.dash.svc",
            "pg1-host-type=tls",
            "pg1-host-port=8432",
            "pg1-host-cert-file=/tls/tls.crt",
            "pg1-path=/var/lib/postgresql/data/pgdata",
            "compress-level-network=0",
        ] {
            assert!(c.contains(want), "{want} missing from\n{c}");
        }
        assert!(
            !c.contains("pg1-port"),
            "the port is the sidecar's business:\n{c}"
        );
    }

    #[test]
    fn commands_carry_config_and_stanza_and_run_as_postgres() {
        let conf = Place::at(
            crate::command::Volume::PgbackrestConfig("demo".into()),
            "pgbackrest.conf",
        );
        let cmd = backup_full(&conf);
        assert!(
            matches!(&cmd.args[0], Arg::Place { prefix, place } if prefix == "--config=" && *place == conf)
        );
        let args = cmd.text_args();
        assert_eq!(args[0], "--stanza=system");
        assert_eq!(args.last().copied(), Some("backup"));
        assert!(cmd.as_postgres_user);
        let r = restore_to_backup(&conf, Some("20261125-110705F"), None);
        assert_eq!(
            r.text_args()[1..],
            [
                "--delta",
                "--type=immediate",
                "--target-action=promote",
                "--log-level-console=detail",
                "--set=20261125-110705F",
                "restore"
            ]
        );
        assert!(r.as_postgres_user);
        let to = recovery_target("2026-12-07T23:30:01.5Z").unwrap();
        assert_eq!(to, "2026-12-07 23:30:01.500000+00");
        let r = restore_to_backup(&conf, Some("20261125-110705F"), Some(&to));
        assert_eq!(
            r.text_args()[1..4],
            [
                "--delta",
                "--type=time",
                "--target=2026-12-07 23:30:01.500000+00"
            ]
        );
        assert_eq!(recovery_target("yesterday"), None);
        assert!(
            archive_command("/usr/bin/pgbackrest".as_ref(), "/c".as_ref())
                .ends_with("--config=/c --stanza=system archive-push %p")
        );
    }
}
