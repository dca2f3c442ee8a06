//! Google Wycheproof JWS and JWK vectors, every case, at the JWS layer.

use std::collections::BTreeMap;

use gatehouse_token::{Jwk, JwkSet, KeySet, Validation, Verifier, VerifyingKey};
use serde::Deserialize;

#[derive(Deserialize)]
struct File<G> {
    #[serde(rename = "numberOfTests")]
    number_of_tests: usize,
    #[serde(rename = "testGroups")]
    test_groups: Vec<G>,
}

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "tcId")]
    tc_id: u32,
    comment: String,
    jws: String,
    result: String,
}

#[derive(Deserialize)]
struct JwsGroup {
    public: Option<Jwk>,
    private: Option<Jwk>,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct JwkGroup {
    public: Option<JwkSet>,
    private: Option<JwkSet>,
    tests: Vec<Case>,
}

fn load<G: for<'de> Deserialize<'de>>(name: &str) -> File<G> {
    let path = format!(
        "{}/tests/data/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs the cases against the key set (or the error building it) and returns the tcIds whose
/// outcome differs from the file's `result`, with the case comment.
fn differences(keys: Result<KeySet, String>, cases: &[Case]) -> BTreeMap<u32, String> {
    let mut differ = BTreeMap::new();
    for case in cases {
        let accepted = match &keys {
            Ok(keys) => Verifier::new(keys.clone(), Validation::default())
                .verify_jws(&case.jws)
                .is_ok(),
            Err(_) => false,
        };
        let expected = match case.result.as_str() {
            "valid" => true,
            "invalid" => false,
            other => panic!("tcId {}: unexpected result {other}", case.tc_id),
        };
        if accepted != expected {
            differ.insert(case.tc_id, case.comment.clone());
        }
    }
    differ
}

#[test]
fn every_jws_vector_behaves_as_expected_except_the_documented_differences() {
    let file: File<JwsGroup> = load("json_web_signature_test.json");
    let mut differ = BTreeMap::new();
    let mut count = 0;
    for group in &file.test_groups {
        count += group.tests.len();
        // Verification uses the public key; symmetric groups only have the `private` JWK.
        let jwk = group.public.as_ref().or(group.private.as_ref()).unwrap();
        let keys = VerifyingKey::from_jwk(jwk)
            .map_err(|err| err.to_string())
            .and_then(|key| KeySet::new(vec![key]).map_err(|err| err.to_string()));
        differ.extend(differences(keys, &group.tests));
    }
    assert_eq!(count, file.number_of_tests);
    assert_eq!(count, 401);

    let documented: BTreeMap<u32, String> = [
        // RFC 7520 Figure 20 signs with PS384 while the vector's key says `"alg": "PS256"`:
        // the key's algorithm binds, so the token is an algorithm mismatch (twice: with and
        // without key_ops).
        (346, "Figure20"),
        (350, "Figure20"),
        // ES512 / P-521 is not a supported algorithm (RFC 7520 Figure 27, twice).
        (347, "Figure27"),
        (351, "Figure27"),
        // Vector bugs: these "invalid padding" cases are byte-identical to the valid tcId 357
        // (asserted below), so no verifier can both accept 357 and refuse them.
        (367, "invalidBase64Padding"),
        (370, "invalidBase64PaddingInPayload"),
        // The known quirk: a `?` inside a segment is not base64url. A strict decoder refuses
        // it, and so must Gatehouse.
        (372, "InvalidCharacterInsertedInHeader"),
        (373, "InvalidCharacterInsertedInPayload"),
    ]
    .into_iter()
    .map(|(id, comment)| (id, comment.to_owned()))
    .collect();
    assert_eq!(differ, documented);
}

#[test]
fn the_invalid_padding_cases_367_and_370_are_byte_identical_to_the_valid_357() {
    let file: File<JwsGroup> = load("json_web_signature_test.json");
    let jws = |id: u32| {
        file.test_groups
            .iter()
            .flat_map(|group| &group.tests)
            .find(|case| case.tc_id == id)
            .map(|case| (case.jws.clone(), case.result.clone()))
            .unwrap()
    };
    assert_eq!(jws(357).1, "valid");
    assert_eq!(jws(367), (jws(357).0, "invalid".to_owned()));
    assert_eq!(jws(370), (jws(357).0, "invalid".to_owned()));
}

#[test]
fn the_known_quirk_cases_372_and_373_are_refused_as_malformed() {
    let file: File<JwsGroup> = load("json_web_signature_test.json");
    let mut seen = 0;
    for group in &file.test_groups {
        let jwk = group.public.as_ref().or(group.private.as_ref()).unwrap();
        for case in group
            .tests
            .iter()
            .filter(|case| [372, 373].contains(&case.tc_id))
        {
            let keys = KeySet::new(vec![VerifyingKey::from_jwk(jwk).unwrap()]).unwrap();
            let rejection = Verifier::new(keys, Validation::default())
                .verify_jws(&case.jws)
                .unwrap_err();
            assert_eq!(
                rejection.reason,
                gatehouse_token::Reason::Malformed,
                "tcId {}",
                case.tc_id
            );
            assert!(case.jws.contains('?'));
            seen += 1;
        }
    }
    assert_eq!(seen, 2);
}

#[test]
fn every_jwk_vector_behaves_as_expected() {
    let file: File<JwkGroup> = load("json_web_key_test.json");
    let mut differ = BTreeMap::new();
    let mut count = 0;
    for group in &file.test_groups {
        count += group.tests.len();
        let set = group.public.as_ref().or(group.private.as_ref()).unwrap();
        let keys = KeySet::from_jwk_set(set).map_err(|err| err.to_string());
        differ.extend(differences(keys, &group.tests));
    }
    assert_eq!(count, file.number_of_tests);
    assert_eq!(count, 26);
    assert_eq!(differ, BTreeMap::new());
}
