//! The demo data: a Keycloak-like database (realms, users, groups, memberships, identity
//! providers, clients, credentials, attributes: a few thousand rows) and an App Manager-like
//! one (apps, workspaces), plus the YAML files standing in for the namespace's configuration.
//! Deterministic, so tests can count rows.

use std::path::Path;

/// Users in the `dash` realm (plus one admin in `master`).
pub const USERS: u32 = 3000;
/// Apps in App Manager.
pub const APPS: u32 = 25;

/// The seed script (psql; creates the databases, then fills them). `seed.sql` holds it,
/// with `{namespace}`, `{USERS}` and `{APPS}` to fill in.
pub const SQL_TEMPLATE: &str = include_str!("seed.sql");

/// The seed script for `namespace` without the Keycloak-like database, for an instance
/// whose real Keycloak creates its own schema: `keycloak_database` (its role and empty
/// database) stands in its place.
pub fn sql_with_keycloak(namespace: &str, keycloak_database: &str) -> String {
    with_keycloak(&sql(namespace), keycloak_database)
}

/// `script` (a filled-in [`SQL_TEMPLATE`]) with `keycloak_database` in place of the
/// Keycloak-like database (the Kubernetes test harness fills in smaller sizes).
pub fn with_keycloak(script: &str, keycloak_database: &str) -> String {
    let (Some(kc), Some(app)) = (
        script.find("\\connect keycloak"),
        script.find("\\connect appmanager"),
    ) else {
        return script.to_owned();
    };
    format!(
        "{}{keycloak_database}{}",
        script[..kc].replace("CREATE DATABASE keycloak;\n", ""),
        &script[app..]
    )
}

/// The seed script for `namespace`.
pub fn sql(namespace: &str) -> String {
    SQL_TEMPLATE
        .replace("{namespace}", namespace)
        .replace("{USERS}", &USERS.to_string())
        .replace("{APPS}", &APPS.to_string())
}

/// Writes the configuration folder's files that are missing (an admin's edits are kept).
pub fn write_config_folder(dir: &Path, namespace: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("apps"))?;
    let files = [
        (
            "platform.yaml".to_owned(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dash-platform\n  namespace: {namespace}\ndata:\n  version: \"5.4.0\"\n  baseDomain: {namespace}.example.com\n  licenseSeats: \"250\"\n"
            ),
        ),
        (
            "keycloak.yaml".to_owned(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keycloak\n  namespace: {namespace}\ndata:\n  realm: dash\n  database: keycloak\n  frontendUrl: https://auth.{namespace}.example.com\n"
            ),
        ),
        (
            "app-manager.yaml".to_owned(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-manager\n  namespace: {namespace}\ndata:\n  database: appmanager\n  defaultResources: |\n    cpu: 500m\n    memory: 1Gi\n"
            ),
        ),
        (
            "ingress.yaml".to_owned(),
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: dash\n  namespace: {namespace}\nspec:\n  rules:\n    - host: {namespace}.example.com\n"
            ),
        ),
        (
            "apps/app-001.yaml".to_owned(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-001-env\n  namespace: {namespace}\ndata:\n  DASH_DEBUG: \"false\"\n  WORKERS: \"4\"\n"
            ),
        ),
    ];
    for (name, content) in files {
        let path = dir.join(name);
        if !path.exists() {
            std::fs::write(path, content)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_names_the_namespace_and_both_databases() {
        let s = sql("team-a");
        assert!(s.contains("CREATE DATABASE keycloak;"));
        assert!(s.contains("\\connect appmanager"));
        assert!(s.contains("Dash Enterprise (team-a)"));
        let d = tempfile::tempdir().unwrap();
        write_config_folder(d.path(), "team-a").unwrap();
        std::fs::write(d.path().join("platform.yaml"), "edited").unwrap();
        write_config_folder(d.path(), "team-a").unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("platform.yaml")).unwrap(),
            "edited"
        );
        let real = sql_with_keycloak("team-a", "CREATE DATABASE keycloak OWNER keycloak;\n");
        assert!(!real.contains("CREATE TABLE realm"), "{real}");
        assert!(real.contains("CREATE DATABASE keycloak OWNER keycloak;"));
        assert!(
            real.contains("\\connect appmanager") && real.contains("CREATE DATABASE appmanager;")
        );
        assert!(
            std::fs::read_to_string(d.path().join("ingress.yaml"))
                .unwrap()
                .contains("team-a")
        );
    }
}
