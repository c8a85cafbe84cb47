//! The apps' data services of a namespace, as its `DashApp` objects name them
//! (`spec.services`): the app-data Postgres Service and the app's database, its Redis
//! (Service, Deployment, claim), its files' claim, its workspace and that workspace's claim.

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use lifeboat_shared::backup::{AppFiles, AppInfo, AppPostgres, AppRedis, WorkspaceInfo};
use serde::Deserialize;

/// Postgres' port on the app-data Service.
pub const POSTGRES_PORT: u16 = 5432;
/// Redis' port on an app's Redis Service.
pub const REDIS_PORT: u16 = 6379;

/// One `DashApp`'s services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Services {
    /// A database on the app-data Postgres.
    pub postgres: Option<PostgresRef>,
    /// A Redis of its own.
    pub redis: Option<RedisRef>,
    /// A persistent filesystem.
    pub files: Option<ClaimRef>,
    /// Its workspace.
    pub workspace: Option<WorkspaceRef>,
}

/// Where an app's database is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PostgresRef {
    /// The app-data Postgres' Service.
    pub service: String,
    /// The database.
    pub database: String,
}

/// An app's Redis.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RedisRef {
    /// Its Service.
    pub service: String,
    /// The Deployment that runs it (stopped and started around a restore).
    pub deployment: String,
    /// The claim its RDB lives on.
    pub claim: String,
}

/// A claim.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClaimRef {
    /// Its name.
    pub claim: String,
}

/// A workspace and its claim.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WorkspaceRef {
    /// The workspace's name.
    pub name: String,
    /// Its files' claim.
    pub claim: String,
}

/// One app with its services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashAppServices {
    /// The app's name (the `DashApp`'s).
    pub name: String,
    /// What it names.
    pub services: Services,
}

/// The `DashApp` kind.
fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("platform.dash.example", "v1", "DashApp"),
        "dashapps",
    )
}

/// Every `DashApp` of `namespace` that names a service, sorted by name. A namespace
/// without the kind has none.
pub async fn list(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<DashAppServices>, kube::Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource());
    let objects = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut apps: Vec<DashAppServices> = objects.iter().filter_map(parse).collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(apps)
}

/// A `DashApp`'s services, `None` when it names none (or they do not parse: logged).
pub fn parse(obj: &DynamicObject) -> Option<DashAppServices> {
    let name = obj.metadata.name.clone()?;
    let value = obj.data.get("spec")?.get("services")?.clone();
    match serde_json::from_value::<Services>(value) {
        Ok(services) if services != Services::default() => Some(DashAppServices { name, services }),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(app = %name, error = %e, "a DashApp's services could not be read");
            None
        }
    }
}

/// What `GET /api/v1/instance` lists: the apps with a service of their own and the
/// workspaces, each with how it is reached in `namespace`.
pub fn listing(apps: &[DashAppServices], namespace: &str) -> (Vec<AppInfo>, Vec<WorkspaceInfo>) {
    let host = |service: &str| Some(format!("{service}.{namespace}.svc"));
    let mut infos = Vec::new();
    let mut workspaces = Vec::new();
    for app in apps {
        let s = &app.services;
        if let Some(w) = &s.workspace {
            workspaces.push(WorkspaceInfo {
                name: w.name.clone(),
                files: AppFiles {
                    folder: None,
                    claim: Some(w.claim.clone()),
                },
            });
        }
        if s.postgres.is_none() && s.redis.is_none() && s.files.is_none() {
            continue;
        }
        infos.push(AppInfo {
            name: app.name.clone(),
            postgres: s.postgres.as_ref().map(|p| AppPostgres {
                database: p.database.clone(),
                port: Some(POSTGRES_PORT),
                host: host(&p.service),
            }),
            redis: s.redis.as_ref().map(|r| AppRedis {
                port: Some(REDIS_PORT),
                host: host(&r.service),
            }),
            files: s.files.as_ref().map(|f| AppFiles {
                folder: None,
                claim: Some(f.claim.clone()),
            }),
        });
    }
    workspaces.sort_by(|a, b| a.name.cmp(&b.name));
    (infos, workspaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str, spec: serde_json::Value) -> DynamicObject {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "platform.dash.example/v1", "kind": "DashApp",
            "metadata": {"name": name, "namespace": "dash"}, "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn services_are_read_from_the_spec() {
        let full = obj(
            "app-001",
            serde_json::json!({"repository": "r", "services": {
                "postgres": {"service": "app-postgres", "database": "app-001"},
                "redis": {"service": "app-001-redis", "deployment": "app-001-redis", "claim": "app-001-redis"},
                "files": {"claim": "app-001-files"},
                "workspace": {"name": "ws-app-001", "claim": "ws-app-001-files"}}}),
        );
        let none = obj("sales", serde_json::json!({"repository": "r"}));
        let ws_only = obj(
            "app-002",
            serde_json::json!({"repository": "r", "services": {
                "workspace": {"name": "ws-app-002", "claim": "ws-app-002-files"}}}),
        );
        let bad = obj(
            "app-003",
            serde_json::json!({"repository": "r", "services": {"redis": {"service": 7}}}),
        );
        assert!(parse(&none).is_none());
        assert!(parse(&bad).is_none());
        let apps: Vec<_> = [full, ws_only].iter().filter_map(parse).collect();
        let (infos, workspaces) = listing(&apps, "dash");
        assert_eq!(infos.len(), 1, "a workspace alone is not an app with data");
        let a = &infos[0];
        assert_eq!(
            a.postgres.as_ref().unwrap().host.as_deref(),
            Some("app-postgres.dash.svc")
        );
        assert_eq!(a.redis.as_ref().unwrap().port, Some(6379));
        assert_eq!(
            a.files.as_ref().unwrap().claim.as_deref(),
            Some("app-001-files")
        );
        let names: Vec<&str> = workspaces.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["ws-app-001", "ws-app-002"]);
    }
}
