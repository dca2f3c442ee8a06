//! Property tests: random bytes and random mutations of valid tokens never panic and never
//! verify.

use gatehouse_token::{Algorithm, unverified};
use proptest::prelude::*;

use crate::common::{claims, key, now, verifier_for};

/// One valid token per algorithm family, signed once.
fn tokens() -> &'static [(Algorithm, String)] {
    static TOKENS: std::sync::OnceLock<Vec<(Algorithm, String)>> = std::sync::OnceLock::new();
    TOKENS.get_or_init(|| {
        [
            Algorithm::Hs256,
            Algorithm::Rs256,
            Algorithm::Ps256,
            Algorithm::Es256,
            Algorithm::EdDsa,
        ]
        .into_iter()
        .map(|alg| (alg, key(alg).sign(Some("JWT"), &claims()).unwrap()))
        .collect()
    })
}

/// How a valid token is damaged.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit { position: usize, bit: u8 },
    Truncate { keep: usize },
    SwapSegments { a: usize, b: usize },
    Insert { position: usize, byte: u8 },
    Delete { position: usize },
    DuplicateSegment { index: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(position, bit)| Mutation::FlipBit { position, bit }),
        any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        (0usize..3, 0usize..3)
            .prop_filter("distinct", |(a, b)| a != b)
            .prop_map(|(a, b)| Mutation::SwapSegments { a, b }),
        (any::<usize>(), any::<u8>())
            .prop_map(|(position, byte)| Mutation::Insert { position, byte }),
        any::<usize>().prop_map(|position| Mutation::Delete { position }),
        (0usize..3).prop_map(|index| Mutation::DuplicateSegment { index }),
    ]
}

fn apply(token: &str, mutation: &Mutation) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    match *mutation {
        Mutation::FlipBit { position, bit } => {
            let i = position % bytes.len();
            bytes[i] ^= 1 << bit;
        }
        Mutation::Truncate { keep } => bytes.truncate(keep % bytes.len()),
        Mutation::SwapSegments { a, b } => {
            let mut parts: Vec<&str> = token.split('.').collect();
            parts.swap(a, b);
            bytes = parts.join(".").into_bytes();
        }
        Mutation::Insert { position, byte } => bytes.insert(position % (bytes.len() + 1), byte),
        Mutation::Delete { position } => {
            bytes.remove(position % bytes.len());
        }
        Mutation::DuplicateSegment { index } => {
            let mut parts: Vec<&str> = token.split('.').collect();
            parts.insert(index, parts[index]);
            bytes = parts.join(".").into_bytes();
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_mutated_token_never_verifies(which in 0usize..5, mutation in mutation()) {
        let (alg, token) = &tokens()[which];
        let mutated = apply(token, &mutation);
        // A mutation can be a no-op (a swap of equal segments never happens, but a bit flip
        // never is one); only a changed token must fail.
        prop_assume!(mutated != token.as_bytes());
        if let Ok(text) = std::str::from_utf8(&mutated) {
            let verifier = verifier_for(key(*alg));
            prop_assert!(verifier.verify(text, now()).is_err(), "{alg} accepted {mutation:?}");
            prop_assert!(verifier.verify_jws(text).is_err());
            let _ = unverified::inspect(text);
        }
    }

    #[test]
    fn random_bytes_never_panic_or_verify(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        for (alg, _) in tokens() {
            prop_assert!(verifier_for(key(*alg)).verify(&text, now()).is_err());
        }
        let _ = unverified::inspect(&text);
    }

    #[test]
    fn random_dotted_base64url_never_panics_or_verifies(
        segments in proptest::collection::vec("[A-Za-z0-9_-]{0,120}", 1..5)
    ) {
        let text = segments.join(".");
        for (alg, _) in tokens() {
            prop_assert!(verifier_for(key(*alg)).verify(&text, now()).is_err());
        }
        let _ = unverified::inspect(&text);
    }

    #[test]
    fn random_json_headers_never_panic_or_verify(header in "\\{(\"[a-z]{1,4}\":(\"[A-Za-z0-9]{0,6}\"|[0-9]{1,3}|true|null|\\[\\]),?){0,5}\\}") {
        let (alg, token) = &tokens()[0];
        let rest = token.split_once('.').unwrap().1;
        let forged = format!("{}.{rest}", crate::forge::b64(&header));
        prop_assert!(verifier_for(key(*alg)).verify(&forged, now()).is_err());
    }
}
