//! The command line of one Keycloak server on a system Postgres.
//!
//! Lifeboat runs `java` itself rather than `kc.sh`: the script starts Java in the
//! background of a shell, so a parent-death signal on the shell would not reach the server.
//! The JVM options are `kc.sh`'s own for this release (non-container defaults: 64 MB to
//! 512 MB of heap). Everything listens on 127.0.0.1; the cache is local (Keycloak's default
//! `ispn` cache opens JGroups ports on every interface to find peers); the transaction log
//! and temporary files live in the instance's own folder, not the shared install. Secrets
//! go in the environment, never the argument list.

use std::path::PathBuf;

use super::RELATIVE_PATH;
use super::install::KeycloakInstall;
use crate::secret::Secret;

/// The database a server keeps its realms in.
#[derive(Debug, Clone)]
pub struct Database {
    /// Host Postgres listens on (127.0.0.1 for the demo).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The database (`keycloak`).
    pub name: String,
    /// The role Keycloak connects as.
    pub username: String,
    /// Its password.
    pub password: Secret,
}

/// One server's settings.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The HTTP port of the realms and the admin API (on 127.0.0.1).
    pub http_port: u16,
    /// The management port of the health endpoints (on 127.0.0.1).
    pub management_port: u16,
    /// Where its realms live.
    pub database: Database,
    /// The server's own folder: transaction log and temporary files.
    pub state_dir: PathBuf,
    /// The temporary admin of the `master` realm Keycloak creates on its first start
    /// (ignored once the realm has an admin).
    pub bootstrap_admin: Option<(String, Secret)>,
}

/// The URL of a server listening on `http_port`, which is also its `hostname`:
/// `http://127.0.0.1:<port>/auth`.
pub fn base_url(http_port: u16) -> String {
    format!("http://127.0.0.1:{http_port}{RELATIVE_PATH}")
}

impl ServerSpec {
    /// The server's URL ([`base_url`]).
    pub fn base_url(&self) -> String {
        base_url(self.http_port)
    }

    /// The readiness endpoint on the management interface.
    pub fn ready_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}{RELATIVE_PATH}/health/ready",
            self.management_port
        )
    }
}

