//! Fuzzes everything in the token core that parses untrusted text: compact JWS verification
//! (both layers), the unverified inspector, JWK Set parsing and key files. None may panic, and
//! no input may verify against keys the fuzzer does not hold.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run verify` from the repository root.

#![no_main]

use std::sync::OnceLock;

use gatehouse_token::{
    Algorithm, KeyId, KeySet, SigningKey, UnixTime, Validation, Verifier, unverified,
};
use libfuzzer_sys::fuzz_target;

fn verifiers() -> &'static [Verifier] {
    static VERIFIERS: OnceLock<Vec<Verifier>> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let hmac = SigningKey::from_hmac_secret(
            Algorithm::Hs256,
            b"fuzzing-secret-that-is-32-bytes!",
            KeyId::new("hs").expect("valid kid"),
        )
        .expect("valid secret");
        let ec = SigningKey::generate(Algorithm::Es256).expect("key generation");
        let ed = SigningKey::generate(Algorithm::EdDsa).expect("key generation");
        let one = |key: &SigningKey| {
            Verifier::new(
                KeySet::new(vec![key.verifying_key()]).expect("one key"),
                Validation::new().with_required_claims(Vec::<String>::new()),
            )
        };
        let all = KeySet::new(vec![hmac.verifying_key(), ec.verifying_key(), ed.verifying_key()])
            .expect("distinct kids");
        vec![
            one(&hmac),
            one(&ec),
            Verifier::new(all, Validation::new().with_expected_typ("at+jwt")),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for verifier in verifiers() {
        assert!(verifier.verify(text, UnixTime::from_secs(1_800_000_000)).is_err());
        assert!(verifier.verify_jws(text).is_err());
    }
    let _ = unverified::inspect(text);
    let _ = KeySet::from_jwks_json(text);
    let _ = SigningKey::from_pem(text);
});
