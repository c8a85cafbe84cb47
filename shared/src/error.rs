//! The one error body every failing API call returns.

use serde::{Deserialize, Serialize};

/// An error as the API returns it: a stable machine-readable `code`, a sentence for people,
/// and, where there is one, what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable identifier, e.g. `not_found`, `invalid_config`, `operation_running`.
    pub code: String,
    /// What went wrong, in plain words.
    pub message: String,
    /// What the admin can do next, when the server knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ApiError {
    /// An error with no hint.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what the admin can do next.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_is_omitted_when_absent() {
        let json = serde_json::to_string(&ApiError::new("x", "y")).unwrap();
        assert_eq!(json, r#"{"code":"x","message":"y"}"#);
    }

    #[test]
    fn display_includes_hint() {
        let e = ApiError::new("x", "Bucket missing").with_hint("Create it");
        assert_eq!(e.to_string(), "Bucket missing (Create it)");
    }
}
