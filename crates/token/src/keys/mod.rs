//! Keys: [`SigningKey`] (private key or HMAC secret) and [`VerifyingKey`] (public key or HMAC
//! secret), each bound to exactly one [`crate::Algorithm`] when it is built.

mod key_file;
mod rsa_checks;
mod signing;
mod verifying;

pub use signing::SigningKey;
pub use verifying::VerifyingKey;
