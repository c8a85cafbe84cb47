//! Lists the platform configuration: every namespaced object of the kinds that make up the
//! platform, found through discovery (custom resources included), among those Lifeboat's
//! Role lets it list (asked once with a `SelfSubjectRulesReview`, so a backup is never
//! refused anything: a kind it may not list is recorded as not saved).

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::authorization::v1::{
    ResourceRule, SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use kube::api::{DynamicObject, ListParams, PostParams};
use kube::discovery::{Discovery, Scope, verbs};
use kube::{Api, Client};
use serde_json::Value;

use super::objects::{file_name, is_configuration, skip, strip};

/// Why the configuration could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Asking the API server what Lifeboat may do failed.
    #[error("cannot ask the API server what Lifeboat may list: {0}")]
    Rules(kube::Error),
    /// Discovery failed.
    #[error("cannot discover the API server's kinds: {0}")]
    Discovery(kube::Error),
    /// Listing one kind failed.
    #[error("cannot list {kind}: {source}")]
    List {
        /// Which kind.
        kind: String,
        /// Why.
        source: kube::Error,
    },
    /// An object could not be written as YAML.
    #[error("cannot write {name} as YAML: {reason}")]
    Yaml {
        /// Which object.
        name: String,
        /// Why.
        reason: String,
    },
}

/// The platform configuration, ready to be written.
#[derive(Debug, Default)]
pub struct Exported {
    /// `(file below config/, YAML)`, in apply order.
    pub files: Vec<(String, String)>,
    /// Objects saved per kind (`group/Kind`, core kinds without a group).
    pub kinds: BTreeMap<String, u64>,
    /// Custom kinds saved (`plural.group`: their CustomResourceDefinitions' names).
    pub custom_kinds: Vec<String>,
    /// Kinds left out because Lifeboat's Role does not let it list them.
    pub not_allowed: Vec<String>,
}

impl Exported {
    /// Replaces `dir` with the objects and an `index.json` saying what was saved; returns
    /// (files, bytes).
    pub fn write_to(&self, dir: &Path) -> std::io::Result<(u64, u64)> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let (mut files, mut bytes) = (0u64, 0u64);
        for (name, yaml) in &self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, yaml)?;
            files += 1;
            bytes += yaml.len() as u64;
        }
        let index = serde_json::json!({
            "kinds": self.kinds,
            "custom_resource_definitions": self.custom_kinds,
            "not_allowed": self.not_allowed,
        });
        let index = serde_json::to_vec_pretty(&index).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("index.json"), &index)?;
        Ok((files + 1, bytes + index.len() as u64))
    }
}

/// Whether `rules` let one list `plural` of `group` (every object, not named ones).
fn may_list(rules: &[ResourceRule], group: &str, plural: &str) -> bool {
    let has = |list: &Option<Vec<String>>, want: &str| {
        list.as_ref()
            .is_some_and(|l| l.iter().any(|v| v == "*" || v == want))
    };
    rules.iter().any(|r| {
        r.verbs.iter().any(|v| v == "*" || v == "list")
            && has(&r.api_groups, group)
            && has(&r.resources, plural)
            && r.resource_names.as_ref().is_none_or(Vec::is_empty)
    })
}

/// What the API server says Lifeboat may do in `namespace`.
async fn rules(client: &Client, namespace: &str) -> Result<Vec<ResourceRule>, ExportError> {
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec {
            namespace: Some(namespace.to_owned()),
        },
        ..Default::default()
    };
    let api: Api<SelfSubjectRulesReview> = Api::all(client.clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(ExportError::Rules)?;
    Ok(answer.status.map(|s| s.resource_rules).unwrap_or_default())
}

/// Lists the configuration of `namespace`.
pub async fn export(client: &Client, namespace: &str) -> Result<Exported, ExportError> {
    let rules = rules(client, namespace).await?;
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(ExportError::Discovery)?;
    let mut out = Exported::default();
    let mut listed: Vec<(kube::discovery::ApiResource, Vec<Value>)> = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if caps.scope != Scope::Namespaced
                || !caps.supports_operation(verbs::LIST)
                || !is_configuration(&ar.group, &ar.plural)
            {
                continue;
            }
            let kind = kind_name(&ar.group, &ar.kind);
            if !may_list(&rules, &ar.group, &ar.plural) {
                out.not_allowed.push(kind);
                continue;
            }
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|source| ExportError::List { kind, source })?;
            let items = list
                .items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect();
            listed.push((ar, items));
        }
    }
    let saved_kinds: Vec<String> = listed
        .iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(ar, _)| ar.kind.clone())
        .collect();
    for (ar, items) in listed {
        for mut obj in items {
            if skip(&ar.kind, &obj, &saved_kinds).is_some() {
                continue;
            }
            if let Some(map) = obj.as_object_mut() {
                map.insert("apiVersion".into(), Value::String(ar.api_version.clone()));
                map.insert("kind".into(), Value::String(ar.kind.clone()));
            }
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let yaml =
                serde_yaml::to_string(&strip(&ar.kind, obj)).map_err(|e| ExportError::Yaml {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
            out.files
                .push((file_name(&ar.group, &ar.kind, &name), yaml));
            *out.kinds.entry(kind_name(&ar.group, &ar.kind)).or_default() += 1;
            let crd = format!("{}.{}", ar.plural, ar.group);
            if !is_builtin_group(&ar.group) && !out.custom_kinds.contains(&crd) {
                out.custom_kinds.push(crd);
            }
        }
    }
    // Discovery's order varies between calls: the same namespace exports the same bytes.
    out.files.sort();
    out.custom_kinds.sort();
    out.not_allowed.sort();
    Ok(out)
}

/// `Kind` for the core group, `group/Kind` otherwise.
fn kind_name(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{group}/{kind}")
    }
}

/// Whether `group` is one of Kubernetes' own (its kinds have no CRD).
fn is_builtin_group(group: &str) -> bool {
    group.is_empty() || group.ends_with(".k8s.io") || !group.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> ResourceRule {
        let v = |l: &[&str]| Some(l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        ResourceRule {
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            api_groups: v(groups),
            resources: v(resources),
            resource_names: if names.is_empty() { None } else { v(names) },
        }
    }

    #[test]
    fn listing_needs_the_verb_the_group_and_the_resource_unrestricted() {
        let rules = vec![
            rule(&["get", "list"], &[""], &["configmaps", "secrets"], &[]),
            rule(&["list"], &["apps"], &["*"], &[]),
            rule(
                &["list"],
                &["platform.dash.example"],
                &["dashapps"],
                &["only-one"],
            ),
        ];
        assert!(may_list(&rules, "", "configmaps"));
        assert!(may_list(&rules, "apps", "deployments"));
        assert!(!may_list(&rules, "", "services"));
        assert!(!may_list(&rules, "rbac.authorization.k8s.io", "roles"));
        assert!(!may_list(&rules, "platform.dash.example", "dashapps"));
    }

    #[test]
    fn custom_groups_are_told_from_builtin_ones() {
        assert!(is_builtin_group(""));
        assert!(is_builtin_group("apps"));
        assert!(is_builtin_group("rbac.authorization.k8s.io"));
        assert!(!is_builtin_group("platform.dash.example"));
        assert_eq!(kind_name("", "Secret"), "Secret");
        assert_eq!(kind_name("apps", "Deployment"), "apps/Deployment");
    }
}
