//! The demo's apps' data, written once when the demo instance is first laid out:
//! deterministic, so tests can count and compare it. An app's database gets a table of
//! orders, its Redis some keys (a few with a time to live), its persistent filesystem and
//! each workspace a few files of different modes.

use std::os::unix::fs::PermissionsExt as _;

use super::apps::AppServices;
use super::layout::io;
use crate::runtime::{AppPart, InstanceError, PartKind};

/// Rows in each app's `orders` table.
pub const ORDERS: u32 = 1000;
/// Keys in each app's Redis.
pub const KEYS: u32 = 200;

/// The SQL that fills `app`'s database: a table of [`ORDERS`] orders, owned by its role.
pub fn orders_sql(app: &str) -> String {
    format!(
        "CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, \
         total numeric(10,2) NOT NULL, placed_at timestamptz NOT NULL);\n\
         INSERT INTO orders SELECT i, 'customer-' || (i % 97), (i * 7 % 1000) / 10.0, \
         timestamptz '2026-03-01 00:00:00+00' + i * interval '1 minute' \
         FROM generate_series(1, {ORDERS}) AS i;\n\
         ALTER TABLE orders OWNER TO \"{app}\";\n"
    )
}

/// The Redis commands (one per line, as `redis-cli` reads them) that fill `app`'s Redis:
/// [`KEYS`] strings, one in ten with a day to live, a hash and a list.
pub fn redis_script(app: &str) -> String {
    let mut script = String::new();
    for i in 1..=KEYS {
        if i % 10 == 0 {
            script.push_str(&format!("SET {app}:session:{i} token-{i} EX 86400\n"));
        } else {
            script.push_str(&format!("SET {app}:key:{i} value-{i}\n"));
        }
    }
    script.push_str(&format!("HSET {app}:profile name {app} plan team\n"));
    script.push_str(&format!("RPUSH {app}:queue a b c\n"));
    script
}

/// The files of `part` (an app's or a workspace's): path below its folder, content, mode.
pub fn files(part: &AppPart) -> Vec<(String, String, u32)> {
    let app = part.name();
    if part.app_name().is_some() {
        vec![
            (
                "data/report-1.csv".into(),
                "id,total\n1,10.5\n".into(),
                0o644,
            ),
            (
                "data/report-2.csv".into(),
                "id,total\n2,11.0\n".repeat(40),
                0o644,
            ),
            ("bin/run.sh".into(), "#!/bin/sh\necho run\n".into(), 0o755),
            ("secret.key".into(), format!("{app}-key\n"), 0o600),
        ]
    } else {
        vec![
            ("app.py".into(), format!("# {app}\nimport dash\n"), 0o644),
            ("requirements.txt".into(), "dash==2.18.2\n".into(), 0o644),
        ]
    }
}

/// Writes `part`'s [`files`] below `root`, with their modes.
pub fn write_files(part: &AppPart, root: &std::path::Path) -> Result<(), InstanceError> {
    for (rel, content, mode) in files(part) {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
        }
        std::fs::write(&path, content).map_err(io("cannot write", &path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(io("cannot set permissions on", &path))?;
    }
    Ok(())
}

/// Seeds `part` (its service exists and runs).
pub async fn seed(services: &AppServices, part: &AppPart) -> Result<(), InstanceError> {
    let app = part.name();
    match part.kind {
        PartKind::Postgres => {
            let sql = orders_sql(app);
            let cmd = services.psql().command(app, &["-q", "-c", &sql]);
            services.runner().run_ok(cmd, "app seed").await?;
            Ok(())
        }
        PartKind::Redis => {
            let server = services.redis_of(app).await?;
            server.pipe(&redis_script(app)).await
        }
        PartKind::Files => write_files(part, &services.files_folder(part)),
    }
}
