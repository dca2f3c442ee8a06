//! Pure JOSE core of Gatehouse: JWS signing and verification, keys, JWK Sets and the JWT validation rules. No I/O, no clock.
//!
//! - [`SigningKey`] signs; [`VerifyingKey`]s go into a [`KeySet`]; a [`Verifier`] combines a
//!   key set with [`Validation`] rules and returns a [`VerifiedToken`] or a [`Rejection`]
//!   carrying a machine-readable [`Reason`].
//! - Every key is bound to one [`Algorithm`] when it is built; a token's `alg` only has to
//!   agree with it. `none` cannot be expressed.
//! - Time is a parameter ([`UnixTime`]); the crate never reads the clock.
//! - [`unverified::inspect`] decodes without verifying, for display only.
//!
//! Crypto is aws-lc-rs: keys are parsed once, RSA verification refuses moduli under 2048
//! bits, ECDSA verification takes fixed-length `r||s`, and HMAC tags compare in constant time.

mod algorithm;
mod base64url;
mod claims;
mod error;
mod header;
mod json;
mod jwk;
mod key_id;
mod keys;
mod keyset;
mod rejection;
mod unix_time;
pub mod unverified;
mod validation;
mod verifier;

pub use algorithm::Algorithm;
pub use claims::Claims;
pub use error::KeyError;
pub use header::Header;
pub use jwk::{Jwk, JwkSet};
pub use key_id::KeyId;
pub use keys::{SigningKey, VerifyingKey};
pub use keyset::KeySet;
pub use rejection::{Reason, Rejection};
pub use unix_time::UnixTime;
pub use validation::Validation;
pub use verifier::{VerifiedJws, VerifiedToken, Verifier};
