//! No lock-in: the README's "Restoring by hand" steps, followed with only restic, pgBackRest
//! and PostgreSQL's own tools, bring back the demo instance's data and configuration.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::path::Path;
use std::process::Command;

use backup_support::{env, stop};
use lifeboat_shared::operation::OperationStatus;

fn sh(script: &str, dir: &Path) -> String {
    let out = Command::new("bash")
        .arg("-euc")
        .arg(script)
        .env("R", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Stops the hand-started server even when an assertion fails.
struct StopServer(std::path::PathBuf);

impl Drop for StopServer {
    fn drop(&mut self) {
        if self.0.join("postmaster.pid").exists() {
            let _ = Command::new("setpriv")
                .args([
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--clear-groups",
                    "--",
                ])
                .arg("/usr/lib/postgresql/15/bin/pg_ctl")
                .arg("-D")
                .arg(&self.0)
                .args(["-m", "immediate", "-w", "stop"])
                .status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_restore_by_hand_works() {
    let env = env().await;
    let op = env.backup("by hand").await;
    assert_eq!(op.status, OperationStatus::Succeeded, "{op:#?}");
    let (_, list) = env.get("/api/v1/backups").await;
    let m = &list["backups"][0];
    let snapshot = m["components"][0]["snapshot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let label = m["components"][0]["pgbackrest_label"]
        .as_str()
        .unwrap()
        .to_owned();
    stop(&env).await;

    let work = tempfile::tempdir().unwrap();
    backup_support::open_up(work.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let repo = env.bucket().join("restic");
    let _server = StopServer(work.path().join("pg"));
    // The README's commands, with $R standing for /srv.
    sh(
        &format!(
            r#"
export RESTIC_REPOSITORY={repo} RESTIC_PASSWORD={key}
restic snapshots --tag lifeboat | grep -q {snapshot}
restic restore {snapshot} --target "$R/restore"
mkdir -p "$R/pg" "$R/restore/log" && chmod 700 "$R/pg"
cat > "$R/restore/pgbackrest.conf" <<CONF
[global]
repo1-path=$R/restore/pgbackrest
lock-path=$R/restore/lock
log-path=$R/restore/log
[system]
pg1-path=$R/pg
CONF
chown -R postgres:postgres "$R/restore" "$R/pg"
su postgres -s /bin/sh -c "pgbackrest --config=$R/restore/pgbackrest.conf --stanza=system --set={label} restore"
printf "port = {port}\nunix_socket_directories = '$R/restore'\narchive_mode = off\n" > "$R/pg/lifeboat.conf"
su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D $R/pg -l $R/restore/pg.log -w start"
"#,
            repo = repo.display(),
            key = lifeboat::restic::NO_PASSPHRASE_KEY,
        ),
        work.path(),
    );
    let users = sh(
        &format!(
            r#"su postgres -s /bin/sh -c "psql -h $R/restore -p {port} -At -c 'select count(*) from user_entity' keycloak""#
        ),
        work.path(),
    );
    let apps = sh(
        &format!(
            r#"su postgres -s /bin/sh -c "psql -h $R/restore -p {port} -At -c 'select count(*) from apps' appmanager""#
        ),
        work.path(),
    );
    sh(
        r#"su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D $R/pg -m fast -w stop""#,
        work.path(),
    );
    assert_eq!(
        users,
        (lifeboat::runtime::local::instance::seed::USERS + 1).to_string()
    );
    assert_eq!(
        apps,
        lifeboat::runtime::local::instance::seed::APPS.to_string()
    );
    let instance = backup_support::layout(&env.data_dir(), "demo");
    let original = std::fs::read(instance.config_dir().join("platform.yaml")).unwrap();
    let restored = std::fs::read(work.path().join("restore/config/platform.yaml")).unwrap();
    assert_eq!(original, restored);
}
