//! Applies a backup's platform configuration (the `config/` folder the export wrote) to a
//! namespace with server-side apply, in the export's order (custom resource definitions and
//! namespaces, then RBAC, Secrets and ConfigMaps, claims, Services, workloads, everything
//! else: the rank each folder's name starts with); the objects of one kind several at once.
//!
//! Lifeboat's own objects are left alone (the restore runs in them), and so is a kind the
//! API server no longer serves (its CustomResourceDefinition is gone): both are reported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::{Client, ResourceExt};

use super::objects::strip;
use super::rewrite::{Move, rewrite};
use super::workloads::is_lifeboats_own;

/// The field manager a restore applies as.
pub const FIELD_MANAGER: &str = "lifeboat-restore";

/// Why the configuration could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The folder or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not one object of YAML.
    #[error("{path} is not a Kubernetes object: {reason}")]
    Parse {
        /// Where.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Whether a kind is served could not be asked.
    #[error("cannot ask the API server whether it serves {kind}: {source}")]
    Discovery {
        /// `apiVersion Kind`.
        kind: String,
        /// Why.
        source: kube::Error,
    },
    /// The API server refused an object.
    #[error("cannot apply {object}: {source}")]
    Apply {
        /// `Kind/name`.
        object: String,
        /// Why.
        source: kube::Error,
    },
}

/// What [`apply_dir`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Objects applied.
    pub applied: u64,
    /// Their YAML's size.
    pub bytes: u64,
    /// Objects left alone, each with why (`Deployment/lifeboat: Lifeboat's own`).
    pub skipped: Vec<String>,
    /// Objects moved to another namespace, each with what changed.
    pub rewritten: Vec<String>,
    /// Values that name the old namespace but were left alone, by object.
    pub left: Vec<String>,
    /// Objects whose fields added since the backup (a Secret's new key, a container's new
    /// env var) were removed: server-side apply alone keeps fields other managers own.
    pub put_back: Vec<String>,
    /// Objects of the restored kinds that the namespace holds but the backup does not
    /// (created since it was made), `Kind/name`: left in place and named, since removing
    /// them is the admin's choice.
    pub created_since: Vec<String>,
    /// The replica count each applied Deployment and StatefulSet (`Kind/name`) was saved
    /// with (1 when the backup leaves it unset, as the API server defaults it): what a
    /// restore scales it back to, whatever it had before the restore.
    pub saved_replicas: std::collections::BTreeMap<String, i64>,
}

/// Which of the saved objects to apply, and where.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    /// Only kinds of at most this rank (the Job's prerequisites before the workloads).
    pub max_rank: Option<u8>,
    /// Only the object of this kind and name.
    pub only: Option<(&'a str, &'a str)>,
    /// Move them from the namespace they were saved in.
    pub moving: Option<Move<'a>>,
    /// Apply workloads at 0 replicas, their saved count remembered in
    /// [`super::workloads::REPLICAS_BEFORE`] (for the restore's start step to scale up).
    pub stopped: bool,
}

impl Selection<'_> {
    /// Everything, in place.
    pub const ALL: Selection<'static> = Selection {
        max_rank: None,
        only: None,
        moving: None,
        stopped: false,
    };
}

/// One saved object file, read once.
#[derive(Debug, Clone)]
pub struct SavedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its kind's apply rank ([`super::objects::apply_rank`]).
    pub rank: u8,
    /// The object, as saved.
    pub obj: DynamicObject,
    /// Its file's size.
    pub bytes: u64,
}

impl SavedFile {
    /// Its kind.
    pub fn kind(&self) -> &str {
        self.obj.types.as_ref().map_or("", |t| t.kind.as_str())
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.obj.metadata.name.as_deref().unwrap_or_default()
    }
}

