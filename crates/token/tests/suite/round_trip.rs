//! Tokens Gatehouse signs verify, for every algorithm and through every key format.

use gatehouse_token::{Algorithm, KeySet, SigningKey, Verifier, unverified};

use crate::common::{claims, key, now, validation, verifier_for};

#[test]
fn a_token_signed_with_each_algorithm_verifies_with_its_key() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let token = key.sign(Some("JWT"), &claims()).unwrap();
        let verified = verifier_for(key).verify(&token, now()).unwrap();
        assert_eq!(verified.header.alg(), alg);
        assert_eq!(verified.claims.subject(), Some("user-1"));
        assert_eq!(verified.key_id.as_ref(), Some(key.kid()));
    }
}

#[test]
fn a_key_survives_a_pem_round_trip_and_keeps_its_kid() {
    for alg in Algorithm::ALL {
        let original = key(alg);
        let pem = original.to_pem();
        assert!(pem.starts_with(&format!(
            "gatehouse-alg: {alg}\ngatehouse-kid: {}\n",
            original.kid()
        )));
        let reloaded = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(reloaded.algorithm(), alg);
        assert_eq!(reloaded.kid(), original.kid());
        let token = reloaded.sign(None, &claims()).unwrap();
        verifier_for(original).verify(&token, now()).unwrap();
    }
}

#[test]
fn a_public_jwks_round_trip_verifies_every_asymmetric_algorithm() {
    let keys: Vec<_> = Algorithm::ALL
        .into_iter()
        .filter(|alg| !alg.is_hmac())
        .map(|alg| key(alg).verifying_key())
        .collect();
    let jwks = serde_json::to_string(&KeySet::new(keys).unwrap().to_jwks()).unwrap();
    let verifier = Verifier::new(KeySet::from_jwks_json(&jwks).unwrap(), validation());
    for alg in Algorithm::ALL.into_iter().filter(|alg| !alg.is_hmac()) {
        let token = key(alg).sign(None, &claims()).unwrap();
        verifier.verify(&token, now()).unwrap();
    }
}

#[test]
fn generated_kids_are_rfc_7638_thumbprints() {
    for alg in Algorithm::ALL.into_iter().filter(|alg| !alg.is_hmac()) {
        let key = key(alg);
        assert_eq!(
            key.public_jwk().unwrap().thumbprint().unwrap(),
            key.kid().as_str()
        );
    }
}

#[test]
fn inspect_decodes_without_verifying() {
    let token = key(Algorithm::Es256)
        .sign(Some("at+jwt"), &claims())
        .unwrap();
    let inspected = unverified::inspect(&token).unwrap();
    assert_eq!(inspected.header["typ"], "at+jwt");
    assert_eq!(inspected.claims.issuer(), Some("https://issuer.example"));
    assert_eq!(inspected.signature_len, 64);
}

#[test]
fn verifiers_and_keys_can_be_shared_between_threads() {
    fn assert_shareable<T: Send + Sync + 'static>() {}
    assert_shareable::<Verifier>();
    assert_shareable::<KeySet>();
    assert_shareable::<SigningKey>();
    assert_shareable::<gatehouse_token::VerifiedToken>();
}
