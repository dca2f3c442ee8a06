//! `/oauth/*`: the OAuth 2.0 endpoints for machines — token (RFC 6749), revocation
//! (RFC 7009) and introspection (RFC 7662).
//!
//! These endpoints speak the OAuth wire format rather than the problem+json of the rest of the
//! API: form-encoded requests, and errors as `{"error": "invalid_grant", ...}` with the status
//! codes of RFC 6749 §5.2, because OAuth client libraries parse exactly that. [`OAuthError`] is
//! that format; everything else about errors (logging of 5xx causes, no internals in bodies)
//! follows `ApiError`.

use std::collections::HashMap;
use std::error::Error as StdError;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_auth::AuthError;
use secrecy::SecretString;
use serde::Serialize;

use crate::error::REALM;
use crate::state::AppState;

mod introspect;
mod revoke;
mod token;

/// The `/oauth` routes (nested under `/oauth` by the router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/token", post(token::token))
        .route("/revoke", post(revoke::revoke))
        .route("/introspect", post(introspect::introspect))
}

/// An OAuth error response (RFC 6749 §5.2): a status, an `error` code and a description.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    source: Option<AuthError>,
}

#[derive(Serialize)]
struct OAuthErrorBody {
    error: &'static str,
    error_description: &'static str,
}

impl OAuthError {
    /// 400 `invalid_request`: a parameter is missing, repeated or malformed.
    pub fn invalid_request(description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description,
            source: None,
        }
    }

    /// 401 `invalid_client` with a `Basic` challenge.
    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed",
            source: None,
        }
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: "grant_type must be refresh_token or client_credentials",
            source: None,
        }
    }

    /// The code sent in `error`.
    pub fn code(&self) -> &'static str {
        self.error
    }
}

impl From<AuthError> for OAuthError {
    fn from(error: AuthError) -> Self {
        let (status, code, description) = match &error {
            AuthError::InvalidGrant | AuthError::SessionEnded | AuthError::NotAnAccessToken => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the refresh token is invalid, expired or revoked",
            ),
            AuthError::InvalidClient => return Self::invalid_client(),
            AuthError::InvalidScope => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the requested scope is not granted to this client",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "an internal error occurred; it has been logged",
            ),
        };
        Self {
            status,
            error: code,
            description,
            source: Some(error),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            let mut chain = String::new();
            let mut cause = self.source.as_ref().map(|e| e as &(dyn StdError + 'static));
            while let Some(e) = cause {
                if !chain.is_empty() {
                    chain.push_str(": ");
                }
                chain.push_str(&e.to_string());
                cause = e.source();
            }
            tracing::error!(status = self.status.as_u16(), error = self.error, cause = %chain, "oauth request failed");
        }
        let body = OAuthErrorBody {
            error: self.error,
            error_description: self.description,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(challenge) = HeaderValue::from_str(&format!("Basic realm=\"{REALM}\""))
        {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// An `application/x-www-form-urlencoded` body as a map. A parameter sent twice is an
/// `invalid_request` (RFC 6749 §3.1), as is any other content type.
#[derive(Debug)]
pub struct OAuthForm(pub HashMap<String, String>);

impl OAuthForm {
    /// A parameter, treating an empty value as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| {
                essence
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(OAuthError::invalid_request(
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(&body) {
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(
                    "a parameter was sent more than once",
                ));
            }
        }
        Ok(Self(params))
    }
}

/// Client credentials presented with a request.
#[derive(Debug)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub secret: SecretString,
}

/// The client credentials of a request, from HTTP Basic (`client_secret_basic`) or the form
/// (`client_secret_post`); `None` when there are none. Both at once, or a malformed Basic
/// header, is `invalid_client`/`invalid_request` (RFC 6749 §2.3).
pub fn client_credentials(
    headers: &HeaderMap,
    form: &OAuthForm,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(parse_basic(value).ok_or_else(OAuthError::invalid_client)?),
        None => None,
    };
    let posted = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Some(ClientCredentials {
            client_id: id.to_owned(),
            secret: SecretString::from(secret.to_owned()),
        }),
        (None, None) => None,
        _ => return Err(OAuthError::invalid_client()),
    };
    match (basic, posted) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        )),
        (basic, posted) => Ok(basic.or(posted)),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &HeaderValue) -> Option<ClientCredentials> {
    let (scheme, encoded) = value.to_str().ok()?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = zeroize::Zeroizing::new(STANDARD.decode(encoded.trim()).ok()?);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = form_decode(id);
    let secret = form_decode(secret);
    (!id.is_empty()).then(|| ClientCredentials {
        client_id: id,
        secret: SecretString::from(secret),
    })
}

fn form_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Adds the headers RFC 6749 §5.1 requires on responses that carry tokens.
pub fn no_store(response: impl IntoResponse) -> Response {
    super::auth::no_store(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_basic_header_yields_url_decoded_client_credentials() {
        // "my%20client:s%3Acret" → id "my client", secret "s:cret"
        let encoded = STANDARD.encode("my%20client:s%3Acret");
        let value = HeaderValue::from_str(&format!("Basic {encoded}")).unwrap();
        let creds = parse_basic(&value).unwrap();
        assert_eq!(creds.client_id, "my client");
        assert_eq!(creds.secret.expose_secret(), "s:cret");
    }

    #[test]
    fn a_malformed_basic_header_yields_nothing() {
        for bad in [
            "Bearer abc",
            "Basic !!!",
            "Basic",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            let value = HeaderValue::from_str(bad).unwrap();
            assert!(parse_basic(&value).is_none(), "{bad}");
        }
    }
}
