//! [`KeyError`]: everything that can go wrong building, loading, exporting or using a key.

use crate::algorithm::Algorithm;

/// An error about key material: parsing a JWK, JWK Set or key file, generating a key, or
/// signing. Token rejections are [`crate::Rejection`]s instead. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An algorithm name that is not a supported JWS algorithm (including every spelling of
    /// `none`).
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A key id that is empty, longer than 128 characters, or not visible ASCII.
    #[error("invalid key id: must be 1 to 128 visible ASCII characters")]
    InvalidKeyId,
    /// An HMAC secret shorter than the hash output (RFC 7518 §3.2).
    #[error("{alg} needs a secret of at least {min} bytes, got {actual}")]
    WeakHmacSecret {
        /// The algorithm the secret was meant for.
        alg: Algorithm,
        /// The minimum length in bytes.
        min: usize,
        /// The length given.
        actual: usize,
    },
    /// An RSA modulus outside 2048..=8192 bits.
    #[error("RSA modulus of {bits} bits is outside the accepted 2048..=8192")]
    RsaKeySize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// An RSA public key that is unsafe to trust even though it parses (tiny exponent, ROCA).
    #[error("weak RSA key: {0}")]
    WeakRsaKey(&'static str),
    /// The key's type or curve cannot be used with the algorithm it is bound to.
    #[error("a {key_type} key cannot be used for {alg}")]
    KeyAlgorithmMismatch {
        /// The key type (`kty`, with curve where relevant).
        key_type: String,
        /// The algorithm the key was to be bound to.
        alg: Algorithm,
    },
    /// A JWK whose `use` is not `sig`, or whose `key_ops` exclude `verify`.
    #[error("key is not meant for signature verification ({0})")]
    NotForVerification(String),
    /// A JWK meant for verification carries private key members.
    #[error("JWK carries private key material; a verification key set must hold public keys only")]
    PrivateKeyMaterial,
    /// A JWK key type or curve Gatehouse does not support.
    #[error("unsupported key type {0}")]
    UnsupportedKeyType(String),
    /// Key material that does not decode or is not a valid key.
    #[error("invalid key material: {0}")]
    InvalidKey(String),
    /// A key set with two keys under one `kid`.
    #[error("duplicate kid {0} in key set")]
    DuplicateKid(String),
    /// A JWK Set mixing symmetric secrets with public keys: a document that publishes public
    /// keys must never carry a secret, and a store of secrets has no business holding public
    /// keys, so such a set is a mistake either way.
    #[error("the JWK Set mixes symmetric (oct) secrets with public keys")]
    MixedKeySet,
    /// A JWK Set with no key usable for JWS verification.
    #[error("the JWK Set holds no key usable for signature verification")]
    NoUsableKey,
    /// A JWK or JWK Set that is not valid JSON of the right shape.
    #[error("invalid JWK JSON: {0}")]
    InvalidJson(String),
    /// A key file that is not in the Gatehouse PEM format.
    #[error("invalid key file: {0}")]
    InvalidPem(String),
    /// Key generation, signing or serialisation failed inside the crypto library.
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
}
