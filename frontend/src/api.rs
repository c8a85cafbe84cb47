//! The typed client of the Lifeboat API, over the shared wire types.

use std::rc::Rc;

use gloo_net::http::Request;
use lifeboat_shared::{API_PREFIX, ApiError, Health};
use serde::de::DeserializeOwned;

/// A failed call, in words the page can show.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The server could not be reached (or answered with something that is not our API).
    Network(String),
    /// The server answered with an error.
    Server(ApiError),
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Network(m) => write!(f, "Cannot reach the Lifeboat server: {m}"),
            Self::Server(e) => write!(f, "{e}"),
        }
    }
}

/// The API client; cheap to clone, shared through a Yew context.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    base: Rc<str>,
}

impl Api {
    /// A client for the API at `api_base` (empty: this page's origin).
    pub fn new(api_base: &str) -> Self {
        Self {
            base: Rc::from(format!("{api_base}{API_PREFIX}")),
        }
    }

    /// The full URL of an API path such as `/health`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /api/v1/health`.
    pub async fn health(&self) -> Result<Health, ApiFailure> {
        self.get_json("/health").await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiFailure> {
        let resp = Request::get(&self.url(path))
            .send()
            .await
            .map_err(|e| ApiFailure::Network(e.to_string()))?;
        if resp.ok() {
            resp.json::<T>()
                .await
                .map_err(|e| ApiFailure::Network(e.to_string()))
        } else {
            match resp.json::<ApiError>().await {
                Ok(e) => Err(ApiFailure::Server(e)),
                Err(_) => Err(ApiFailure::Network(format!(
                    "HTTP {} from {path}",
                    resp.status()
                ))),
            }
        }
    }
}
