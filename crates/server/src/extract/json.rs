//! Body, path and query extractors whose rejections are [`ApiError`]s (problem+json), never
//! axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ProblemCode};

/// A JSON request body (`Content-Type: application/json` or `…+json`), or a JSON response.
///
/// Rejections: 415 for another content type, 413 above `server.body_limit_bytes`, 400 for bad
/// JSON syntax, 422 when the fields or types do not match (the detail names the field).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::with_status(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::with_status(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    ProblemCode::PAYLOAD_TOO_LARGE,
                    "the request body is too large",
                )
            } else {
                ApiError::bad_request(
                    ProblemCode::INVALID_REQUEST,
                    "the request body could not be read",
                )
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON document, telling syntax errors (400) from shape errors (422, naming the
/// field by its path).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        json_error(&path, &error.into_inner())
    })?;
    deserializer
        .end()
        .map_err(|error| json_error(".", &error))?;
    Ok(value)
}

fn json_error(path: &str, error: &serde_json::Error) -> ApiError {
    match error.classify() {
        serde_json::error::Category::Data => {
            let field = if path == "." {
                String::from("the body")
            } else {
                format!("`{path}`")
            };
            ApiError::unprocessable(
                ProblemCode::INVALID_BODY,
                format!("{field}: {}", describe_data_error(error)),
            )
        }
        _ => ApiError::bad_request(
            ProblemCode::INVALID_REQUEST,
            format!(
                "the body is not valid JSON (line {}, column {})",
                error.line(),
                error.column()
            ),
        ),
    }
}

/// serde's data error without the offending value (it may be a password sent with the wrong
/// type): keep what was expected.
fn describe_data_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    // Drop serde_json's " at line L column C" suffix.
    let text = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(head, _)| head);
    if let Some((_, expected)) = text.split_once(", expected ")
        && (text.starts_with("invalid type") || text.starts_with("invalid value"))
    {
        return format!("expected {expected}");
    }
    text.to_owned()
}

/// Path parameters; a bad parameter (e.g. not a UUID) is a 400 problem.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|rejection| {
                ApiError::bad_request(ProblemCode::INVALID_REQUEST, rejection.body_text())
            })
    }
}

/// A query string; a bad one is a 400 problem.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|rejection| {
                ApiError::bad_request(ProblemCode::INVALID_REQUEST, rejection.body_text())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Signup {
        username: String,
        password: String,
    }

    #[test]
    fn bad_syntax_is_a_400() {
        let error = parse_json::<Signup>(b"{\"username\": ").unwrap_err();
        assert_eq!(error.status(), 400);
        assert_eq!(error.code(), ProblemCode::INVALID_REQUEST);
    }

    #[test]
    fn trailing_garbage_is_a_400() {
        let error = parse_json::<Signup>(b"{\"username\":\"a\",\"password\":\"b\"} x").unwrap_err();
        assert_eq!(error.status(), 400);
    }

    #[test]
    fn a_missing_field_is_a_422_naming_it() {
        let error = parse_json::<Signup>(b"{\"username\": \"a\"}").unwrap_err();
        assert_eq!(error.status(), 422);
        assert!(error.detail().contains("password"), "{}", error.detail());
    }

    #[test]
    fn a_wrongly_typed_field_is_a_422_that_does_not_echo_the_value() {
        let error =
            parse_json::<Signup>(b"{\"username\": \"a\", \"password\": 31337}").unwrap_err();
        assert_eq!(error.status(), 422);
        assert!(error.detail().contains("`password`"), "{}", error.detail());
        assert!(!error.detail().contains("31337"), "{}", error.detail());
    }
}