/// A program, its arguments and its secret environment.
#[derive(Debug)]
pub struct ServerCommand {
    /// `java`.
    pub program: PathBuf,
    /// Every argument (no secret among them).
    pub args: Vec<String>,
    /// Environment variables holding secrets.
    pub env: Vec<(&'static str, Secret)>,
}

/// `kc.sh`'s JVM options for this release, less the ones naming paths.
const JVM_OPTIONS: &[&str] = &[
    "-XX:MetaspaceSize=96M",
    "-XX:MaxMetaspaceSize=256m",
    "-Dfile.encoding=UTF-8",
    "-Dsun.stdout.encoding=UTF-8",
    "-Dsun.err.encoding=UTF-8",
    "-Dstdout.encoding=UTF-8",
    "-Dstderr.encoding=UTF-8",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.security.egd=file:/dev/urandom",
    "-XX:+UseG1GC",
    "-XX:FlightRecorderOptions=stackdepth=512",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-Xms64m",
    "-Xmx512m",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.security=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Duser.language=en",
    "-Duser.country=US",
    "-Djava.util.concurrent.ForkJoinPool.common.threadFactory=io.quarkus.bootstrap.forkjoin.QuarkusForkJoinWorkerThreadFactory",
    "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
    "-Dpicocli.disable.closures=true",
    "-Dquarkus-log-max-startup-records=10000",
];

/// The server's program and the arguments before Keycloak's own: `java`, `kc.sh`'s JVM
/// options, the install's paths and Quarkus' entry point. The transaction log goes in
/// `transaction_logs` and temporary files in `tmp` (an existing folder), never the shared
/// install. The Kubernetes test namespace's Keycloak image runs this too: its containers'
/// arguments start at `start`.
pub fn entrypoint(install: &KeycloakInstall, transaction_logs: &str, tmp: &str) -> Vec<String> {
    let home = install.home.display();
    let mut args: Vec<String> = vec![install.java.display().to_string()];
    args.extend(JVM_OPTIONS.iter().map(|s| (*s).to_owned()));
    args.extend([
        format!("-Dkc.home.dir={home}"),
        format!("-Djboss.server.config.dir={home}/conf"),
        format!("-Dquarkus.transaction-manager.object-store.directory={transaction_logs}"),
        format!("-Djava.io.tmpdir={tmp}"),
        "-cp".into(),
        format!("{home}/lib/quarkus-run.jar"),
        "io.quarkus.bootstrap.runner.QuarkusEntryPoint".into(),
    ]);
    args
}

/// `java … QuarkusEntryPoint start --optimized …` for `spec`.
pub fn command(install: &KeycloakInstall, spec: &ServerSpec) -> ServerCommand {
    let state = spec.state_dir.display();
    let db = &spec.database;
    let mut args = entrypoint(
        install,
        &format!("{state}/transaction-logs"),
        &format!("{state}/tmp"),
    );
    args.remove(0);
    args.extend([
        "start".into(),
        "--optimized".into(),
        "--cache=local".into(),
        "--http-enabled=true".into(),
        "--http-host=127.0.0.1".into(),
        format!("--http-port={}", spec.http_port),
        format!("--http-management-port={}", spec.management_port),
        format!("--hostname={}", spec.base_url()),
        format!(
            "--db-url=jdbc:postgresql://{}:{}/{}",
            db.host, db.port, db.name
        ),
        format!("--db-username={}", db.username),
    ]);
    let mut env = vec![("KC_DB_PASSWORD", db.password.clone())];
    if let Some((user, password)) = &spec.bootstrap_admin {
        env.push(("KC_BOOTSTRAP_ADMIN_USERNAME", Secret::new(user.clone())));
        env.push(("KC_BOOTSTRAP_ADMIN_PASSWORD", password.clone()));
    }
    ServerCommand {
        program: install.java.clone(),
        args,
        env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServerSpec {
        ServerSpec {
            http_port: 18080,
            management_port: 19000,
            database: Database {
                host: "127.0.0.1".into(),
                port: 5432,
                name: "keycloak".into(),
                username: "keycloak".into(),
                password: Secret::new("db-secret"),
            },
            state_dir: PathBuf::from("/data/instances/demo/keycloak"),
            bootstrap_admin: Some(("lifeboat-admin".into(), Secret::new("admin-secret"))),
        }
    }

    fn install() -> KeycloakInstall {
        KeycloakInstall {
            home: PathBuf::from("/kc"),
            java: PathBuf::from("/kc/jdk/bin/java"),
        }
    }

    #[test]
    fn listens_on_loopback_only_with_a_local_cache() {
        let c = command(&install(), &spec());
        for want in [
            "--http-host=127.0.0.1",
            "--cache=local",
            "--hostname=http://127.0.0.1:18080/auth",
            "--http-management-port=19000",
            "--optimized",
        ] {
            assert!(c.args.iter().any(|a| a == want), "{want} in {:?}", c.args);
        }
        assert!(
            !c.args
                .iter()
                .any(|a| a.starts_with("--http-host=") && a != "--http-host=127.0.0.1")
        );
    }

    #[test]
    fn secrets_go_in_the_environment_never_the_arguments() {
        let c = command(&install(), &spec());
        let line = c.args.join(" ");
        assert!(
            !line.contains("db-secret") && !line.contains("admin-secret"),
            "{line}"
        );
        let names: Vec<&str> = c.env.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "KC_DB_PASSWORD",
                "KC_BOOTSTRAP_ADMIN_USERNAME",
                "KC_BOOTSTRAP_ADMIN_PASSWORD"
            ]
        );
    }

    #[test]
    fn state_stays_in_the_instance_folder_not_the_shared_install() {
        let c = command(&install(), &spec());
        assert!(c.args.contains(&"-Dquarkus.transaction-manager.object-store.directory=/data/instances/demo/keycloak/transaction-logs".to_owned()));
        assert!(
            c.args
                .contains(&"-Djava.io.tmpdir=/data/instances/demo/keycloak/tmp".to_owned())
        );
        assert_eq!(c.program, PathBuf::from("/kc/jdk/bin/java"));
    }

    #[test]
    fn urls_carry_the_relative_path() {
        let s = spec();
        assert_eq!(s.base_url(), "http://127.0.0.1:18080/auth");
        assert_eq!(s.ready_url(), "http://127.0.0.1:19000/auth/health/ready");
    }
}
