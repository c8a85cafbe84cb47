//! Where Keycloak is installed: the folder `scripts/install.sh keycloak` unpacks the server
//! distribution into and optimizes once (`kc.sh build`), and the JDK it chose.

use std::path::{Path, PathBuf};

use super::VERSION;

/// Why Keycloak cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No server distribution in the folder.
    #[error("Keycloak {VERSION} is not installed at {0} (run `scripts/install.sh keycloak`)")]
    Missing(PathBuf),
    /// Unpacked but never optimized: `start --optimized` would refuse it.
    #[error(
        "Keycloak at {0} was not optimized with Lifeboat's build options \
         (run `scripts/install.sh keycloak`, which runs `kc.sh build`)"
    )]
    NotBuilt(PathBuf),
}

/// An installed, optimized Keycloak and the `java` that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeycloakInstall {
    /// The server distribution (`bin/`, `lib/`, `conf/`, `themes/`).
    pub home: PathBuf,
    /// The `java` binary: the install's `jdk/bin/java`, else `$JAVA_HOME/bin/java`, else
    /// `java` on the PATH.
    pub java: PathBuf,
}

impl KeycloakInstall {
    /// The folder `scripts/install.sh` installs into: `$LIFEBOAT_CACHE/keycloak-<version>`,
    /// `$LIFEBOAT_CACHE` defaulting to `~/.cache/lifeboat`.
    pub fn default_home() -> PathBuf {
        let cache = std::env::var_os("LIFEBOAT_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .map_or_else(|| PathBuf::from("/root"), PathBuf::from)
                    .join(".cache/lifeboat")
            });
        cache.join(format!("keycloak-{VERSION}"))
    }

    /// The install at `home` (or the default one), checked: unpacked and optimized.
    pub fn find(home: Option<&Path>) -> Result<Self, InstallError> {
        let home = home.map_or_else(Self::default_home, Path::to_path_buf);
        if !home.join("lib/quarkus-run.jar").is_file() {
            return Err(InstallError::Missing(home));
        }
        if !is_built(&home) {
            return Err(InstallError::NotBuilt(home));
        }
        let java = [
            Some(home.join("jdk/bin/java")),
            std::env::var_os("JAVA_HOME").map(|j| PathBuf::from(j).join("bin/java")),
        ]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("java"));
        Ok(Self { home, java })
    }
}

/// `scripts/install.sh` leaves a `.built-<hash of the build options>` stamp once
/// `kc.sh build` succeeded.
fn is_built(home: &Path) -> bool {
    std::fs::read_dir(home).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(".built-"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_folder_is_not_an_install_and_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = KeycloakInstall::find(Some(dir.path())).unwrap_err();
        assert!(matches!(err, InstallError::Missing(_)));
        assert!(
            err.to_string().contains("scripts/install.sh keycloak"),
            "{err}"
        );
    }

    #[test]
    fn an_unpacked_but_unbuilt_install_is_refused_then_found_once_built() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/quarkus-run.jar"), b"").unwrap();
        let err = KeycloakInstall::find(Some(dir.path())).unwrap_err();
        assert!(matches!(err, InstallError::NotBuilt(_)), "{err}");
        std::fs::write(dir.path().join(".built-0123456789ab"), b"").unwrap();
        std::fs::create_dir_all(dir.path().join("jdk/bin")).unwrap();
        std::fs::write(dir.path().join("jdk/bin/java"), b"").unwrap();
        let found = KeycloakInstall::find(Some(dir.path())).unwrap();
        assert_eq!(found.java, dir.path().join("jdk/bin/java"));
    }

    #[test]
    fn the_install_script_pins_the_same_release() {
        let script = include_str!("../../../scripts/install.sh");
        assert!(
            script.contains(&format!("KEYCLOAK_VERSION={VERSION}")),
            "scripts/install.sh must install Keycloak {VERSION}"
        );
        assert!(
            script.contains(&format!(
                "--http-relative-path={}",
                super::super::RELATIVE_PATH
            )),
            "kc.sh build must serve Keycloak under {}",
            super::super::RELATIVE_PATH
        );
    }
}
