//! The configuration saved in a ConfigMap of Lifeboat's namespace (key `config.json`, the
//! same JSON as the local file), read and updated with Lifeboat's service account (`get`
//! and `update` on that one ConfigMap: RBAC cannot limit `create` to a name, so the
//! ConfigMap is made when Lifeboat is installed). Admins may manage it declaratively too:
//! a ConfigMap without `config.json` means "nothing saved yet".

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::PostParams;
use kube::{Api, Client};
use lifeboat_shared::config::StorageConfig;

use super::store::{ConfigStore, SavedConfig, StoreError};

/// The key the configuration is kept under.
pub const KEY: &str = "config.json";

/// The name of the ConfigMap the manifests in `deploy/` make.
pub const DEFAULT_NAME: &str = "lifeboat-config";

/// A ConfigMap holding the configuration.
#[derive(Clone)]
pub struct ConfigMapStore {
    client: Client,
    namespace: String,
    name: String,
}

impl std::fmt::Debug for ConfigMapStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigMapStore")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ConfigMapStore {
    /// The ConfigMap `name` of `namespace`.
    pub fn new(client: Client, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn api(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn kube_error(&self, action: &'static str, e: &kube::Error) -> StoreError {
        // Only the API server's status message is quoted: it names kinds and names, never a
        // value of ours (the configuration holds no secret anyway).
        let reason = match e {
            kube::Error::Api(status) => status.message.clone(),
            other => other.to_string(),
        };
        StoreError::Kube {
            action,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            reason,
        }
    }

    fn missing(&self) -> StoreError {
        StoreError::Missing {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// What a ConfigMap's `config.json` says (`None`: nothing saved).
fn parse(cm: &ConfigMap, place: &str) -> Result<Option<SavedConfig>, StoreError> {
    let Some(text) = cm.data.as_ref().and_then(|d| d.get(KEY)) else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| StoreError::Damaged {
            place: place.to_owned(),
            reason: e.to_string(),
        })
}

#[async_trait::async_trait]
impl ConfigStore for ConfigMapStore {
    async fn load(&self) -> Result<Option<SavedConfig>, StoreError> {
        let place = format!("the ConfigMap {}/{}", self.namespace, self.name);
        match self.api().get_opt(&self.name).await {
            Ok(Some(cm)) => parse(&cm, &place),
            Ok(None) => Ok(None),
            Err(e) => Err(self.kube_error("read", &e)),
        }
    }

    async fn save(&self, config: &StorageConfig) -> Result<SavedConfig, StoreError> {
        let saved = SavedConfig::now(config);
        let text = serde_json::to_string_pretty(&saved).map_err(|e| StoreError::Damaged {
            place: "the configuration".into(),
            reason: e.to_string(),
        })?;
        let api = self.api();
        // Read, change, replace: the resourceVersion makes a concurrent change a conflict
        // instead of a lost update.
        let mut cm = api
            .get_opt(&self.name)
            .await
            .map_err(|e| self.kube_error("read", &e))?
            .ok_or_else(|| self.missing())?;
        cm.data
            .get_or_insert_with(BTreeMap::new)
            .insert(KEY.to_owned(), text);
        api.replace(&self.name, &PostParams::default(), &cm)
            .await
            .map_err(|e| self.kube_error("write", &e))?;
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_config_map_means_nothing_saved_and_garbage_is_reported() {
        let empty = ConfigMap::default();
        assert_eq!(parse(&empty, "cm").unwrap(), None);
        let with = |text: String| ConfigMap {
            data: Some(BTreeMap::from([(KEY.to_owned(), text)])),
            ..ConfigMap::default()
        };
        let bad = with("{\"config\":".to_owned());
        assert!(matches!(parse(&bad, "cm"), Err(StoreError::Damaged { .. })));
        let c = StorageConfig {
            backup_policy: None,
            provider: lifeboat_shared::config::Provider::Local {
                path: String::new(),
            },
            secret_name: String::new(),
            schedule: None,
            retention: Default::default(),
        };
        let saved = SavedConfig::now(&c);
        let good = with(serde_json::to_string(&saved).unwrap());
        assert_eq!(parse(&good, "cm").unwrap(), Some(saved));
    }
}
