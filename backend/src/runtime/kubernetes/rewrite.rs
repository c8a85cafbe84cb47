//! Moves a saved object to another namespace (pure): `metadata.namespace`, RoleBinding
//! subjects, and every namespace-qualified Service host name (`<service>.<old>.svc…`) in its
//! values (Ingresses, ConfigMaps, env values, custom resources alike).
//!
//! Two of Lifeboat's own references are special: its Service `lifeboat.<old>.svc` becomes the
//! managing Lifeboat's (`lifeboat.<manager>.svc`: the restored namespace archives its WAL to
//! the Lifeboat that restored it), and its staging path `/instances/<old>/` the new
//! namespace's. Any other value that names the old namespace as a word (an external host
//! name such as `dash.<old>.example`) is left alone and reported, for the admin to judge.

use serde_json::Value;

/// The namespaces of a move.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    /// Where the object was saved from.
    pub from: &'a str,
    /// Where it goes.
    pub to: &'a str,
    /// The namespace of the Lifeboat that manages `to`.
    pub manager: &'a str,
}

/// What [`rewrite`] changed and left alone in one object.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// Values changed, as `path: old → new`.
    pub changed: Vec<String>,
    /// Values that name the old namespace but were left alone, as `path: value`.
    pub left: Vec<String>,
}

impl Rewritten {
    /// Whether anything was changed.
    pub fn is_changed(&self) -> bool {
        !self.changed.is_empty()
    }
}

/// Moves `obj` (as the export saved it) to `m.to`.
pub fn rewrite(obj: &mut Value, m: Move<'_>) -> Rewritten {
    let mut out = Rewritten::default();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("namespace".into(), Value::String(m.to.to_owned()));
    }
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if kind == "RoleBinding" {
        for s in obj
            .get_mut("subjects")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if s.get("namespace").and_then(Value::as_str) == Some(m.from) {
                s["namespace"] = Value::String(m.to.to_owned());
                out.changed
                    .push(format!("subjects: namespace {} → {}", m.from, m.to));
            }
        }
    }
    for field in ["spec", "data", "stringData", "rules"] {
        if let Some(v) = obj.get_mut(field) {
            walk(v, field, m, &mut out);
        }
    }
    out
}

fn walk(v: &mut Value, path: &str, m: Move<'_>, out: &mut Rewritten) {
    match v {
        Value::String(s) => {
            let new = rewrite_text(s, m);
            if new != *s {
                out.changed.push(format!("{path}: {s} → {new}"));
                *s = new;
            }
            // The managing Lifeboat's Service is where the value should point.
            let own = format!("lifeboat.{}.svc", m.manager);
            if names_word(&s.replace(&own, ""), m.from) {
                out.left.push(format!("{path}: {s}"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{path}[{i}]"), m, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                walk(item, &format!("{path}.{k}"), m, out);
            }
        }
        _ => {}
    }
}

/// `text` with the old namespace's Service host names and Lifeboat's staging path moved.
pub fn rewrite_text(text: &str, m: Move<'_>) -> String {
    let own = format!("lifeboat.{}.svc", m.from);
    let mut out = text.replace(&own, &format!("lifeboat.\u{0}{}.svc", m.manager));
    out = out.replace(
        &format!("/instances/{}/", m.from),
        &format!("/instances/\u{0}{}/", m.to),
    );
    let needle = format!(".{}.svc", m.from);
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(at) = rest.find(&needle) {
        let (before, after) = rest.split_at(at);
        let after_needle = &after[needle.len()..];
        // A Service host name: a DNS label before, and the name ends or goes on as a domain.
        let label_before = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-');
        let ends = after_needle
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'));
        result.push_str(before);
        if label_before && ends {
            result.push_str(&format!(".{}.svc", m.to));
        } else {
            result.push_str(&needle);
        }
        rest = after_needle;
    }
    result.push_str(rest);
    // The markers keep what was already moved from being matched again.
    result.replace('\u{0}', "")
}

/// Whether `text` has `word` between non-DNS-label characters.
fn names_word(text: &str, word: &str) -> bool {
    let is_label = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_label(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_label(c));
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const M: Move<'static> = Move {
        from: "dash",
        to: "dash-copy",
        manager: "dash",
    };

    #[test]
    fn service_host_names_move_and_lifeboats_own_point_at_the_manager() {
        assert_eq!(
            rewrite_text("postgresql://system-postgres.dash.svc:5432/db", M),
            "postgresql://system-postgres.dash-copy.svc:5432/db"
        );
        assert_eq!(
            rewrite_text("http://keycloak.dash.svc.cluster.local/auth", M),
            "http://keycloak.dash-copy.svc.cluster.local/auth"
        );
        assert_eq!(rewrite_text("lifeboat.dash.svc", M), "lifeboat.dash.svc");
        let other = Move {
            manager: "ops",
            ..M
        };
        assert_eq!(rewrite_text("lifeboat.dash.svc", other), "lifeboat.ops.svc");
        assert_eq!(
            rewrite_text("/var/lib/lifeboat/instances/dash/staging/pgbackrest", M),
            "/var/lib/lifeboat/instances/dash-copy/staging/pgbackrest"
        );
        // Not a Service host name: left as it is.
        assert_eq!(rewrite_text("x.dash.svcs", M), "x.dash.svcs");
        assert_eq!(rewrite_text("dash.example", M), "dash.example");
    }

    #[test]
    fn a_namespace_moved_to_a_longer_name_containing_the_old_one_is_moved_once() {
        let m = Move {
            from: "dash",
            to: "dash.dash",
            manager: "dash",
        };
        assert_eq!(rewrite_text("a.dash.svc", m), "a.dash.dash.svc");
    }

    #[test]
    fn objects_move_with_their_subjects_and_report_what_is_left() {
        let mut rb = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "app-manager", "namespace": "dash"},
            "roleRef": {"kind": "Role", "name": "app-manager"},
            "subjects": [{"kind": "ServiceAccount", "name": "app-manager", "namespace": "dash"},
                         {"kind": "ServiceAccount", "name": "x", "namespace": "other"}]
        });
        let r = rewrite(&mut rb, M);
        assert_eq!(rb["metadata"]["namespace"], "dash-copy");
        assert_eq!(rb["subjects"][0]["namespace"], "dash-copy");
        assert_eq!(rb["subjects"][1]["namespace"], "other");
        assert_eq!(r.changed.len(), 1);

        let mut cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dash-platform", "namespace": "dash"},
            "data": {"platform.yaml": "database_host: system-postgres.dash.svc\nhost: dash.dash.example\n"}
        });
        let r = rewrite(&mut cm, M);
        assert_eq!(
            cm["data"]["platform.yaml"],
            "database_host: system-postgres.dash-copy.svc\nhost: dash.dash.example\n"
        );
        assert!(r.is_changed());
        assert_eq!(r.left.len(), 1, "{r:?}");
        assert!(r.left[0].starts_with("data.platform.yaml"), "{r:?}");
    }
}
