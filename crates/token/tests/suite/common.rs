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

/// The suite's key for `alg`, generated on first use and shared by the tests of one process
/// (RSA generation is slow, and nextest runs each test in its own process).
pub fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: [std::sync::OnceLock<SigningKey>; 12] = [const { std::sync::OnceLock::new() }; 12];
    let index = Algorithm::ALL
        .iter()
        .position(|candidate| *candidate == alg)
        .unwrap();
    KEYS[index].get_or_init(|| SigningKey::generate(alg).unwrap())
}
