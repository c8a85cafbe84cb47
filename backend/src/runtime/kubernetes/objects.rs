//! The platform configuration as Kubernetes objects: which kinds a backup saves, and each
//! object cleaned of what the API server sets, so that applying it again (here or in a new
//! namespace) recreates it instead of conflicting with a stale copy. Pure: the listing is in
//! `export.rs`.

use serde_json::{Map, Value};

/// Kinds that are not configuration: what controllers and the API server make from the
/// configuration (pods, their ReplicaSets and revisions, endpoints, events, leases), runs
/// rather than settings (Jobs), and review requests. A backup never saves them.
const NOT_CONFIGURATION: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "endpoints"),
    ("", "events"),
    ("", "bindings"),
    ("", "podtemplates"),
    ("", "replicationcontrollers"),
    ("apps", "replicasets"),
    ("apps", "controllerrevisions"),
    ("batch", "jobs"),
    ("discovery.k8s.io", "endpointslices"),
    ("events.k8s.io", "events"),
    ("coordination.k8s.io", "leases"),
    ("authorization.k8s.io", "localsubjectaccessreviews"),
    ("metrics.k8s.io", "pods"),
];

/// Whether objects of `group`/`plural` are part of the platform's configuration.
pub fn is_configuration(group: &str, plural: &str) -> bool {
    !plural.contains('/') && !NOT_CONFIGURATION.contains(&(group, plural))
}

/// Why an object is left out of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A service account's token: the API server makes a new one.
    ServiceAccountToken,
    /// The namespace's root CA bundle: every namespace gets its own.
    RootCa,
    /// A controller made it from another object the backup saves.
    Controlled,
}

/// Whether `obj` (of `kind`) is left out, given the kinds the backup saves.
pub fn skip(kind: &str, obj: &Value, saved_kinds: &[String]) -> Option<Skip> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str);
    if kind == "Secret"
        && obj.get("type").and_then(Value::as_str) == Some("kubernetes.io/service-account-token")
    {
        return Some(Skip::ServiceAccountToken);
    }
    if kind == "ConfigMap" && name == Some("kube-root-ca.crt") {
        return Some(Skip::RootCa);
    }
    let controlled = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("controller").and_then(Value::as_bool) == Some(true)
                    && r.get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| saved_kinds.iter().any(|s| s == k))
            })
        });
    controlled.then_some(Skip::Controlled)
}

/// Metadata fields the API server sets.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
];

/// Annotations written by tools and controllers, not by whoever configured the object.
const SERVER_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
    // Lifeboat's own, on a workload a restore scaled down.
    super::workloads::REPLICAS_BEFORE,
];

/// `obj` without what the API server set: `status`, the server's metadata (owner
/// references included: their uids would not exist after a restore), tools' annotations,
/// a Service's cluster IPs and a claim's bound volume.
pub fn strip(kind: &str, mut obj: Value) -> Value {
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in SERVER_METADATA {
            meta.remove(*f);
        }
        remove_keys(meta, "annotations", SERVER_ANNOTATIONS);
    }
    let spec = obj.get_mut("spec").and_then(Value::as_object_mut);
    match (kind, spec) {
        ("Service", Some(spec)) => {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        ("PersistentVolumeClaim", Some(spec)) => {
            spec.remove("volumeName");
        }
        _ => {}
    }
    obj
}

/// Removes `keys` from the map at `field` of `meta`, and the map itself once empty.
fn remove_keys(meta: &mut Map<String, Value>, field: &str, keys: &[&str]) {
    if let Some(m) = meta.get_mut(field).and_then(Value::as_object_mut) {
        for k in keys {
            m.remove(*k);
        }
        if m.is_empty() {
            meta.remove(field);
        }
    }
}

