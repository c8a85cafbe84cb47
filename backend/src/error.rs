//! How errors become responses: always the shared `ApiError` body, never an internal detail
//! and never a value the client sent (it may be a secret): extractor rejections lose their
//! quoted values, long inputs are quoted cut, and the bodies axum and tower build themselves
//! (`405`, `408`, `413`, …) are replaced by [`json_errors`].

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lifeboat_shared::ApiError;

/// The most of a client's input an error message quotes.
pub const QUOTE_CHARS: usize = 40;

/// An error on its way to the client.
#[derive(Debug)]
pub struct AppError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ApiError,
    /// One more field beside `code`, `message` and `hint` (e.g. the running `operation` of
    /// a `409 operation_running`).
    pub detail: Option<Box<(&'static str, serde_json::Value)>>,
}

impl AppError {
    /// Any status with a code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError::new(code, message),
            detail: None,
        }
    }

    /// Adds a field beside the `ApiError` ones.
    #[must_use]
    pub fn with_detail(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.detail = Some(Box::new((key, value)));
        self
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `500 internal`: the cause is logged here and not sent to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Lifeboat hit an internal error; the server log has the details",
        )
    }

    /// Adds what the admin can do next.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.body.hint = Some(hint.into());
        self
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self.detail {
            None => (self.status, axum::Json(self.body)).into_response(),
            Some(detail) => {
                let (key, value) = *detail;
                let mut body = serde_json::to_value(&self.body).unwrap_or_default();
                if let Some(map) = body.as_object_mut() {
                    map.insert(key.to_owned(), value);
                }
                (self.status, axum::Json(body)).into_response()
            }
        }
    }
}

/// A client's input as an error message may quote it: at most [`QUOTE_CHARS`] characters,
/// cut with `…`.
pub fn quote(input: &str) -> String {
    if input.chars().count() <= QUOTE_CHARS {
        input.to_owned()
    } else {
        let cut: String = input.chars().take(QUOTE_CHARS).collect();
        format!("{cut}…")
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            rejection.status(),
            "invalid_query",
            without_quoted(&rejection.body_text()),
        )
        .with_hint("check the query string's parameters")
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            rejection.status(),
            "invalid_path",
            without_quoted(&rejection.body_text()),
        )
    }
}

/// Replaces the body of an error response that is not already JSON (axum's `405`,
/// tower-http's `408` and `413`, …) with an `ApiError` for its status. Other responses pass
/// unchanged.
pub async fn json_errors(resp: Response) -> Response {
    let is_error = resp.status().is_client_error() || resp.status().is_server_error();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_error || is_json {
        return resp;
    }
    let status = resp.status();
    let (code, message, hint) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this API route does not take that method",
            Some("see the README's API table for the methods each route takes"),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took too long and was stopped",
            Some("try again; long work (backups, restores) runs as an operation"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body_too_large",
            "the request body is larger than the API accepts",
            None,
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the request body must be JSON",
            Some("send Content-Type: application/json"),
        ),
        _ => (
            "error",
            status.canonical_reason().unwrap_or("the request failed"),
            None,
        ),
    };
    let mut error = AppError::new(status, code, message);
    if let Some(h) = hint {
        error = error.with_hint(h);
    }
    let mut out = error.into_response();
    // Keep what the client may act on (`Allow` on a 405).
    for (name, value) in resp.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        Self::new(
            status,
            "invalid_body",
            without_quoted(&rejection.body_text()),
        )
        .with_hint("send a JSON body that matches the API's types")
    }
}

/// serde's messages quote the values they could not use (`invalid type: string "…"`,
/// ``invalid type: integer `42` ``, ``unknown variant `x` ``), and a value may be a secret:
/// every such part is replaced by `…`. Field names and the expected values stay.
fn without_quoted(text: &str) -> String {
    without_backquoted_values(&without_double_quoted(text))
}

/// Backquoted values right after `invalid type: <kind> `, `invalid value: <kind> ` or
/// `unknown variant ` become `` `…` ``.
fn without_backquoted_values(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        let inside = i % 2 == 1;
        if inside && i + 1 < parts.len() && is_value_position(parts[i - 1]) {
            out.push('…');
        } else {
            out.push_str(part);
        }
        if i + 1 < parts.len() {
            out.push('`');
        }
    }
    out
}

/// Whether a backquote after `before` opens a value (not a field name or expected value).
fn is_value_position(before: &str) -> bool {
    if before.ends_with("unknown variant ") {
        return true;
    }
    ["invalid type: ", "invalid value: "].iter().any(|phrase| {
        before
            .rfind(phrase)
            .is_some_and(|at| !before[at..].contains(','))
    })
}

/// Every double-quoted part becomes `"…"`.
fn without_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// `axum::extract::Query` whose rejections come back as our `ApiError`.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` whose rejections come back as our `ApiError`.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// `axum::Json` whose rejections come back as our `ApiError`.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_not_echoed() {
        assert_eq!(
            without_quoted(
                "credentials.secret_access_key: invalid type: string \"s3cr3t\", expected u32 at line 1"
            ),
            "credentials.secret_access_key: invalid type: string \"…\", expected u32 at line 1"
        );
        assert_eq!(without_quoted("unknown field `x`"), "unknown field `x`");
        assert_eq!(
            without_quoted("description: invalid type: integer `42`, expected a string at line 1"),
            "description: invalid type: integer `…`, expected a string at line 1"
        );
        assert_eq!(
            without_quoted("unknown variant `s3cr3t`, expected one of `local`, `s3`"),
            "unknown variant `…`, expected one of `local`, `s3`"
        );
        assert_eq!(
            without_quoted("invalid value: integer `-1`, expected u32"),
            "invalid value: integer `…`, expected u32"
        );
    }

    #[test]
    fn long_inputs_are_quoted_cut() {
        assert_eq!(quote("demo"), "demo");
        let long = "é".repeat(10_000);
        let q = quote(&long);
        assert_eq!(q.chars().count(), QUOTE_CHARS + 1);
        assert!(q.ends_with('…'));
    }

    #[tokio::test]
    async fn bodies_axum_builds_become_api_errors() {
        let resp = Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = json_errors(resp).await;
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[header::ALLOW], "GET");
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let e: ApiError = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(e.code, "method_not_allowed");
    }
}
