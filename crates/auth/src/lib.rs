//! Accounts, passwords, sessions, refresh-token rotation and token issuance for Gatehouse. Uses the store traits; knows no HTTP and no SQL.
//!
//! The HTTP layer holds one [`Auth`] and calls one method per flow: [`Auth::signup`],
//! [`Auth::login`], [`Auth::refresh`], [`Auth::logout`], [`Auth::logout_all`],
//! [`Auth::change_password`], [`Auth::client_credentials`], and for tokens that verified,
//! [`Auth::check_access_token`] (revocation). Every method that compares with the clock takes
//! `now`; every flow appends an audit event.
//!
//! - Values from outside are parsed into [`Username`], [`Password`] (policy-checked, secret)
//!   and [`Email`] before anything else happens.
//! - Passwords are hashed with Argon2id on a bounded blocking pool ([`PasswordHasher`]);
//!   imported bcrypt hashes verify and are upgraded at the next login.
//! - Access tokens are RFC 9068 JWTs ([`AccessClaims`], `typ: at+jwt`) signed with the key the
//!   caller passes (the active key of its key ring). Refresh tokens are opaque
//!   ([`RefreshToken`]), stored hashed, rotated on every use, in families (sessions).

mod access;
mod accounts;
mod clients;
mod email;
mod error;
mod external;
mod hashing;
mod password;
mod refresh;
mod service;
mod sessions;
mod throttle;
mod username;

pub use access::{ACCESS_TOKEN_TYP, AccessClaims, TokenSubject};
pub use accounts::NewAccount;
pub use clients::client_actor;
pub use email::{Email, InvalidEmail};
pub use error::AuthError;
pub use hashing::{HashingConfig, PasswordHasher, Verdict};
pub use password::{Password, WeakPassword};
pub use refresh::{RefreshToken, RefreshTokenKey};
pub use service::{
    Account, Auth, AuthConfig, ClientContext, IssuedAccessToken, IssuedTokens, SignupMode,
};
pub use throttle::ThrottlePolicy;
pub use username::{InvalidUsername, Username};

#[cfg(test)]
mod tests;