/// Every object file (`*.yaml`) below `dir`, in apply order: by its kind's rank, then by
/// path. Any layout will do: the kubernetes export's `<rank>-<group>.<Kind>/<name>.yaml`
/// as well as a local instance's configuration folder (a local backup restored here).
pub fn object_files(dir: &Path) -> Result<Vec<SavedFile>, ApplyError> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| ApplyError::Read {
            path: d.clone(),
            source,
        })?;
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "yaml") {
                let (obj, bytes) = read_object(&path)?;
                let types = obj.types.clone().unwrap_or_default();
                let group = types.api_version.rsplit_once('/').map_or("", |(g, _)| g);
                files.push(SavedFile {
                    rank: super::objects::apply_rank(group, &types.kind),
                    obj,
                    bytes,
                    path,
                });
            }
        }
    }
    files.sort_by(|a, b| (a.rank, &a.path).cmp(&(b.rank, &b.path)));
    Ok(files)
}

/// Reads one object file.
pub fn read_object(path: &Path) -> Result<(DynamicObject, u64), ApplyError> {
    let text = std::fs::read_to_string(path).map_err(|source| ApplyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse = |reason: String| ApplyError::Parse {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value = serde_yaml::from_str(&text).map_err(|e| parse(e.to_string()))?;
    let obj: DynamicObject = serde_json::from_value(value).map_err(|e| parse(e.to_string()))?;
    if obj.types.is_none() || obj.metadata.name.is_none() {
        return Err(parse("it has no apiVersion, kind or name".into()));
    }
    Ok((obj, text.len() as u64))
}

/// A saved object, moved to `namespace` (rewritten when `moving`).
pub fn prepared(
    file: &SavedFile,
    namespace: &str,
    moving: Option<Move<'_>>,
) -> Result<(DynamicObject, Option<super::rewrite::Rewritten>), ApplyError> {
    let mut obj = file.obj.clone();
    let Some(m) = moving else {
        obj.metadata.namespace = Some(namespace.to_owned());
        return Ok((obj, None));
    };
    let parse = |reason: String| ApplyError::Parse {
        path: file.path.clone(),
        reason,
    };
    let mut value = serde_json::to_value(&obj).map_err(|e| parse(e.to_string()))?;
    let report = rewrite(&mut value, m);
    let obj: DynamicObject = serde_json::from_value(value).map_err(|e| parse(e.to_string()))?;
    Ok((obj, Some(report)))
}

/// How many objects of one rank are applied at once.
const APPLY_AT_ONCE: usize = 8;

/// One object ready to apply.
struct Ready<'f> {
    file: &'f SavedFile,
    obj: DynamicObject,
    object: String,
    api: Api<DynamicObject>,
    rbac: bool,
    moved: Option<super::rewrite::Rewritten>,
}

/// Applies the selected objects below `dir` to `namespace`: rank after rank, in the
/// export's order, the objects of one kind within a rank (which do not depend on each
/// other) several at once. Kinds stay in order: a Role before the bindings naming it.
pub async fn apply_dir(
    client: &Client,
    namespace: &str,
    dir: &Path,
    selection: Selection<'_>,
) -> Result<ApplyReport, ApplyError> {
    let mut report = ApplyReport::default();
    let files = object_files(dir)?;
    let chosen: Vec<&SavedFile> = files
        .iter()
        .filter(|f| {
            selection.max_rank.is_none_or(|m| f.rank <= m)
                && selection
                    .only
                    .is_none_or(|(kind, name)| f.kind() == kind && f.name() == name)
        })
        .collect();
    let ready = prepare(client, namespace, &chosen, selection, &mut report).await?;
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut rest = ready.as_slice();
    while let Some(first) = rest.first() {
        let n = rest
            .iter()
            .take_while(|r| r.file.rank == first.file.rank && r.file.kind() == first.file.kind())
            .count();
        let (rank, later) = rest.split_at(n);
        rest = later;
        let mut results = Vec::with_capacity(rank.len());
        for some in rank.chunks(APPLY_AT_ONCE) {
            results.extend(
                futures::future::join_all(some.iter().map(|r| apply_one(r, &params))).await,
            );
        }
        for (r, result) in rank.iter().zip(results) {
            match result {
                Ok(live) => {
                    if put_back(r, &live)
                        .await
                        .map_err(|source| ApplyError::Apply {
                            object: r.object.clone(),
                            source,
                        })?
                    {
                        report.put_back.push(r.object.clone());
                    }
                }
                // RBAC lets Lifeboat write a Role or binding only with every permission in
                // it: one it may not is reported, with the file to apply as an admin, and
                // the rest of the configuration still comes back.
                Err(kube::Error::Api(s)) if s.code == 403 && r.rbac => {
                    report.skipped.push(format!(
                        "{}: not allowed to Lifeboat ({}); apply config/{} as an admin",
                        r.object,
                        s.message,
                        relative(dir, &r.file.path)
                    ));
                    continue;
                }
                Err(source) => {
                    return Err(ApplyError::Apply {
                        object: r.object.clone(),
                        source,
                    });
                }
            }
            if let Some(moved) = &r.moved {
                if moved.is_changed() {
                    report.rewritten.push(r.object.clone());
                }
                report
                    .left
                    .extend(moved.left.iter().map(|l| format!("{} {l}", r.object)));
            }
            if matches!(r.file.kind(), "Deployment" | "StatefulSet") {
                report
                    .saved_replicas
                    .insert(r.object.clone(), saved_replicas(&r.file.obj));
            }
            report.applied += 1;
            report.bytes += r.file.bytes;
        }
    }
    // In place only: a namespace a restore creates held nothing before it.
    if selection.only.is_none() && selection.max_rank.is_none() && selection.moving.is_none() {
        report.created_since = created_since(&ready).await?;
    }
    Ok(report)
}

/// The objects of the kinds just restored that the backup does not hold, leaving out what
/// a backup never saves (what a controller made, service-account tokens, the root CA
/// bundle, Lifeboat's own).
async fn created_since(ready: &[Ready<'_>]) -> Result<Vec<String>, ApplyError> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for r in ready {
        let kind = r.file.kind();
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        let saved: Vec<String> = ready
            .iter()
            .filter(|o| o.file.kind() == kind)
            .map(|o| o.obj.name_any())
            .collect();
        let live = match r.api.list(&kube::api::ListParams::default()).await {
            Ok(list) => list,
            // A kind Lifeboat may write but not list (RBAC) cannot be checked.
            Err(kube::Error::Api(s)) if s.code == 403 => continue,
            Err(source) => {
                return Err(ApplyError::Apply {
                    object: format!("{kind} (listing what the namespace holds)"),
                    source,
                });
            }
        };
        for obj in live.items {
            let name = obj.name_any();
            let value = serde_json::to_value(&obj).unwrap_or_default();
            let controlled = value
                .pointer("/metadata/ownerReferences")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|refs| refs.iter().any(|o| o["controller"] == true));
            if saved.contains(&name)
                || controlled
                || is_lifeboats_own(&name)
                || super::objects::skip(kind, &value, &[]).is_some()
            {
                continue;
            }
            out.push(format!("{kind}/{name}"));
        }
    }
    Ok(out)
}