/// The order a restore applies kinds in: what others refer to first (custom resource
/// definitions and namespaces, then RBAC, Secrets and ConfigMaps, claims, Services,
/// workloads), everything else last. Lower applies first.
pub fn apply_rank(group: &str, kind: &str) -> u8 {
    match (group, kind) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") | ("", "Namespace") => 0,
        ("", "ServiceAccount") => 1,
        ("rbac.authorization.k8s.io", _) => 2,
        ("", "Secret") | ("", "ConfigMap") => 3,
        ("", "PersistentVolumeClaim") => 4,
        ("", "Service") => 5,
        ("apps", _) | ("batch", "CronJob") => 6,
        _ => 7,
    }
}

/// The file an object is saved in below `config/`: `<rank>-<group>.<kind>/<name>.yaml`
/// (the rank keeps the folders in apply order).
pub fn file_name(group: &str, kind: &str, name: &str) -> String {
    let rank = apply_rank(group, kind);
    let group = if group.is_empty() { "core" } else { group };
    format!("{rank}-{group}.{kind}/{name}.yaml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strip_removes_what_the_server_set_and_keeps_the_rest() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {
                "name": "web", "namespace": "dash", "uid": "u", "resourceVersion": "7",
                "creationTimestamp": "2026-12-01T00:00:00Z", "managedFields": [{}],
                "labels": {"app": "web"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "ownerReferences": [{"kind": "DashApp", "uid": "x"}]
            },
            "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "ports": [{"port": 80}]},
            "status": {"loadBalancer": {}}
        });
        let s = strip("Service", obj);
        assert_eq!(
            s,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "dash", "labels": {"app": "web"}},
                "spec": {"ports": [{"port": 80}]}
            })
        );
    }

    #[test]
    fn claims_lose_their_bound_volume() {
        let pvc = json!({"metadata": {"name": "d", "annotations": {
            "pv.kubernetes.io/bind-completed": "yes", "team": "a"}},
            "spec": {"volumeName": "pv-1", "resources": {}}});
        let s = strip("PersistentVolumeClaim", pvc);
        assert_eq!(s["spec"], json!({"resources": {}}));
        assert_eq!(s["metadata"]["annotations"], json!({"team": "a"}));
    }

    #[test]
    fn tokens_root_ca_and_controlled_objects_are_skipped() {
        let token =
            json!({"type": "kubernetes.io/service-account-token", "metadata": {"name": "t"}});
        assert_eq!(skip("Secret", &token, &[]), Some(Skip::ServiceAccountToken));
        let ca = json!({"metadata": {"name": "kube-root-ca.crt"}});
        assert_eq!(skip("ConfigMap", &ca, &[]), Some(Skip::RootCa));
        let owned = json!({"metadata": {"name": "w-1", "ownerReferences": [
            {"kind": "DashApp", "controller": true, "name": "w"}]}});
        let saved = vec!["DashApp".to_owned()];
        assert_eq!(skip("Deployment", &owned, &saved), Some(Skip::Controlled));
        assert_eq!(skip("Deployment", &owned, &[]), None);
        let plain = json!({"type": "Opaque", "metadata": {"name": "license"}});
        assert_eq!(skip("Secret", &plain, &saved), None);
    }

    #[test]
    fn runtime_kinds_are_not_configuration() {
        assert!(!is_configuration("", "pods"));
        assert!(!is_configuration("apps", "replicasets"));
        assert!(!is_configuration("", "pods/log"));
        assert!(is_configuration("", "configmaps"));
        assert!(is_configuration("apps", "deployments"));
        assert!(is_configuration("platform.dash.example", "dashapps"));
    }

    #[test]
    fn files_sort_in_apply_order() {
        let mut files = vec![
            file_name("apps", "Deployment", "web"),
            file_name("", "Secret", "license"),
            file_name("rbac.authorization.k8s.io", "Role", "am"),
            file_name("platform.dash.example", "DashApp", "a"),
            file_name("", "ServiceAccount", "am"),
        ];
        files.sort();
        assert_eq!(
            files,
            [
                "1-core.ServiceAccount/am.yaml",
                "2-rbac.authorization.k8s.io.Role/am.yaml",
                "3-core.Secret/license.yaml",
                "6-apps.Deployment/web.yaml",
                "7-platform.dash.example.DashApp/a.yaml",
            ]
        );
    }
}
