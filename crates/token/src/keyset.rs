//! [`KeySet`]: the verification keys a [`crate::Verifier`] may use, at most one per `kid`.

use serde_json::Value;

use crate::error::KeyError;
use crate::json;
use crate::jwk::{Jwk, JwkSet};
use crate::keys::VerifyingKey;
use crate::rejection::{Reason, Rejection, quoted};

/// Verification keys, at most one per key id.
///
/// A token with a `kid` is checked only against the key with that kid. A token without a
/// `kid` is checked only when the set holds exactly one key: trying several keys in turn
/// would let a token pick among them.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// A key set; two keys with the same kid are refused.
    pub fn new(keys: Vec<VerifyingKey>) -> Result<KeySet, KeyError> {
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = key.kid()
                && keys[..i].iter().any(|earlier| earlier.kid() == Some(kid))
            {
                return Err(KeyError::DuplicateKid(quoted(kid.as_str())));
            }
        }
        Ok(KeySet { keys })
    }

    /// Parses a JWK Set document (duplicate JSON member names refused).
    ///
    /// Keys that are not for JWS verification — `use` other than `sig`, `key_ops` without
    /// `verify`, an `alg` that is not a supported JWS algorithm (e.g. `RSA-OAEP`), or a key
    /// type and curve without one (e.g. X25519, P-521) — are skipped, as identity providers
    /// publish such keys next to their signing keys. Keys that claim to be signing keys but
    /// are unusable (short RSA moduli, weak HMAC secrets, invalid points, private members, an
    /// `alg` that does not fit the key) refuse the whole set: they mean a misconfigured or
    /// tampered document. So does a set mixing `oct` secrets with public keys. A set left with
    /// no key is refused.
    pub fn from_jwks_json(json: &str) -> Result<KeySet, KeyError> {
        let document = json::parse_object(json.as_bytes())
            .map_err(|err| KeyError::InvalidJson(err.to_string()))?;
        let set: JwkSet = serde_json::from_value(Value::Object(document))
            .map_err(|err| KeyError::InvalidJson(err.to_string()))?;
        KeySet::from_jwk_set(&set)
    }

    /// Builds a key set from parsed JWKs, with the rules of [`KeySet::from_jwks_json`].
    pub fn from_jwk_set(set: &JwkSet) -> Result<KeySet, KeyError> {
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in &set.keys {
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => keys.push(key),
                Err(
                    KeyError::NotForVerification(_)
                    | KeyError::UnsupportedAlgorithm(_)
                    | KeyError::UnsupportedKeyType(_),
                ) => {}
                Err(err) => return Err(err),
            }
        }
        if keys.is_empty() {
            return Err(KeyError::NoUsableKey);
        }
        let symmetric = keys.iter().filter(|key| key.algorithm().is_hmac()).count();
        if symmetric != 0 && symmetric != keys.len() {
            return Err(KeyError::MixedKeySet);
        }
        KeySet::new(keys)
    }

    /// The public keys as a JWK Set; HMAC secrets are never exported.
    pub fn to_jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .keys
                .iter()
                .filter_map(VerifyingKey::to_public_jwk)
                .collect::<Vec<Jwk>>(),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty (a verifier with an empty set rejects everything).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.iter()
    }

    /// The key a token with this `kid` (or none) must verify with.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&VerifyingKey, Rejection> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|key| key.kid().is_some_and(|own| own.as_str() == kid))
                .ok_or_else(|| {
                    Rejection::new(
                        Reason::UnknownKid,
                        format!("no key has kid {}", quoted(kid)),
                    )
                }),
            None => match self.keys.as_slice() {
                [only] => Ok(only),
                [] => Err(Rejection::new(Reason::UnknownKid, "the key set is empty")),
                _ => Err(Rejection::new(
                    Reason::AmbiguousKey,
                    format!(
                        "the token has no kid and the key set holds {} keys",
                        self.keys.len()
                    ),
                )),
            },
        }
    }
}
