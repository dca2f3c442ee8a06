//! [`ApiError`]: the one place an error becomes an HTTP response.
//!
//! Every failure a handler or extractor returns is an `ApiError`, rendered as
//! `application/problem+json` (RFC 9457) with a stable `type` URI and `code`, so clients can
//! match on them and never on prose. Server errors log their cause chain and send a generic
//! body; 401 always carries `WWW-Authenticate: Bearer` (RFC 6750); 403 names what was missing.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Base of the `type` URI of every problem: `https://gatehouse.dev/problems/<code>`.
pub const PROBLEM_TYPE_BASE: &str = "https://gatehouse.dev/problems/";

/// Realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "gatehouse";

/// A stable, machine-readable error code: lowercase ASCII letters, digits and `_`.
///
/// Define new codes as constants (`const WEAK_PASSWORD: ProblemCode =
/// ProblemCode::new("weak_password");`): an invalid code then fails to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProblemCode(&'static str);

impl ProblemCode {
    /// The body could not be parsed (bad JSON syntax, bad query string or path).
    pub const INVALID_REQUEST: Self = Self::new("invalid_request");
    /// The body parsed but does not have the expected fields and types.
    pub const INVALID_BODY: Self = Self::new("invalid_body");
    /// A field has a value the server refuses (too long, bad characters, …).
    pub const VALIDATION_FAILED: Self = Self::new("validation_failed");
    /// The request has no bearer token.
    pub const MISSING_TOKEN: Self = Self::new("missing_token");
    /// The bearer token is malformed, expired, revoked or otherwise invalid.
    pub const INVALID_TOKEN: Self = Self::new("invalid_token");
    /// The caller lacks a permission, role or scope.
    pub const INSUFFICIENT_PERMISSION: Self = Self::new("insufficient_permission");
    /// The resource does not exist.
    pub const NOT_FOUND: Self = Self::new("not_found");
    /// The method is not allowed on this resource.
    pub const METHOD_NOT_ALLOWED: Self = Self::new("method_not_allowed");
    /// The resource already exists (e.g. a taken username).
    pub const CONFLICT: Self = Self::new("conflict");
    /// The body is not `application/json`.
    pub const UNSUPPORTED_MEDIA_TYPE: Self = Self::new("unsupported_media_type");
    /// The body is larger than `server.body_limit_bytes`.
    pub const PAYLOAD_TOO_LARGE: Self = Self::new("payload_too_large");
    /// Too many attempts; wait `Retry-After` seconds.
    pub const TOO_MANY_REQUESTS: Self = Self::new("too_many_requests");
    /// A dependency (the database) is unavailable.
    pub const UNAVAILABLE: Self = Self::new("unavailable");
    /// The request took longer than `server.request_timeout`.
    pub const TIMEOUT: Self = Self::new("timeout");
    /// Something failed inside the server; details are in its log, not in the response.
    pub const INTERNAL: Self = Self::new("internal_error");

    /// A code; panics at compile time when used in a `const` with characters other than
    /// `a-z`, `0-9` and `_`.
    pub const fn new(code: &'static str) -> Self {
        let bytes = code.as_bytes();
        assert!(!bytes.is_empty(), "a problem code must not be empty");
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            assert!(
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_',
                "a problem code is snake_case ASCII"
            );
            i += 1;
        }
        Self(code)
    }

    /// The code as a string.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The problem `type` URI.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.0)
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The `error` parameter of an RFC 6750 Bearer challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// No credentials were sent: the challenge carries no error code (RFC 6750 3.1).
    None,
    /// The request itself is malformed (e.g. two tokens).
    InvalidRequest,
    /// The token is expired, revoked, malformed or otherwise invalid.
    InvalidToken,
    /// The token is valid but lacks what the resource needs (used with 403).
    InsufficientScope,
}

