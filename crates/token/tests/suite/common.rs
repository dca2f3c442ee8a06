//! Helpers shared by the suite's modules.

use gatehouse_token::{Algorithm, KeySet, SigningKey, UnixTime, Validation, Verifier};
use serde_json::{Map, Value, json};

/// The instant every test token is checked at.
pub const NOW: i64 = 1_800_000_000;

pub fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

/// A JSON object literal as a claim map.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Claims valid at [`NOW`] for issuer `https://issuer.example` and audience `api`.
pub fn claims() -> Map<String, Value> {
    object(json!({
        "iss": "https://issuer.example",
        "sub": "user-1",
        "aud": "api",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 600,
    }))
}

/// Validation matching [`claims`].
pub fn validation() -> Validation {
    Validation::new()
        .with_issuers(["https://issuer.example"])
        .with_audiences(["api"])
}

/// A verifier holding only `key`'s verifying key.
pub fn verifier_for(key: &SigningKey) -> Verifier {
    Verifier::new(
        KeySet::new(vec![key.verifying_key()]).unwrap(),
        validation(),
    )
}

/// One generated key per algorithm, generated once (RSA generation is slow).
pub fn keys() -> &'static [SigningKey] {
    static KEYS: std::sync::OnceLock<Vec<SigningKey>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        Algorithm::ALL
            .into_iter()
            .map(|alg| SigningKey::generate(alg).unwrap())
            .collect()
    })
}

/// The generated key for `alg`.
pub fn key(alg: Algorithm) -> &'static SigningKey {
    keys().iter().find(|key| key.algorithm() == alg).unwrap()
}
