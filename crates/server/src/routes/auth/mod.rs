//! `/auth/*`: signup, password login, refresh, logout, the caller's account, password change.
//!
//! JSON in, JSON out, errors as problem+json. Each flow is one call into
//! [`gatehouse_auth::Auth`]; this module only translates between HTTP and that API.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_auth::{AuthError, IssuedTokens};
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

mod login;
mod logout;
mod me;
mod password;
mod refresh;
mod signup;

/// The `/auth` routes (nested under `/auth` by the router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signup", post(signup::signup))
        .route("/login", post(login::login))
        .route("/refresh", post(refresh::refresh))
        .route("/logout", post(logout::logout))
        .route("/logout-all", post(logout::logout_all))
        .route("/me", get(me::me))
        .route("/password", post(password::change_password))
}

/// Problem codes of the `/auth` API.
pub mod codes {
    use crate::error::ProblemCode;

    /// The username breaks the username rules.
    pub const INVALID_USERNAME: ProblemCode = ProblemCode::new("invalid_username");
    /// The new password fails the password policy.
    pub const WEAK_PASSWORD: ProblemCode = ProblemCode::new("weak_password");
    /// The e-mail address is not plausible.
    pub const INVALID_EMAIL: ProblemCode = ProblemCode::new("invalid_email");
    /// A role to grant does not exist.
    pub const UNKNOWN_ROLE: ProblemCode = ProblemCode::new("unknown_role");
    /// Another account has this username.
    pub const USERNAME_TAKEN: ProblemCode = ProblemCode::new("username_taken");
    /// Self-service signup is switched off.
    pub const SIGNUP_CLOSED: ProblemCode = ProblemCode::new("signup_closed");
    /// Unknown user, wrong password or disabled account (one code for all three).
    pub const INVALID_CREDENTIALS: ProblemCode = ProblemCode::new("invalid_credentials");
    /// The current password given to change it is wrong.
    pub const WRONG_PASSWORD: ProblemCode = ProblemCode::new("wrong_password");
    /// The refresh token is unknown, expired, revoked or was replayed.
    pub const INVALID_REFRESH_TOKEN: ProblemCode = ProblemCode::new("invalid_refresh_token");
    /// Service-client authentication failed.
    pub const INVALID_CLIENT: ProblemCode = ProblemCode::new("invalid_client");
    /// The client asked for a scope it does not have.
    pub const INVALID_SCOPE: ProblemCode = ProblemCode::new("invalid_scope");
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidUsername(e) => {
                ApiError::unprocessable(codes::INVALID_USERNAME, e.to_string())
            }
            AuthError::WeakPassword(e) => {
                ApiError::unprocessable(codes::WEAK_PASSWORD, e.to_string())
            }
            AuthError::InvalidEmail(e) => {
                ApiError::unprocessable(codes::INVALID_EMAIL, e.to_string())
            }
            AuthError::UnknownRole(role) => {
                ApiError::unprocessable(codes::UNKNOWN_ROLE, format!("there is no role \"{role}\""))
            }
            AuthError::UsernameTaken => {
                ApiError::conflict(codes::USERNAME_TAKEN, "this username is taken")
            }
            AuthError::SignupClosed => ApiError::forbidden_with(
                codes::SIGNUP_CLOSED,
                "signup is closed; an administrator creates accounts",
            ),
            AuthError::InvalidCredentials => {
                ApiError::unauthorized(codes::INVALID_CREDENTIALS, "invalid username or password")
            }
            AuthError::WrongCurrentPassword => {
                ApiError::forbidden_with(codes::WRONG_PASSWORD, "the current password is wrong")
            }
            AuthError::Throttled { retry_after } => ApiError::too_many_requests(retry_after),
            AuthError::InvalidGrant => ApiError::unauthorized(
                codes::INVALID_REFRESH_TOKEN,
                "the refresh token is invalid, expired or revoked; log in again",
            ),
            AuthError::InvalidClient => {
                ApiError::unauthorized(codes::INVALID_CLIENT, "client authentication failed")
            }
            AuthError::InvalidScope => ApiError::bad_request(
                codes::INVALID_SCOPE,
                "the requested scope is not granted to this client",
            ),
            AuthError::SessionEnded => ApiError::invalid_token("the session has ended"),
            AuthError::NotAnAccessToken => {
                ApiError::invalid_token("the token is not a Gatehouse access token")
            }
            other @ (AuthError::UnsupportedHash
            | AuthError::HashingConfig(_)
            | AuthError::Hashing(_)
            | AuthError::Encoding
            | AuthError::Signing(_)
            | AuthError::Store(_)) => ApiError::internal(other),
        }
    }
}

/// The body of a successful login or refresh.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

impl From<IssuedTokens> for TokenPair {
    fn from(tokens: IssuedTokens) -> Self {
        Self {
            access_token: tokens.access_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token.expose().to_owned(),
            refresh_expires_in: tokens.refresh_expires_in,
        }
    }
}

/// Adds `Cache-Control: no-store` (RFC 6749 §5.1): responses carrying tokens must not be
/// cached by anything between Gatehouse and the client.
pub fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