/// Server-side applies one object.
async fn apply_one(r: &Ready<'_>, params: &PatchParams) -> Result<DynamicObject, kube::Error> {
    r.api
        .patch(&r.obj.name_any(), params, &Patch::Apply(&r.obj))
        .await
}

/// Makes `live` (as server-side apply left it) what was saved where apply alone does not
/// ([`additions_patch`]): what was added since the backup goes (a Secret's key, an env var,
/// a label, a Service's port, a custom resource's field). A JSON
/// merge patch from the live value to the saved one: keys the backup lacks are removed,
/// what differs is replaced; fields the API server defaults come back as it defaults them.
/// `true` when it put back something a report should name: a key removed, or a value
/// of the template (not only `null`s, which may be fields the server defaults).
async fn put_back(r: &Ready<'_>, live: &DynamicObject) -> Result<bool, kube::Error> {
    let Some(patch) = additions_patch(r.file.kind(), &r.obj, live) else {
        return Ok(false);
    };
    r.api
        .patch(
            &r.obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    // A workload's template patch of only `null`s may be fields the server defaults: not
    // named. Anything else put back is.
    Ok(!matches!(r.file.kind(), "Deployment" | "StatefulSet") || has_values(&patch))
}

/// Whether a merge patch sets anything (rather than only removing).
fn has_values(patch: &serde_json::Value) -> bool {
    match patch {
        serde_json::Value::Object(m) => m.values().any(has_values),
        serde_json::Value::Null => false,
        _ => true,
    }
}

/// The merge patch [`put_back`] sends for `kind`, if `live` differs from what was saved
/// beyond what server-side apply already made equal: on every kind, labels and annotations
/// added since the backup (not the cluster's own, see [`strip`]); a Secret's or ConfigMap's
/// keys added since; a workload's pod template; a claim's spec never (it is bound and may
/// only grow: the cluster's); and on every other kind (Services, Ingresses, custom
/// resources, roles…) the whole body, less what the cluster sets (a Service's cluster IPs).
fn additions_patch(
    kind: &str,
    saved: &DynamicObject,
    live: &DynamicObject,
) -> Option<serde_json::Value> {
    use serde_json::{Map, Value};
    let value = |o: &DynamicObject| strip(kind, serde_json::to_value(o).unwrap_or(Value::Null));
    let (was, is) = (value(saved), value(live));
    let mut patch = Map::new();
    let labels = |v: &Value| {
        let meta = v.get("metadata");
        let field = |f: &str| {
            meta.and_then(|m| m.get(f))
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new()))
        };
        serde_json::json!({"labels": field("labels"), "annotations": field("annotations")})
    };
    if let Some(d) = merge_diff(&labels(&is), &labels(&was)) {
        patch.insert("metadata".into(), d);
    }
    match kind {
        "Secret" | "ConfigMap" => {
            for field in ["data", "binaryData"] {
                let Some(now) = live.data.get(field).and_then(Value::as_object) else {
                    continue;
                };
                let gone: Map<String, Value> = now
                    .keys()
                    .filter(|k| {
                        let kept = |f: &str| saved.data.get(f).and_then(|v| v.get(k.as_str()));
                        kept(field).is_none() && kept("stringData").is_none()
                    })
                    .map(|k| (k.clone(), Value::Null))
                    .collect();
                if !gone.is_empty() {
                    patch.insert(field.to_owned(), Value::Object(gone));
                }
            }
        }
        "Deployment" | "StatefulSet" => {
            // Sent even when it holds only `null`s: a field added since the backup (a
            // template annotation, say) looks like a field the server defaults, which a
            // `null` only makes it default again. Replicas come back separately.
            if let (Some(was), Some(is)) =
                (was.pointer("/spec/template"), is.pointer("/spec/template"))
                && let Some(diff) = merge_diff(is, was)
            {
                patch.insert("spec".into(), serde_json::json!({"template": diff}));
            }
        }
        "PersistentVolumeClaim" => {}
        _ => {
            let body = |v: &Value| -> Value {
                let mut out = v.as_object().cloned().unwrap_or_default();
                for k in ["apiVersion", "kind", "metadata", "status"] {
                    out.remove(k);
                }
                Value::Object(out)
            };
            if let Some(Value::Object(diff)) = merge_diff(&body(&is), &body(&was)) {
                patch.extend(diff);
            }
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

/// The RFC 7386 merge patch that turns `from` into `to` (`None` when they are equal):
/// keys only `from` has become `null`, objects are compared key by key, anything else is
/// replaced whole.
fn merge_diff(from: &serde_json::Value, to: &serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::{Map, Value};
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = Map::new();
            for (k, v) in a {
                match b.get(k) {
                    None => {
                        out.insert(k.clone(), Value::Null);
                    }
                    Some(w) => {
                        if let Some(d) = merge_diff(v, w) {
                            out.insert(k.clone(), d);
                        }
                    }
                }
            }
            for (k, w) in b {
                if !a.contains_key(k) {
                    out.insert(k.clone(), w.clone());
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        _ if from == to => None,
        _ => Some(to.clone()),
    }
}

/// Each chosen object moved (and stopped) as asked, with the API to apply it through;
/// Lifeboat's own objects and kinds no longer served are reported in `report` instead.
async fn prepare<'f>(
    client: &Client,
    namespace: &str,
    chosen: &[&'f SavedFile],
    selection: Selection<'_>,
    report: &mut ApplyReport,
) -> Result<Vec<Ready<'f>>, ApplyError> {
    let mut kinds: HashMap<(String, String), Option<ApiResource>> = HashMap::new();
    let mut ready = Vec::new();
    for &file in chosen {
        let (mut obj, moved) = prepared(file, namespace, selection.moving)?;
        if selection.stopped {
            stop(&mut obj);
        }
        let types = obj.types.clone().unwrap_or_default();
        let object = format!("{}/{}", types.kind, obj.name_any());
        if is_lifeboats_own(&obj.name_any()) {
            report.skipped.push(format!("{object}: Lifeboat's own"));
            continue;
        }
        let key = (types.api_version.clone(), types.kind.clone());
        if !kinds.contains_key(&key) {
            let found = resolve(client, &types.api_version, &types.kind).await?;
            kinds.insert(key.clone(), found);
        }
        let Some(Some(ar)) = kinds.get(&key) else {
            report.skipped.push(format!(
                "{object}: the API server does not serve {} {} (is its CustomResourceDefinition installed?)",
                types.api_version, types.kind
            ));
            continue;
        };
        ready.push(Ready {
            file,
            api: Api::namespaced_with(client.clone(), namespace, ar),
            rbac: ar.group == "rbac.authorization.k8s.io",
            obj,
            object,
            moved,
        });
    }
    Ok(ready)
}

/// `path` below `dir`, as the backup names it.
fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

/// A saved workload's `spec.replicas` (1 when unset, as the API server defaults it).
fn saved_replicas(obj: &DynamicObject) -> i64 {
    obj.data
        .pointer("/spec/replicas")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(1)
}

/// Sets a workload's replicas to 0, remembering its saved count (1 when unset).
fn stop(obj: &mut DynamicObject) {
    let saved = saved_replicas(obj);
    let Some(spec) = obj
        .data
        .get_mut("spec")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    spec.insert("replicas".into(), 0.into());
    obj.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(super::workloads::REPLICAS_BEFORE.into(), saved.to_string());
}

/// The served resource of `apiVersion` + `kind`: `None` when the API server does not serve
/// it; an error when it could not be asked.
async fn resolve(
    client: &Client,
    api_version: &str,
    kind: &str,
) -> Result<Option<ApiResource>, ApplyError> {
    use kube::error::DiscoveryError;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok((ar, _)) => Ok(Some(ar)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(kube::Error::Discovery(
            DiscoveryError::MissingKind(_)
            | DiscoveryError::MissingResource(_)
            | DiscoveryError::MissingApiGroup(_),
        )) => Ok(None),
        Err(source) => Err(ApplyError::Discovery {
            kind: format!("{api_version} {kind}"),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_in_their_kinds_order_whatever_the_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let object = |api: &str, kind: &str, name: &str| {
            format!("apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\n")
        };
        for (file, api, kind, name) in [
            ("7-apps.Deployment/web.yaml", "apps/v1", "Deployment", "web"),
            ("3-core.Secret/b.yaml", "v1", "Secret", "b"),
            ("3-core.Secret/a.yaml", "v1", "Secret", "a"),
            ("apps/x.yaml", "platform.dash.example/v1", "DashApp", "x"),
            ("ingress.yaml", "networking.k8s.io/v1", "Ingress", "dash"),
            ("platform.yaml", "v1", "ConfigMap", "dash-platform"),
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(&path, object(api, kind, name)).expect("write");
        }
        std::fs::write(dir.path().join("index.json"), "{}").expect("write");
        let order: Vec<String> = object_files(dir.path())
            .expect("files")
            .into_iter()
            .map(|f| format!("{} {}/{}", f.rank, f.kind(), f.name()))
            .collect();
        assert_eq!(
            order,
            [
                "3 Secret/a",
                "3 Secret/b",
                "3 ConfigMap/dash-platform",
                "6 Deployment/web",
                "7 DashApp/x",
                "7 Ingress/dash",
            ]
        );
    }

    #[test]
    fn what_was_added_since_the_backup_goes_and_what_was_saved_comes_back() {
        let obj = |v: serde_json::Value| -> DynamicObject {
            serde_json::from_value(v).expect("an object")
        };
        let saved = obj(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "YQ=="}, "stringData": {"b": "x"}
        }));
        let live = obj(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "YQ==", "b": "eA==", "added": "eQ=="}
        }));
        assert_eq!(
            additions_patch("Secret", &saved, &live),
            Some(serde_json::json!({"data": {"added": null}}))
        );
        assert_eq!(additions_patch("Secret", &saved, &saved), None);

        let template = |env: serde_json::Value, extra: bool| {
            let mut t = serde_json::json!({
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "debian:12", "env": env}]}
            });
            if extra {
                t["spec"]["dnsPolicy"] = "ClusterFirst".into();
            }
            obj(serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 2, "template": t}
            }))
        };
        let saved = template(serde_json::json!([{"name": "A", "value": "1"}]), false);
        let live = template(
            serde_json::json!([{"name": "A", "value": "1"}, {"name": "ADDED", "value": "2"}]),
            true,
        );
        let patch = additions_patch("Deployment", &saved, &live).expect("a patch");
        assert_eq!(
            patch["spec"]["template"]["spec"]["containers"][0]["env"],
            serde_json::json!([{"name": "A", "value": "1"}]),
            "the env list comes back whole: {patch}"
        );
        assert_eq!(
            patch["spec"]["template"]["spec"]["dnsPolicy"],
            serde_json::Value::Null
        );
        assert!(patch["spec"].get("replicas").is_none(), "{patch}");
        assert!(has_values(&patch));
        assert!(!has_values(
            &serde_json::json!({"spec": {"template": {"spec": {"dnsPolicy": null}}}})
        ));
        assert_eq!(additions_patch("Deployment", &saved, &saved), None);

        // A Service: a port and a label added since come off; its cluster IPs stay the
        // cluster's.
        let service = |extra: bool| {
            let mut v = serde_json::json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "annotations": {"team": "a"}},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}
            });
            if extra {
                v["metadata"]["labels"] = serde_json::json!({"added": "x"});
                v["spec"]["clusterIP"] = "10.0.0.7".into();
                v["spec"]["clusterIPs"] = serde_json::json!(["10.0.0.7"]);
                v["spec"]["ports"] = serde_json::json!([{"port": 80}, {"port": 81}]);
                v["status"] = serde_json::json!({"loadBalancer": {}});
            }
            obj(v)
        };
        assert_eq!(
            additions_patch("Service", &service(false), &service(true)),
            Some(serde_json::json!({
                "metadata": {"labels": {"added": null}},
                "spec": {"ports": [{"port": 80}]}
            }))
        );
        assert_eq!(
            additions_patch("Service", &service(false), &service(false)),
            None
        );
        // A custom resource's field added since goes; a claim's spec is the cluster's.
        let custom = |spec: serde_json::Value| {
            obj(serde_json::json!({
                "apiVersion": "dash.plotly.com/v1", "kind": "DashApp",
                "metadata": {"name": "sales"}, "spec": spec
            }))
        };
        assert_eq!(
            additions_patch(
                "DashApp",
                &custom(serde_json::json!({"replicas": 2})),
                &custom(serde_json::json!({"replicas": 2, "debug": true}))
            ),
            Some(serde_json::json!({"spec": {"debug": null}}))
        );
        let claim = |size: &str| {
            obj(serde_json::json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                "spec": {"resources": {"requests": {"storage": size}}}
            }))
        };
        assert_eq!(
            additions_patch("PersistentVolumeClaim", &claim("1Gi"), &claim("2Gi")),
            None
        );
    }

    #[test]
    fn an_object_file_needs_a_kind_and_a_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.yaml");
        std::fs::write(
            &good,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dash-platform, namespace: dash}\ndata: {a: b}\n",
        )
        .expect("write");
        let (obj, bytes) = read_object(&good).expect("an object");
        assert_eq!(obj.name_any(), "dash-platform");
        assert!(bytes > 0);
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "data: {a: b}\n").expect("write");
        assert!(matches!(read_object(&bad), Err(ApplyError::Parse { .. })));
    }
}