/// Any failure that reaches a client. Build one with the constructors; render it by returning
/// it from a handler.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ProblemCode,
    detail: String,
    bearer: Option<BearerError>,
    retry_after: Option<Duration>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            bearer: None,
            retry_after: None,
            source: None,
        }
    }

    /// 400: the request could not be understood.
    pub fn bad_request(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401 without credentials: `WWW-Authenticate: Bearer realm="gatehouse"`.
    pub fn missing_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::MISSING_TOKEN,
            "this resource needs a bearer token in the Authorization header",
        );
        e.bearer = Some(BearerError::None);
        e
    }

    /// 401 for an invalid token, with `error="invalid_token"` and `detail` as the
    /// `error_description`. `detail` must not contain the token.
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, ProblemCode::INVALID_TOKEN, detail);
        e.bearer = Some(BearerError::InvalidToken);
        e
    }

    /// 401 with another code (e.g. `invalid_credentials` on login); the challenge carries no
    /// error code, since no token was involved.
    pub fn unauthorized(code: ProblemCode, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, code, detail);
        e.bearer = Some(BearerError::None);
        e
    }

    /// 403 naming what was missing, e.g. `missing permission "gatehouse:admin"`.
    pub fn forbidden(missing: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            ProblemCode::INSUFFICIENT_PERMISSION,
            missing,
        );
        e.bearer = Some(BearerError::InsufficientScope);
        e
    }

    /// 403 with another code (e.g. `signup_closed`, `account_disabled`).
    pub fn forbidden_with(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 404: `what` does not exist (e.g. `user "alice"`).
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ProblemCode::NOT_FOUND,
            format!("{what} was not found"),
        )
    }

    /// 409: the resource already exists or the change conflicts with the current state.
    pub fn conflict(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422: a field has a value the server refuses.
    pub fn unprocessable(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 429 with `Retry-After` (whole seconds, rounded up).
    pub fn too_many_requests(retry_after: Duration) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::TOO_MANY_REQUESTS,
            "too many attempts; try again later",
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 503: a dependency is unreachable. `cause` is logged, not sent.
    pub fn unavailable(cause: impl StdError + Send + Sync + 'static) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::UNAVAILABLE,
            "the service is temporarily unavailable",
        );
        e.source = Some(Box::new(cause));
        e
    }

    /// 500: an unexpected failure. `cause` is logged with its chain; the client gets a generic
    /// body.
    pub fn internal(cause: impl StdError + Send + Sync + 'static) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::INTERNAL,
            "an internal error occurred; it has been logged",
        );
        e.source = Some(Box::new(cause));
        e
    }

    /// Any status and code, for the rare case the constructors above do not fit. A 401 gets a
    /// bare Bearer challenge.
    pub fn with_status(status: StatusCode, code: ProblemCode, detail: impl Into<String>) -> Self {
        let mut e = Self::new(status, code, detail);
        if status == StatusCode::UNAUTHORIZED {
            e.bearer = Some(BearerError::None);
        }
        e
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> ProblemCode {
        self.code
    }

    /// The human-readable detail sent to the client.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    fn challenge(&self) -> Option<String> {
        let bearer = self.bearer?;
        let error = match bearer {
            BearerError::None => return Some(format!("Bearer realm=\"{REALM}\"")),
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        };
        Some(format!(
            "Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{}\"",
            quoted_string_safe(&self.detail)
        ))
    }
}

/// RFC 6750 `error_description` allows %x20-21 / %x23-5B / %x5D-7E: drop the rest.
fn quoted_string_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, ' '..='~') && c != '"' && c != '\\' {
                c
            } else {
                '\''
            }
        })
        .take(200)
        .collect()
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl StdError for ApiError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            let mut chain = String::new();
            let mut cause = self
                .source
                .as_deref()
                .map(|e| e as &(dyn StdError + 'static));
            while let Some(e) = cause {
                if !chain.is_empty() {
                    chain.push_str(": ");
                }
                chain.push_str(&e.to_string());
                cause = e.source();
            }
            tracing::error!(status = self.status.as_u16(), code = %self.code, cause = %chain, "request failed");
        } else {
            // Client errors are routine; the detail may echo input, so only the code is logged.
            tracing::debug!(status = self.status.as_u16(), code = %self.code, "request refused");
        }

        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = Problem {
            type_uri: self.code.type_uri(),
            title,
            status: self.status.as_u16(),
            code: self.code.as_str(),
            detail: &self.detail,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        // Set here too, not only by the server's layer: the gateway's answers skip the layers.
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(challenge) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(retry) = self.retry_after {
            let secs = retry.as_secs() + u64::from(retry.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if self.status == StatusCode::UNAUTHORIZED || self.status == StatusCode::FORBIDDEN {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

impl From<gatehouse_store::StoreError> for ApiError {
    /// A store error that reaches here unhandled is a server error. `NotFound` and `Conflict`
    /// are mapped where their meaning is known (which resource, which name), not here.
    fn from(error: gatehouse_store::StoreError) -> Self {
        Self::internal(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn render(error: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, serde_json::from_slice(&body).unwrap())
    }

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused to postgres://u:secret@db")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("loading user")]
    struct Outer(#[source] Inner);

    #[tokio::test]
    async fn a_server_error_sends_a_generic_problem_without_the_cause() {
        let (status, headers, body) = render(ApiError::internal(Outer(Inner))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(
            body["type"],
            "https://gatehouse.dev/problems/internal_error"
        );
        assert_eq!(body["code"], "internal_error");
        assert_eq!(body["status"], 500);
        assert_eq!(body["title"], "Internal Server Error");
        assert!(!body.to_string().contains("secret"));
        assert!(!body.to_string().contains("loading user"));
    }

    #[tokio::test]
    async fn a_missing_token_gets_a_bare_bearer_challenge() {
        let (status, headers, body) = render(ApiError::missing_token()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"gatehouse\""
        );
        assert_eq!(body["code"], "missing_token");
    }

    #[tokio::test]
    async fn an_invalid_token_gets_an_invalid_token_challenge_with_a_safe_description() {
        let (_, headers, _) = render(ApiError::invalid_token("expired: \"exp\" is past")).await;
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"gatehouse\", error=\"invalid_token\", error_description=\"expired: 'exp' is past\""
        );
    }

    #[tokio::test]
    async fn forbidden_names_what_was_missing_and_says_insufficient_scope() {
        let (status, headers, body) = render(ApiError::forbidden(
            "missing permission \"gatehouse:admin\"",
        ))
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
        assert_eq!(body["detail"], "missing permission \"gatehouse:admin\"");
    }

    #[tokio::test]
    async fn too_many_requests_rounds_retry_after_up() {
        let (status, headers, _) =
            render(ApiError::too_many_requests(Duration::from_millis(1500))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "2");
    }

    #[test]
    fn problem_codes_build_their_type_uri() {
        const WEAK: ProblemCode = ProblemCode::new("weak_password");
        assert_eq!(
            WEAK.type_uri(),
            "https://gatehouse.dev/problems/weak_password"
        );
    }
}
