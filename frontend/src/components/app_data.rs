//! What a backup holds of the apps' own data, in words, from its manifest's components
//! (`app/<name>/postgres|redis|files`, `workspace/<name>/files`): each app's parts with
//! their sizes, and the whole of it.

use lifeboat_shared::backup::{BackupManifest, Component};

use crate::format;

/// The part of an app a component holds, in words: `Postgres`, `Redis` or `files`.
fn part(c: &Component) -> &'static str {
    if c.name.ends_with("/postgres") {
        "Postgres"
    } else if c.name.ends_with("/redis") {
        "Redis"
    } else {
        "files"
    }
}

/// The apps whose data backup `b` holds, once each, in the manifest's order (by name: the
/// backend lists the parts sorted). [`BackupManifest::apps`] sorts them again, which links
/// a sort of its own into the bundle.
pub fn app_names(b: &BackupManifest) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for app in b.components.iter().filter_map(Component::app) {
        if !names.contains(&app) {
            names.push(app);
        }
    }
    names
}

/// What backup `b` holds of app `app`, with sizes: `Postgres 1.2 MiB · Redis 30.0 KiB ·
/// files 2.0 MiB`.
pub fn app_parts(b: &BackupManifest, app: &str) -> String {
    let mut out = String::new();
    for c in b.components.iter().filter(|c| c.app() == Some(app)) {
        if !out.is_empty() {
            out.push_str(" · ");
        }
        out.push_str(part(c));
        out.push(' ');
        out.push_str(&format::bytes(c.size_bytes));
    }
    out
}

/// How many apps' data backup `b` holds, and the bytes of every app's and workspace's data.
pub fn apps_data(b: &BackupManifest) -> (usize, u64) {
    let bytes = b
        .components
        .iter()
        .filter(|c| c.app().is_some() || c.workspace().is_some())
        .map(|c| c.size_bytes)
        .sum();
    (app_names(b).len(), bytes)
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::backup::SourceInstance;
    use lifeboat_shared::operation::Trigger;

    use super::*;

    fn component(name: &str, size_bytes: u64) -> Component {
        Component {
            name: name.into(),
            snapshot_id: "s".into(),
            pgbackrest_label: None,
            size_bytes,
            path: None,
            method: None,
            duration_ms: None,
        }
    }

    fn backup(components: Vec<Component>) -> BackupManifest {
        BackupManifest {
            backup_type: Default::default(),
            depends_on: None,
            id: "bk-1".into(),
            started_at: String::new(),
            finished_at: String::new(),
            trigger: Trigger::Scheduled,
            description: String::new(),
            source: SourceInstance {
                instance_id: "i".into(),
                namespace: "dash".into(),
            },
            platform_version: String::new(),
            lifeboat_version: String::new(),
            postgres_major: 15,
            components,
            bytes_added: 0,
            size_bytes: 0,
            encrypted: false,
            key_fingerprint: None,
            counts: Default::default(),
            wal_until: None,
            consistent_at: None,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn each_app_says_what_it_has_and_the_whole_is_counted() {
        let b = backup(vec![
            component("postgres", 50_000_000),
            component("configuration", 2_000),
            component("app/app-001/postgres", 1536),
            component("app/app-001/redis", 512),
            component("app/app-001/files", 3 * 1024 * 1024),
            component("app/app-005/postgres", 2048),
            component("workspace/ws-1/files", 1024),
        ]);
        assert_eq!(
            app_parts(&b, "app-001"),
            "Postgres 1.5 KiB · Redis 512 B · files 3.0 MiB"
        );
        assert_eq!(app_parts(&b, "app-005"), "Postgres 2.0 KiB");
        assert_eq!(app_names(&b), ["app-001", "app-005"]);
        assert_eq!(app_parts(&b, "app-0"), "");
        assert_eq!(
            apps_data(&b),
            (2, 1536 + 512 + 3 * 1024 * 1024 + 2048 + 1024)
        );
        let system_only = backup(vec![
            component("postgres", 1),
            component("configuration", 1),
        ]);
        assert_eq!(apps_data(&system_only), (0, 0));
    }
}
