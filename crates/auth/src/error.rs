//! [`AuthError`]: everything that can go wrong in this crate.

use std::time::Duration;

use crate::{InvalidEmail, InvalidUsername, WeakPassword};

/// The one error type of `gatehouse-auth`. The server maps each variant to an HTTP answer;
/// variants carry no secrets, and `Display` texts are safe to log.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The username does not follow the rules.
    #[error(transparent)]
    InvalidUsername(#[from] InvalidUsername),
    /// The new password fails the policy.
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    /// The e-mail address does not pass the light check.
    #[error(transparent)]
    InvalidEmail(#[from] InvalidEmail),
    /// Another account has this username (compared case-insensitively).
    #[error("the username is taken")]
    UsernameTaken,
    /// A role to grant does not exist.
    #[error("there is no role {0:?}")]
    UnknownRole(String),
    /// Self-service signup is switched off.
    #[error("signup is closed")]
    SignupClosed,
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    /// Unknown user, wrong password or disabled account: deliberately one variant, so callers
    /// cannot tell them apart.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed logins for this account or client address.
    #[error("too many failed logins; retry after {} s", retry_after.as_secs())]
    Throttled {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
    /// A refresh token that is unknown, expired, revoked or replayed (OAuth `invalid_grant`).
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidGrant,
    /// Service-client authentication failed (OAuth `invalid_client`).
    #[error("client authentication failed")]
    InvalidClient,
    /// The client asked for a scope it was not granted (OAuth `invalid_scope`).
    #[error("the requested scope is not granted to this client")]
    InvalidScope,
    /// The access token's session has ended (logged out, revoked, or the account is gone or
    /// disabled).
    #[error("the session has ended")]
    SessionEnded,
    /// Verified claims that are not those of a Gatehouse access token (a claim missing or of
    /// the wrong type).
    #[error("the token is not a Gatehouse access token")]
    NotAnAccessToken,
    /// A stored password hash has a format this crate does not understand.
    #[error("the stored password hash has an unsupported format")]
    UnsupportedHash,
    /// The Argon2 parameters in the configuration are invalid.
    #[error("invalid password hashing parameters: {0}")]
    HashingConfig(String),
    /// Hashing failed or its worker task died.
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The claims could not be encoded as JSON (cannot happen for well-formed claims).
    #[error("encoding the token claims failed")]
    Encoding,
    /// The access token could not be signed.
    #[error("signing the access token failed")]
    Signing(#[source] gatehouse_token::KeyError),
    /// The store failed.
    #[error("storage error")]
    Store(#[from] gatehouse_store::StoreError),
}
