//! Applies a backup's platform configuration (the `config/` folder the export wrote) to a
//! namespace with server-side apply, in the export's order (custom resource definitions and
//! namespaces, then RBAC, Secrets and ConfigMaps, claims, Services, workloads, everything
//! else: the rank each folder's name starts with).
//!
//! Lifeboat's own objects are left alone (the restore runs in them), and so is a kind the
//! API server no longer serves (its CustomResourceDefinition is gone): both are reported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::{Client, ResourceExt};

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
}

/// The object files below `dir`, in apply order (by the rank their folder starts with).
pub fn object_files(dir: &Path) -> Result<Vec<PathBuf>, ApplyError> {
    let read = |p: &Path| {
        std::fs::read_dir(p).map_err(|source| ApplyError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let mut kinds: Vec<(u32, PathBuf)> = read(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .map(|p| (rank(&p), p))
        .collect();
    kinds.sort();
    let mut files = Vec::new();
    for (_, kind) in kinds {
        let mut these: Vec<PathBuf> = read(&kind)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        these.sort();
        files.extend(these);
    }
    Ok(files)
}

/// The rank a kind's folder name starts with (`3-core.Secret` → 3; unranked last).
fn rank(dir: &Path) -> u32 {
    dir.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('-'))
        .and_then(|(r, _)| r.parse().ok())
        .unwrap_or(u32::MAX)
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

/// Applies every object below `dir` to `namespace`.
pub async fn apply_dir(
    client: &Client,
    namespace: &str,
    dir: &Path,
) -> Result<ApplyReport, ApplyError> {
    let mut report = ApplyReport::default();
    let mut kinds: HashMap<(String, String), Option<ApiResource>> = HashMap::new();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for path in object_files(dir)? {
        let (mut obj, bytes) = read_object(&path)?;
        let types = obj.types.clone().unwrap_or_default();
        let name = obj.name_any();
        let object = format!("{}/{name}", types.kind);
        if is_lifeboats_own(&name) {
            report.skipped.push(format!("{object}: Lifeboat's own"));
            continue;
        }
        let key = (types.api_version.clone(), types.kind.clone());
        if !kinds.contains_key(&key) {
            let found = resolve(client, &types.api_version, &types.kind).await;
            kinds.insert(key.clone(), found);
        }
        let Some(Some(ar)) = kinds.get(&key) else {
            report.skipped.push(format!(
                "{object}: the API server does not serve {} {} (is its CustomResourceDefinition installed?)",
                types.api_version, types.kind
            ));
            continue;
        };
        obj.metadata.namespace = Some(namespace.to_owned());
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, ar);
        api.patch(&name, &params, &Patch::Apply(&obj))
            .await
            .map_err(|source| ApplyError::Apply {
                object: object.clone(),
                source,
            })?;
        report.applied += 1;
        report.bytes += bytes;
    }
    Ok(report)
}

/// The served resource of `apiVersion` + `kind`, if the API server serves it.
async fn resolve(client: &Client, api_version: &str, kind: &str) -> Option<ApiResource> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok((ar, _)) => Some(ar),
        Err(e) => {
            tracing::warn!(error = %e, api_version, kind, "kind not served");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_in_rank_order_then_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (kind, name) in [
            ("7-apps.Deployment", "web"),
            ("3-core.Secret", "b"),
            ("3-core.Secret", "a"),
            ("10-platform.dash.example.DashApp", "x"),
        ] {
            let d = dir.path().join(kind);
            std::fs::create_dir_all(&d).expect("mkdir");
            std::fs::write(d.join(format!("{name}.yaml")), "").expect("write");
        }
        std::fs::write(dir.path().join("index.json"), "{}").expect("write");
        let names: Vec<String> = object_files(dir.path())
            .expect("files")
            .iter()
            .map(|p| {
                let kind = p.parent().and_then(|d| d.file_name()).unwrap_or_default();
                format!(
                    "{}/{}",
                    kind.to_string_lossy(),
                    p.file_name().unwrap_or_default().to_string_lossy()
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "3-core.Secret/a.yaml",
                "3-core.Secret/b.yaml",
                "7-apps.Deployment/web.yaml",
                "10-platform.dash.example.DashApp/x.yaml"
            ]
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
