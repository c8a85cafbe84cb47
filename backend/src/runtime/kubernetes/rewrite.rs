//! Moves a saved object to another namespace (pure): `metadata.namespace`, RoleBinding
//! subjects, and every namespace-qualified Service host name (`<service>.<old>.svc…`) in its
//! values (Ingresses, ConfigMaps, env values, custom resources alike).
//!
//! Two of Lifeboat's own references are special: its Service `lifeboat.<old>.svc` becomes the
//! managing Lifeboat's (`lifeboat.<manager>.svc`: the restored namespace archives its WAL to
//! the Lifeboat that restored it), and its staging path `…/lifeboat/instances/<old>/` the new
//! namespace's. Any other value that names the old namespace as a word (an external host
//! name such as `dash.<old>.example`) is left alone and reported, for the admin to judge.
//!
//! A Secret's values are decoded, moved and encoded again; reports name where (the path),
//! never a Secret's value, and of other values only a short excerpt.

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
        // Annotations and labels are scanned as the spec is: a disaster-recovery copy
        // must not point at the source's Services through them either.
        for field in ["annotations", "labels"] {
            if let Some(v) = meta.get_mut(field) {
                walk(v, &format!("metadata.{field}"), m, &mut out);
            }
        }
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
                out.changed.push("subjects".into());
            }
        }
    }
    if kind == "Secret" {
        if let Some(data) = obj.get_mut("data").and_then(Value::as_object_mut) {
            for (key, v) in data.iter_mut() {
                secret_value(v, &format!("data.{key}"), m, &mut out);
            }
        }
        if let Some(data) = obj.get_mut("stringData").and_then(Value::as_object_mut) {
            for (key, v) in data.iter_mut() {
                if let Value::String(text) = v {
                    let new = rewrite_text(text, m);
                    report(text, &new, &format!("stringData.{key}"), m, &mut out, false);
                    *text = new;
                }
            }
        }
        return out;
    }
    for field in ["spec", "data", "rules", "webhooks"] {
        if let Some(v) = obj.get_mut(field) {
            walk(v, field, m, &mut out);
        }
    }
    out
}

/// A Secret's base64 value, moved when it is text; never shown in a report.
fn secret_value(v: &mut Value, path: &str, m: Move<'_>, out: &mut Rewritten) {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let Some(text) = v
        .as_str()
        .and_then(|b| engine.decode(b).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return;
    };
    let new = rewrite_text(&text, m);
    report(&text, &new, path, m, out, false);
    if new != text {
        *v = Value::String(engine.encode(new.as_bytes()));
    }
}

fn walk(v: &mut Value, path: &str, m: Move<'_>, out: &mut Rewritten) {
    match v {
        Value::String(s) => {
            let new = rewrite_text(s, m);
            report(s, &new, path, m, out, true);
            *s = new;
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

/// Records that `path` changed, and that its new value still names the old namespace (with
/// an excerpt around it when `show` allows).
fn report(old: &str, new: &str, path: &str, m: Move<'_>, out: &mut Rewritten, show: bool) {
    if new != old {
        out.changed.push(path.to_owned());
    }
    // The managing Lifeboat's Service is where such a value should point.
    let own = format!("lifeboat.{}.svc", m.manager);
    let rest = new.replace(&own, "");
    if let Some(at) = find_word(&rest, m.from) {
        if show {
            out.left
                .push(format!("{path}: {}", excerpt(&rest, at, m.from.len())));
        } else {
            out.left
                .push(format!("{path} (a Secret's value, not shown)"));
        }
    }
}

/// Up to 24 characters either side of `text[at..at + len]`, on one line.
fn excerpt(text: &str, at: usize, len: usize) -> String {
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(23)
        .map_or(0, |(i, _)| i);
    let end = text[at + len..]
        .char_indices()
        .nth(24)
        .map_or(text.len(), |(i, _)| at + len + i);
    let mut s = text[start..end].replace('\n', " ");
    if start > 0 {
        s.insert(0, '…');
    }
    if end < text.len() {
        s.push('…');
    }
    s
}

fn is_label(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// `text` with the old namespace's Service host names and Lifeboat's staging path moved.
pub fn rewrite_text(text: &str, m: Move<'_>) -> String {
    let needle = format!(".{}.svc", m.from);
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find(&needle) {
        let at = from + found;
        let end = at + needle.len();
        from = end;
        // A Service host name: a DNS label before, and the name ends or goes on as a domain.
        let label_start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_label(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let ends = text[end..].chars().next().is_none_or(|c| !is_label(c));
        if label_start == at || !ends {
            continue;
        }
        let label = &text[label_start..at];
        let boundary = text[..label_start]
            .chars()
            .next_back()
            .is_none_or(|c| c != '.');
        let target = if label == "lifeboat" && boundary {
            m.manager
        } else {
            m.to
        };
        out.push_str(&text[done..at]);
        out.push_str(&format!(".{target}.svc"));
        done = end;
    }
    out.push_str(&text[done..]);
    out.replace(
        &format!("/lifeboat/instances/{}/", m.from),
        &format!("/lifeboat/instances/{}/", m.to),
    )
}

/// Where `text` has `word` between non-DNS-label characters.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(word) {
        let start = from + found;
        let end = start + word.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_label(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_label(c));
        if before_ok && after_ok {
            return Some(start);
        }
        from = end;
    }
    None
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
    fn only_lifeboats_own_service_goes_to_the_manager() {
        let other = Move {
            manager: "ops",
            ..M
        };
        assert_eq!(
            rewrite_text("my-lifeboat.dash.svc lifeboat.dash.svc", other),
            "my-lifeboat.dash-copy.svc lifeboat.ops.svc"
        );
        // A NUL already in a value stays.
        assert_eq!(rewrite_text("a\u{0}b", M), "a\u{0}b");
        // Only Lifeboat's own staging path moves.
        assert_eq!(
            rewrite_text("/data/instances/dash/x", M),
            "/data/instances/dash/x"
        );
    }

    #[test]
    fn a_secrets_values_move_and_are_never_reported() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "dash"},
            "data": {"url": b64("postgresql://system-postgres.dash.svc/db"),
                     "host": b64("dash.dash.example"), "bin": "AP8A"}
        });
        let r = rewrite(&mut secret, M);
        assert_eq!(
            secret["data"]["url"],
            b64("postgresql://system-postgres.dash-copy.svc/db")
        );
        assert_eq!(secret["data"]["bin"], "AP8A", "not text: left as it is");
        assert_eq!(r.changed, ["data.url"]);
        assert_eq!(r.left, ["data.host (a Secret's value, not shown)"]);
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
        let mut deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "dash",
                         "annotations": {"dash.example/upstream": "http://app-manager.dash.svc:8080",
                                         "dash.example/owner": "team dash"},
                         "labels": {"dash.example/tier": "dash"}},
            "spec": {"replicas": 2}
        });
        let moved = rewrite(&mut deployment, M);
        assert_eq!(
            deployment["metadata"]["annotations"]["dash.example/upstream"],
            "http://app-manager.dash-copy.svc:8080"
        );
        assert_eq!(
            moved.changed,
            ["metadata.annotations.dash.example/upstream"]
        );
        assert_eq!(
            moved.left,
            [
                "metadata.annotations.dash.example/owner: team dash",
                "metadata.labels.dash.example/tier: dash"
            ],
            "every annotation and label is rewritten or reported"
        );
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
        assert_eq!(
            r.left,
            ["data.platform.yaml: …res.dash-copy.svc host: dash.dash.example "],
            "an excerpt, on one line"
        );
    }
}
