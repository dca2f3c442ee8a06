//! Key rules: what a JWK, JWK Set or key file must satisfy before any token is checked.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_token::{Algorithm, Jwk, KeyError, KeyId, KeySet, SigningKey, VerifyingKey};
use serde_json::{Value, json};

use crate::common::{claims, key, now, verifier_for};
use crate::forge::{b64, der_of};

/// The first key of the Wycheproof JWK group with this comment.
fn wycheproof_key(comment: &str) -> Value {
    let path = format!(
        "{}/tests/data/wycheproof/json_web_key_test.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let group = file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["comment"] == comment)
        .unwrap();
    let set = if group["public"].is_object() {
        &group["public"]
    } else {
        &group["private"]
    };
    set["keys"][0].clone()
}

fn es256_jwk() -> Value {
    serde_json::to_value(key(Algorithm::Es256).public_jwk().unwrap()).unwrap()
}

fn with(mut base: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            base.as_object_mut().unwrap().remove(name);
        } else {
            base[name] = value.clone();
        }
    }
    base
}

fn from_jwk(value: Value) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_jwk(&serde_json::from_value::<Jwk>(value).unwrap())
}

type Check = fn(&KeyError) -> bool;

#[test]
fn unusable_jwks_are_refused_with_their_reason() {
    let oct = |bytes: usize| json!({"kty": "oct", "alg": "HS256", "k": b64(vec![7u8; bytes])});
    let x = es256_jwk()["x"].as_str().unwrap().to_owned();
    let cases: Vec<(&str, Value, Check)> = vec![
        (
            "RSA 1024-bit key",
            wycheproof_key("keysize_too_small"),
            |e| matches!(e, KeyError::RsaKeySize { bits: 1024 }),
        ),
        (
            "RSA public exponent 1",
            wycheproof_key("exponentOne"),
            |e| matches!(e, KeyError::WeakRsaKey(_)),
        ),
        (
            "RSA key with the ROCA fingerprint",
            wycheproof_key("jws_rsa_roca_key"),
            |e| matches!(e, KeyError::WeakRsaKey(_)),
        ),
        ("HS256 secret of 31 bytes", oct(31), |e| {
            matches!(
                e,
                KeyError::WeakHmacSecret {
                    min: 32,
                    actual: 31,
                    ..
                }
            )
        }),
        ("HS256 empty secret", oct(0), |e| {
            matches!(e, KeyError::WeakHmacSecret { .. })
        }),
        (
            "HS512 secret of 63 bytes",
            with(oct(63), json!({"alg": "HS512"})),
            |e| matches!(e, KeyError::WeakHmacSecret { min: 64, .. }),
        ),
        (
            "EC key with alg RS256",
            with(es256_jwk(), json!({"alg": "RS256"})),
            |e| matches!(e, KeyError::KeyAlgorithmMismatch { .. }),
        ),
        (
            "EC key with alg HS256",
            with(es256_jwk(), json!({"alg": "HS256"})),
            |e| matches!(e, KeyError::KeyAlgorithmMismatch { .. }),
        ),
        (
            "P-256 key with alg ES384",
            with(es256_jwk(), json!({"alg": "ES384"})),
            |e| matches!(e, KeyError::KeyAlgorithmMismatch { .. }),
        ),
        (
            "oct key with alg ES256",
            with(oct(32), json!({"alg": "ES256"})),
            |e| matches!(e, KeyError::KeyAlgorithmMismatch { .. }),
        ),
        (
            "RSA key with alg HS256",
            with(
                serde_json::to_value(key(Algorithm::Rs256).public_jwk()).unwrap(),
                json!({"alg": "HS256"}),
            ),
            |e| matches!(e, KeyError::KeyAlgorithmMismatch { .. }),
        ),
        (
            "OKP X25519 key",
            json!({"kty": "OKP", "crv": "X25519", "x": x}),
            |e| matches!(e, KeyError::UnsupportedKeyType(_)),
        ),
        (
            "EC P-521 key without alg",
            json!({"kty": "EC", "crv": "P-521", "x": x, "y": x}),
            |e| matches!(e, KeyError::UnsupportedKeyType(_)),
        ),
        ("alg none", with(es256_jwk(), json!({"alg": "none"})), |e| {
            matches!(e, KeyError::UnsupportedAlgorithm(_))
        }),
        ("use enc", with(es256_jwk(), json!({"use": "enc"})), |e| {
            matches!(e, KeyError::NotForVerification(_))
        }),
        (
            "key_ops without verify",
            with(es256_jwk(), json!({"key_ops": ["sign"]})),
            |e| matches!(e, KeyError::NotForVerification(_)),
        ),
        (
            "private member d",
            with(es256_jwk(), json!({"d": x})),
            |e| matches!(e, KeyError::PrivateKeyMaterial),
        ),
        (
            "EC point not on the curve",
            wycheproof_key("invalid_point"),
            |e| matches!(e, KeyError::InvalidKey(_)),
        ),
        (
            "EC coordinate of 31 bytes",
            with(es256_jwk(), json!({"x": b64([1u8; 31])})),
            |e| matches!(e, KeyError::InvalidKey(_)),
        ),
        (
            "EC coordinate padded base64",
            with(es256_jwk(), json!({"x": format!("{x}=")})),
            |e| matches!(e, KeyError::InvalidKey(_)),
        ),
        (
            "EC key missing y",
            with(es256_jwk(), json!({"y": null})),
            |e| matches!(e, KeyError::InvalidKey(_)),
        ),
        (
            "kid with a space",
            with(es256_jwk(), json!({"kid": "a b"})),
            |e| matches!(e, KeyError::InvalidKeyId),
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, jwk, check)| match from_jwk(jwk) {
            Err(err) if check(&err) => None,
            other => Some(format!("{name}: got {:?}", other.map(|_| "a key"))),
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn use_sig_and_key_ops_with_verify_are_accepted() {
    let key = from_jwk(with(
        es256_jwk(),
        json!({"use": "sig", "key_ops": ["verify"]}),
    ))
    .unwrap();
    assert_eq!(key.algorithm(), Algorithm::Es256);
}

#[test]
fn a_key_set_refuses_two_keys_under_one_kid() {
    let kid = KeyId::new("same").unwrap();
    let a = SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_kid(kid.clone());
    let b = SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_kid(kid);
    assert!(matches!(
        KeySet::new(vec![a.verifying_key(), b.verifying_key()]),
        Err(KeyError::DuplicateKid(_))
    ));
    let jwks = json!({"keys": [a.public_jwk(), b.public_jwk()]}).to_string();
    assert!(matches!(
        KeySet::from_jwks_json(&jwks),
        Err(KeyError::DuplicateKid(_))
    ));
}

#[test]
fn a_jwks_with_duplicate_member_names_is_refused() {
    let jwk = serde_json::to_string(&key(Algorithm::Es256).public_jwk()).unwrap();
    let duplicated = jwk.replacen('{', "{\"kty\":\"RSA\",", 1);
    assert!(matches!(
        KeySet::from_jwks_json(&format!("{{\"keys\":[{duplicated}]}}")),
        Err(KeyError::InvalidJson(_))
    ));
}

#[test]
fn a_jwks_skips_encryption_keys_but_refuses_a_set_with_nothing_else() {
    let enc = json!({"kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "kid": "enc-1",
        "n": key(Algorithm::Rs256).public_jwk().unwrap().n, "e": "AQAB"});
    let sig = key(Algorithm::Rs256).public_jwk();
    let keycloak_like = json!({"keys": [enc, sig]}).to_string();
    let keys = KeySet::from_jwks_json(&keycloak_like).unwrap();
    assert_eq!(keys.len(), 1);
    let only_enc = json!({"keys": [enc]}).to_string();
    assert_eq!(
        KeySet::from_jwks_json(&only_enc).unwrap_err(),
        KeyError::NoUsableKey
    );
}

#[test]
fn a_jwks_mixing_secrets_and_public_keys_is_refused() {
    let mixed = json!({"keys": [
        {"kty": "oct", "alg": "HS256", "kid": "h", "k": b64([9u8; 32])},
        key(Algorithm::Es256).public_jwk(),
    ]})
    .to_string();
    assert_eq!(
        KeySet::from_jwks_json(&mixed).unwrap_err(),
        KeyError::MixedKeySet
    );
}

#[test]
fn a_jwks_with_one_broken_signing_key_is_refused_whole() {
    let broken = with(es256_jwk(), json!({"kid": "broken", "x": b64([1u8; 31])}));
    let jwks = json!({"keys": [key(Algorithm::Rs256).public_jwk(), broken]}).to_string();
    assert!(matches!(
        KeySet::from_jwks_json(&jwks),
        Err(KeyError::InvalidKey(_))
    ));
}

#[test]
fn exported_jwks_hold_public_keys_only() {
    let keys = KeySet::new(vec![
        key(Algorithm::Hs256).verifying_key(),
        key(Algorithm::EdDsa).verifying_key(),
    ])
    .unwrap();
    let jwks = serde_json::to_value(keys.to_jwks()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["use"], "sig");
    assert!(key(Algorithm::Hs256).public_jwk().is_none());
}

#[test]
fn hmac_secrets_shorter_than_the_hash_are_refused() {
    let kid = KeyId::new("h").unwrap();
    for (alg, min) in [
        (Algorithm::Hs256, 32),
        (Algorithm::Hs384, 48),
        (Algorithm::Hs512, 64),
    ] {
        assert!(matches!(
            SigningKey::from_hmac_secret(alg, &vec![1; min - 1], kid.clone()),
            Err(KeyError::WeakHmacSecret { .. })
        ));
        assert!(SigningKey::from_hmac_secret(alg, &vec![1; min], kid.clone()).is_ok());
    }
    assert!(SigningKey::from_hmac_secret(Algorithm::Hs256, b"secret", kid.clone()).is_err());
    assert!(matches!(
        SigningKey::from_hmac_secret(Algorithm::Es256, &[1; 64], kid),
        Err(KeyError::KeyAlgorithmMismatch { .. })
    ));
}

#[test]
fn generated_hmac_secrets_are_the_hash_length_and_distinct() {
    let a = der_of(&SigningKey::generate(Algorithm::Hs384).unwrap());
    let b = der_of(&SigningKey::generate(Algorithm::Hs384).unwrap());
    assert_eq!(a.len(), 48);
    assert_ne!(a, b);
}

fn pem_block(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der))
}

#[test]
fn a_plain_pkcs8_pem_takes_its_algorithm_from_the_key_and_its_kid_from_the_thumbprint() {
    for (alg, default) in [
        (Algorithm::Es256, Algorithm::Es256),
        (Algorithm::Es384, Algorithm::Es384),
        (Algorithm::EdDsa, Algorithm::EdDsa),
        (Algorithm::Ps256, Algorithm::Rs256),
    ] {
        let loaded = SigningKey::from_pem(&pem_block("PRIVATE KEY", &der_of(key(alg)))).unwrap();
        assert_eq!(loaded.algorithm(), default, "{alg}");
        assert_eq!(
            loaded.public_jwk().unwrap().thumbprint().unwrap(),
            loaded.kid().as_str()
        );
    }
}

#[test]
fn a_gatehouse_alg_line_binds_an_rsa_key_to_pss() {
    let text = format!(
        "gatehouse-alg: PS384\n{}",
        pem_block("PRIVATE KEY", &der_of(key(Algorithm::Rs256)))
    );
    assert_eq!(
        SigningKey::from_pem(&text).unwrap().algorithm(),
        Algorithm::Ps384
    );
}

#[test]
fn a_gatehouse_alg_line_that_does_not_fit_the_key_is_refused() {
    let text = format!(
        "gatehouse-alg: ES256\n{}",
        pem_block("PRIVATE KEY", &der_of(key(Algorithm::EdDsa)))
    );
    assert!(matches!(
        SigningKey::from_pem(&text),
        Err(KeyError::InvalidKey(_))
    ));
    let text = format!(
        "gatehouse-alg: none\n{}",
        pem_block("PRIVATE KEY", &der_of(key(Algorithm::EdDsa)))
    );
    assert!(matches!(
        SigningKey::from_pem(&text),
        Err(KeyError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn an_ec_private_key_in_sec1_pem_loads() {
    let pair = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P384_SHA384_FIXED_SIGNING,
        &der_of(key(Algorithm::Es384)),
    )
    .unwrap();
    let sec1 = pair.private_key().as_der().unwrap();
    let loaded = SigningKey::from_pem(&pem_block("EC PRIVATE KEY", sec1.as_ref())).unwrap();
    assert_eq!(loaded.kid(), key(Algorithm::Es384).kid());
}

#[test]
fn an_hmac_key_file_needs_its_algorithm_line() {
    let block = pem_block("GATEHOUSE HMAC KEY", &[5u8; 32]);
    assert!(matches!(
        SigningKey::from_pem(&block),
        Err(KeyError::InvalidPem(_))
    ));
    let loaded =
        SigningKey::from_pem(&format!("gatehouse-alg: HS256\ngatehouse-kid: k1\n{block}")).unwrap();
    assert_eq!(
        (loaded.algorithm(), loaded.kid().as_str()),
        (Algorithm::Hs256, "k1")
    );
}

#[test]
fn key_files_that_are_not_keys_are_refused() {
    for text in [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        assert!(SigningKey::from_pem(text).is_err(), "{text:?}");
    }
}

#[test]
fn key_files_are_lf_pem_with_explanatory_lines() {
    let pem = key(Algorithm::Es256).to_pem();
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines[0], "gatehouse-alg: ES256");
    assert_eq!(
        lines[1],
        format!("gatehouse-kid: {}", key(Algorithm::Es256).kid())
    );
    assert_eq!(lines[2], "-----BEGIN PRIVATE KEY-----");
    assert!(!pem.contains('\r'));
    assert!(
        key(Algorithm::Hs512)
            .to_pem()
            .contains("-----BEGIN GATEHOUSE HMAC KEY-----")
    );
    // The PEM body is plain base64 of PKCS#8, as OpenSSL expects.
    let body: String = lines[3..lines.len() - 1].concat();
    assert_eq!(
        STANDARD.decode(body).unwrap(),
        der_of(key(Algorithm::Es256))
    );
}

#[test]
fn debug_output_never_shows_key_material() {
    let key = key(Algorithm::Hs256);
    let secret_b64 = STANDARD.encode(der_of(key));
    let shown = format!("{key:?} {:?}", key.verifying_key());
    assert!(!shown.contains(&secret_b64[..20]));
    assert!(shown.contains("Hs256"));
}

#[test]
fn with_kid_renames_the_key_in_tokens_and_verification() {
    let renamed = SigningKey::from_pem(&key(Algorithm::EdDsa).to_pem())
        .unwrap()
        .with_kid(KeyId::new("rotated-2026").unwrap());
    let token = renamed.sign(None, &claims()).unwrap();
    let verified = verifier_for(&renamed).verify(&token, now()).unwrap();
    assert_eq!(verified.key_id.unwrap().as_str(), "rotated-2026");
}
