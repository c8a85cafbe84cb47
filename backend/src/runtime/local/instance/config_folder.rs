//! The configuration folder of a local instance: exported for a backup, replaced by a
//! restore (with the namespace rewritten when the target is another one).

use std::path::Path;

use crate::runtime::host::files::copy_dir;

/// Copies the live folder to `to` (replacing what was there); returns (files, bytes).
pub fn export(live: &Path, to: &Path) -> std::io::Result<(u64, u64)> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    copy_dir(live, to)
}

/// Replaces the live folder with a copy of `from`, rewriting `namespace:` lines when
/// `rewrite` names (source, target). The swap is two renames: a reader sees the old or the
/// new folder. Returns (files, bytes, files rewritten).
pub fn replace(
    live: &Path,
    from: &Path,
    rewrite: Option<(&str, &str)>,
) -> std::io::Result<(u64, u64, u64)> {
    let parent = live.parent().unwrap_or(Path::new("."));
    let incoming = parent.join("config.restoring");
    let old = parent.join("config.replaced");
    for p in [&incoming, &old] {
        if p.exists() {
            std::fs::remove_dir_all(p)?;
        }
    }
    let (files, bytes) = copy_dir(from, &incoming)?;
    let rewritten = match rewrite {
        Some((source, target)) if source != target => rewrite_namespace(&incoming, source, target)?,
        _ => 0,
    };
    if live.exists() {
        std::fs::rename(live, &old)?;
    }
    std::fs::rename(&incoming, live)?;
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok((files, bytes, rewritten))
}

/// Rewrites `namespace: <from>` lines (a resource's namespace) to `<to>` in every YAML file
/// below `dir`; returns how many files changed. Nothing else is touched: host names and
/// data belong to the admin.
pub fn rewrite_namespace(dir: &Path, from: &str, to: &str) -> std::io::Result<u64> {
    let mut changed = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        if e.file_type()?.is_dir() {
            changed += rewrite_namespace(&path, from, to)?;
            continue;
        }
        if !matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("yaml" | "yml")
        ) {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let new = rewrite_namespace_text(&text, from, to);
        if new != text {
            std::fs::write(&path, new)?;
            changed += 1;
        }
    }
    Ok(changed)
}

fn rewrite_namespace_text(text: &str, from: &str, to: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let body = line.trim_end_matches(['\n', '\r']);
            let indent = &body[..body.len() - body.trim_start().len()];
            match body.trim_start().strip_prefix("namespace:") {
                Some(v) if matches!(v.trim(), x if x == from || x == format!("\"{from}\"")) => {
                    format!("{indent}namespace: {to}{}", &line[body.len()..])
                }
                _ => line.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_resource_namespaces_are_rewritten() {
        let yaml = "metadata:\n  name: dash\n  namespace: demo\ndata:\n  baseDomain: demo.example.com\n  note: \"namespace: demo\"\n  namespace: \"demo\"\n  namespace: other\n";
        let out = rewrite_namespace_text(yaml, "demo", "dash-2");
        assert_eq!(
            out,
            "metadata:\n  name: dash\n  namespace: dash-2\ndata:\n  baseDomain: demo.example.com\n  note: \"namespace: demo\"\n  namespace: dash-2\n  namespace: other\n"
        );
        assert_eq!(
            rewrite_namespace_text("namespace: demo", "demo", "x"),
            "namespace: x"
        );
    }

    #[test]
    fn replace_swaps_the_folder_and_rewrites_only_for_another_namespace() {
        let d = tempfile::tempdir().unwrap();
        let (live, from) = (d.path().join("config"), d.path().join("fetched"));
        std::fs::create_dir_all(&live).unwrap();
        std::fs::write(live.join("gone.yaml"), "x").unwrap();
        std::fs::create_dir_all(from.join("apps")).unwrap();
        std::fs::write(from.join("apps/a.yaml"), "metadata:\n  namespace: demo\n").unwrap();
        assert_eq!(replace(&live, &from, Some(("demo", "demo"))).unwrap().2, 0);
        assert!(!live.join("gone.yaml").exists());
        assert_eq!(
            replace(&live, &from, Some(("demo", "x"))).unwrap(),
            (1, 28, 1)
        );
        assert_eq!(
            std::fs::read_to_string(live.join("apps/a.yaml")).unwrap(),
            "metadata:\n  namespace: x\n"
        );
    }
}
