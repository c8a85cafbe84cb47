//! Apps' and workspaces' own data as a backup names it: which parts there are
//! ([`AppPart`]), what each is called in a manifest (`app/<name>/postgres`, …), and where it
//! lies in the apps' snapshot. Pure: no IO.
//!
//! The apps' snapshot is one restic snapshot of an instance's app-data place
//! ([`crate::command::Volume::AppData`]):
//!
//! | path | what |
//! |---|---|
//! | `dumps/<app>/postgres.dump` | the app's database, `pg_dump -Fc` |
//! | `dumps/<app>/redis.rdb` | the app's Redis, a point-in-time RDB (`redis-cli --rdb`) |
//! | `files/apps/<app>/` | the app's persistent filesystem, read where it lives |
//! | `files/workspaces/<workspace>/` | a workspace's files, read where they live |

use lifeboat_shared::backup::{AppInfo, WorkspaceInfo};

/// Whose data a part is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// An app's, by name.
    App(String),
    /// A workspace's, by name.
    Workspace(String),
}

/// What kind of data a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartKind {
    /// A managed Postgres database.
    Postgres,
    /// A managed Redis.
    Redis,
    /// A persistent filesystem (an app's volume, a workspace's files).
    Files,
}

/// One part of an app's or workspace's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppPart {
    /// Whose it is.
    pub owner: Owner,
    /// What it is.
    pub kind: PartKind,
}

impl AppPart {
    /// An app's part.
    pub fn app(name: &str, kind: PartKind) -> Self {
        Self {
            owner: Owner::App(name.to_owned()),
            kind,
        }
    }

    /// A workspace's files.
    pub fn workspace(name: &str) -> Self {
        Self {
            owner: Owner::Workspace(name.to_owned()),
            kind: PartKind::Files,
        }
    }

    /// The app's or workspace's name.
    pub fn name(&self) -> &str {
        match &self.owner {
            Owner::App(n) | Owner::Workspace(n) => n,
        }
    }

    /// The app's name, when it is an app's.
    pub fn app_name(&self) -> Option<&str> {
        match &self.owner {
            Owner::App(n) => Some(n),
            Owner::Workspace(_) => None,
        }
    }

    /// Its component name in a manifest: `app/<name>/postgres`, `app/<name>/redis`,
    /// `app/<name>/files`, `workspace/<name>/files`.
    pub fn component(&self) -> String {
        match (&self.owner, self.kind) {
            (Owner::App(n), PartKind::Postgres) => format!("app/{n}/postgres"),
            (Owner::App(n), PartKind::Redis) => format!("app/{n}/redis"),
            (Owner::App(n), PartKind::Files) => format!("app/{n}/files"),
            (Owner::Workspace(n), _) => format!("workspace/{n}/files"),
        }
    }

    /// The part a component name names, if it names one (a name that is not a DNS-1123
    /// label is none: it becomes a path).
    pub fn parse(component: &str) -> Option<Self> {
        let mut it = component.split('/');
        let (who, name, what) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || !crate::secrets::is_dns1123_label(name) {
            return None;
        }
        match (who, what) {
            ("app", "postgres") => Some(Self::app(name, PartKind::Postgres)),
            ("app", "redis") => Some(Self::app(name, PartKind::Redis)),
            ("app", "files") => Some(Self::app(name, PartKind::Files)),
            ("workspace", "files") => Some(Self::workspace(name)),
            _ => None,
        }
    }

    /// Where it lies in the apps' snapshot (and in the app-data place).
    pub fn path(&self) -> String {
        match (&self.owner, self.kind) {
            (Owner::App(n), PartKind::Postgres) => format!("dumps/{n}/postgres.dump"),
            (Owner::App(n), PartKind::Redis) => format!("dumps/{n}/redis.rdb"),
            (Owner::App(n), PartKind::Files) => format!("files/apps/{n}"),
            (Owner::Workspace(n), _) => format!("files/workspaces/{n}"),
        }
    }

    /// How a backup takes it.
    pub fn method(&self) -> &'static str {
        match self.kind {
            PartKind::Postgres => "pg_dump -Fc",
            PartKind::Redis => "redis-cli --rdb",
            PartKind::Files => "restic",
        }
    }

    /// What it is, in words (`app-001's Postgres`).
    pub fn describe(&self) -> String {
        match (&self.owner, self.kind) {
            (Owner::App(n), PartKind::Postgres) => format!("{n}'s Postgres"),
            (Owner::App(n), PartKind::Redis) => format!("{n}'s Redis"),
            (Owner::App(n), PartKind::Files) => format!("{n}'s files"),
            (Owner::Workspace(n), _) => format!("workspace {n}'s files"),
        }
    }
}

/// Every part of the apps' and workspaces' data listed, in a stable order.
pub fn parts(apps: &[AppInfo], workspaces: &[WorkspaceInfo]) -> Vec<AppPart> {
    let mut parts = Vec::new();
    for a in apps {
        if a.postgres.is_some() {
            parts.push(AppPart::app(&a.name, PartKind::Postgres));
        }
        if a.redis.is_some() {
            parts.push(AppPart::app(&a.name, PartKind::Redis));
        }
        if a.files.is_some() {
            parts.push(AppPart::app(&a.name, PartKind::Files));
        }
    }
    parts.extend(workspaces.iter().map(|w| AppPart::workspace(&w.name)));
    parts.sort();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_shared::backup::{AppFiles, AppPostgres};

    #[test]
    fn component_names_and_paths_round_trip() {
        for p in [
            AppPart::app("app-001", PartKind::Postgres),
            AppPart::app("app-001", PartKind::Redis),
            AppPart::app("app-001", PartKind::Files),
            AppPart::workspace("ws-app-002"),
        ] {
            assert_eq!(AppPart::parse(&p.component()), Some(p.clone()));
        }
        assert_eq!(
            AppPart::app("a", PartKind::Redis).path(),
            "dumps/a/redis.rdb"
        );
        assert_eq!(AppPart::workspace("w").path(), "files/workspaces/w");
        for bad in [
            "postgres",
            "app/x",
            "app/x/mysql",
            "app/../postgres",
            "app/X/files",
            "workspace/w/redis",
            "app/x/files/more",
        ] {
            assert_eq!(AppPart::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parts_lists_what_each_app_has() {
        let apps = vec![
            AppInfo {
                name: "b".into(),
                postgres: None,
                redis: None,
                files: Some(AppFiles {
                    folder: None,
                    claim: None,
                }),
            },
            AppInfo {
                name: "a".into(),
                postgres: Some(AppPostgres {
                    database: "a".into(),
                    port: None,
                    host: None,
                }),
                redis: None,
                files: None,
            },
        ];
        let names: Vec<String> = parts(&apps, &[]).iter().map(AppPart::component).collect();
        assert_eq!(names, ["app/a/postgres", "app/b/files"]);
    }
}
