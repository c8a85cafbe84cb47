//! Finds the external tools Lifeboat drives (restic, pgBackRest, PostgreSQL) at start,
//! so that a missing one is reported with what to install, not discovered mid-backup.

use std::path::{Path, PathBuf};

/// Where Debian puts PostgreSQL's server binaries (they are not on `PATH`).
const POSTGRES_BIN_DIRS: &[&str] = &["/usr/lib/postgresql/15/bin"];

/// One external tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// The executable name, e.g. `restic`.
    pub name: &'static str,
    /// Where it was found, if it was.
    pub path: Option<PathBuf>,
    /// The Debian package that provides it.
    pub package: &'static str,
}

/// The tools found (or not) on this host.
#[derive(Debug, Clone)]
pub struct Toolbox {
    /// Every tool Lifeboat needs, in a stable order.
    pub tools: Vec<Tool>,
}

impl Toolbox {
    /// Looks up every tool on `PATH` (and PostgreSQL's bin folder).
    pub fn discover() -> Self {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        dirs.extend(POSTGRES_BIN_DIRS.iter().map(PathBuf::from));
        Self::discover_in(&dirs)
    }

    /// Looks up every tool in the given folders, first match wins.
    pub fn discover_in(dirs: &[PathBuf]) -> Self {
        let want: [(&'static str, &'static str); 7] = [
            ("restic", "restic"),
            ("pgbackrest", "pgbackrest"),
            ("initdb", "postgresql-15"),
            ("pg_ctl", "postgresql-15"),
            ("postgres", "postgresql-15"),
            ("redis-server", "redis-server"),
            ("redis-cli", "redis-tools"),
        ];
        let tools = want
            .into_iter()
            .map(|(name, package)| Tool {
                name,
                package,
                path: find_in(dirs, name),
            })
            .collect();
        Self { tools }
    }

    /// The major version of the PostgreSQL server found (`postgres --version`), if any.
    pub fn postgres_major(&self) -> Option<u32> {
        let out = std::process::Command::new(self.path("postgres")?)
            .arg("--version")
            .output()
            .ok()?;
        parse_postgres_major(&String::from_utf8_lossy(&out.stdout))
    }

    /// The same tools, only those named (what a runtime needs on this host).
    #[must_use]
    pub fn only(&self, names: &[&str]) -> Self {
        Self {
            tools: self
                .tools
                .iter()
                .filter(|t| names.contains(&t.name))
                .cloned()
                .collect(),
        }
    }

    /// The tools that were not found.
    pub fn missing(&self) -> Vec<&Tool> {
        self.tools.iter().filter(|t| t.path.is_none()).collect()
    }

    /// The path of a tool, if found.
    pub fn path(&self, name: &str) -> Option<&Path> {
        self.tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.path.as_deref())
    }

    /// One sentence naming what is missing and the command that installs it.
    pub fn install_hint(&self) -> Option<String> {
        let missing = self.missing();
        if missing.is_empty() {
            return None;
        }
        let names: Vec<&str> = missing.iter().map(|t| t.name).collect();
        let mut packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
        packages.dedup();
        Some(format!(
            "missing {}: install with `apt-get install {}` (or run scripts/install.sh)",
            names.join(", "),
            packages.join(" ")
        ))
    }
}

fn find_in(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// `postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)` → 15.
pub fn parse_postgres_major(version: &str) -> Option<u32> {
    version
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?
        .split('.')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_missing_tools_with_their_package() {
        let empty = tempfile::tempdir().unwrap();
        let tb = Toolbox::discover_in(&[empty.path().to_path_buf()]);
        assert_eq!(tb.missing().len(), 7);
        let hint = tb.install_hint().unwrap();
        assert!(
            hint.contains("restic, pgbackrest, initdb, pg_ctl, postgres, redis-server, redis-cli"),
            "{hint}"
        );
        assert!(
            hint.contains(
                "apt-get install restic pgbackrest postgresql-15 redis-server redis-tools"
            ),
            "{hint}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn finds_executables_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let restic = dir.path().join("restic");
        std::fs::write(&restic, "#!/bin/sh\n").unwrap();
        std::fs::write(dir.path().join("pgbackrest"), "not executable").unwrap();
        std::fs::set_permissions(&restic, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tb = Toolbox::discover_in(&[dir.path().to_path_buf()]);
        assert_eq!(tb.path("restic"), Some(restic.as_path()));
        assert_eq!(tb.path("pgbackrest"), None);
    }

    #[test]
    fn postgres_major_from_its_version_line() {
        assert_eq!(
            parse_postgres_major("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(
            parse_postgres_major("postgres (PostgreSQL) 9.6.24"),
            Some(9)
        );
        assert_eq!(parse_postgres_major("nonsense"), None);
    }
}
