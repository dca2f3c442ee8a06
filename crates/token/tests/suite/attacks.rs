//! The attack table: RFC 8725 threats and published JWT CVEs, each a crafted token with the
//! exact [`Reason`] it must be refused with (or `Ok` for the look-alikes that are valid).

use aws_lc_rs::hmac;
use base64::Engine as _;
use gatehouse_token::{Algorithm, KeySet, Reason, SigningKey, Validation, Verifier};
use serde_json::{Map, Value, json};

use crate::common::{NOW, claims, key, now, validation};
use crate::forge::{
    P256_ORDER, b64, der_of, der_signature, es256_signature, es256_token, hmac_token, negate_mod_n,
    signing_input, unb64,
};

struct Case {
    name: &'static str,
    verifier: Verifier,
    token: String,
    expect: Result<(), Reason>,
}

fn verifier(keys: &[&SigningKey], validation: Validation) -> Verifier {
    Verifier::new(
        KeySet::new(keys.iter().map(|key| key.verifying_key()).collect()).unwrap(),
        validation,
    )
}

fn es() -> &'static SigningKey {
    key(Algorithm::Es256)
}

fn es_verifier() -> Verifier {
    verifier(&[es()], validation())
}

/// An ES256 header with the key's kid, plus `extra` members (which may replace alg or kid).
fn header(extra: Value) -> String {
    let mut map = Map::new();
    map.insert("alg".into(), "ES256".into());
    map.insert("kid".into(), es().kid().as_str().into());
    if let Value::Object(extra) = extra {
        map.extend(extra);
    }
    Value::Object(map).to_string()
}

/// The suite's valid claims with `changes` applied (`null` removes a claim).
fn payload(changes: Value) -> String {
    let mut map = claims();
    if let Value::Object(changes) = changes {
        for (name, value) in changes {
            if value.is_null() {
                map.remove(&name);
            } else {
                map.insert(name, value);
            }
        }
    }
    Value::Object(map).to_string()
}

/// A correctly signed ES256 token whose claims carry `changes`.
fn with_claims(changes: Value) -> String {
    es256_token(es(), &header(json!({})), &payload(changes))
}

/// A correctly signed ES256 token whose header carries `extra`.
fn with_header(extra: Value) -> String {
    es256_token(es(), &header(extra), &payload(json!({})))
}

/// An ES256 token with the given raw signature bytes.
fn with_signature(signature: &[u8]) -> String {
    format!(
        "{}.{}",
        signing_input(&header(json!({})), &payload(json!({}))),
        b64(signature)
    )
}

fn hs256_secret() -> Vec<u8> {
    der_of(key(Algorithm::Hs256))
}

/// An HS256 token MACed with `secret`, addressed to `target`'s kid.
fn hs256_confusion(target: &SigningKey, secret: &[u8]) -> String {
    let header = json!({"alg": "HS256", "kid": target.kid().as_str()}).to_string();
    hmac_token(secret, hmac::HMAC_SHA256, &header, &payload(json!({})))
}

/// The RSA verification key's SubjectPublicKeyInfo as PEM text.
fn rsa_public_pem() -> String {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
    let pair = RsaKeyPair::from_pkcs8(&der_of(key(Algorithm::Rs256))).unwrap();
    let spki = pair.public_key().as_der().unwrap();
    pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref()))
}

fn alg_none(spelling: &str) -> String {
    let header = json!({"alg": spelling, "kid": es().kid().as_str()}).to_string();
    format!("{}.", signing_input(&header, &payload(json!({}))))
}

fn valid() -> String {
    with_claims(json!({}))
}

/// Replaces the segment at `index` of a valid token.
fn replace_segment(index: usize, segment: &str) -> String {
    let token = valid();
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = segment;
    parts.join(".")
}

fn cases() -> Vec<Case> {
    let es_kid = es().kid().as_str().to_owned();
    let rs = key(Algorithm::Rs256);
    let ed = key(Algorithm::EdDsa);
    let attacker = SigningKey::generate(Algorithm::Es256).unwrap();
    let good_signature = {
        let input = signing_input(&header(json!({})), &payload(json!({})));
        es256_signature(es(), &input)
    };
    let c = |name, token, expect| Case {
        name,
        verifier: es_verifier(),
        token,
        expect,
    };
    let with = |name, verifier, token, expect| Case {
        name,
        verifier,
        token,
        expect,
    };
    use Reason::*;
    vec![
        // --- control: the honest token verifies, so every refusal below is the rule's doing.
        c("control: honest ES256 token", valid(), Ok(())),
        // --- alg none (CVE-2015-9235 and friends), every letter case.
        c("alg none", alg_none("none"), Err(UnsupportedAlgorithm)),
        c("alg None", alg_none("None"), Err(UnsupportedAlgorithm)),
        c("alg NONE", alg_none("NONE"), Err(UnsupportedAlgorithm)),
        c("alg nOnE", alg_none("nOnE"), Err(UnsupportedAlgorithm)),
        c(
            "alg none with a signature",
            with_header(json!({"alg": "none"})),
            Err(UnsupportedAlgorithm),
        ),
        c(
            "alg empty",
            with_header(json!({"alg": ""})),
            Err(UnsupportedAlgorithm),
        ),
        c(
            "alg lower-case es256",
            with_header(json!({"alg": "es256"})),
            Err(UnsupportedAlgorithm),
        ),
        c(
            "alg missing",
            es256_token(
                es(),
                &json!({"kid": es_kid}).to_string(),
                &payload(json!({})),
            ),
            Err(Malformed),
        ),
        // --- RS/HS key confusion (CVE-2016-10555, CVE-2022-29217): HMAC with public key material.
        with(
            "HS256 MACed with the RSA public key PEM",
            verifier(&[rs], validation()),
            hs256_confusion(rs, rsa_public_pem().as_bytes()),
            Err(AlgorithmMismatch),
        ),
        with(
            "HS256 MACed with the RSA public JWK",
            verifier(&[rs], validation()),
            hs256_confusion(
                rs,
                serde_json::to_string(&rs.public_jwk()).unwrap().as_bytes(),
            ),
            Err(AlgorithmMismatch),
        ),
        with(
            "HS256 MACed with the RSA modulus bytes",
            verifier(&[rs], validation()),
            hs256_confusion(rs, &unb64(rs.public_jwk().unwrap().n.as_deref().unwrap())),
            Err(AlgorithmMismatch),
        ),
        with(
            "HS256 MACed with the EC public point",
            es_verifier(),
            hs256_confusion(
                es(),
                &[
                    unb64(es().public_jwk().unwrap().x.as_deref().unwrap()),
                    unb64(es().public_jwk().unwrap().y.as_deref().unwrap()),
                ]
                .concat(),
            ),
            Err(AlgorithmMismatch),
        ),
        with(
            "HS256 MACed with the Ed25519 public key",
            verifier(&[ed], validation()),
            hs256_confusion(ed, &unb64(ed.public_jwk().unwrap().x.as_deref().unwrap())),
            Err(AlgorithmMismatch),
        ),
        with(
            "RS256 token against an HS256 key",
            verifier(&[key(Algorithm::Hs256)], validation()),
            rs.sign(None, &claims()).unwrap().replacen(
                &b64(json!({"alg":"RS256","kid":rs.kid().as_str()}).to_string()),
                &b64(json!({"alg":"RS256","kid":key(Algorithm::Hs256).kid().as_str()}).to_string()),
                1,
            ),
            Err(AlgorithmMismatch),
        ),
        with(
            "PS256 header against an RS256 key",
            verifier(&[rs], validation()),
            key(Algorithm::Ps256)
                .sign(None, &claims())
                .unwrap()
                .replacen(
                    &b64(
                        json!({"alg":"PS256","kid":key(Algorithm::Ps256).kid().as_str()})
                            .to_string(),
                    ),
                    &b64(json!({"alg":"PS256","kid":rs.kid().as_str()}).to_string()),
                    1,
                ),
            Err(AlgorithmMismatch),
        ),
        c(
            "ES384 header against an ES256 key",
            with_header(json!({"alg": "ES384"})),
            Err(AlgorithmMismatch),
        ),
        with(
            "control: HS256 MACed with the real secret",
            verifier(&[key(Algorithm::Hs256)], validation()),
            hs256_confusion(key(Algorithm::Hs256), &hs256_secret()),
            Ok(()),
        ),
        with(
            "HS256 tag truncated to 16 bytes",
            verifier(&[key(Algorithm::Hs256)], validation()),
            {
                let token = hs256_confusion(key(Algorithm::Hs256), &hs256_secret());
                let (rest, tag) = token.rsplit_once('.').unwrap();
                format!("{rest}.{}", b64(&unb64(tag)[..16]))
            },
            Err(BadSignature),
        ),
        // --- psychic signatures (CVE-2022-21449) and ECDSA encoding.
        c(
            "ECDSA r = s = 0",
            with_signature(&[0u8; 64]),
            Err(BadSignature),
        ),
        c(
            "ECDSA r = s = n",
            with_signature(&[P256_ORDER, P256_ORDER].concat()),
            Err(BadSignature),
        ),
        c(
            "ECDSA r = 0, s valid",
            with_signature(&[&[0u8; 32][..], &good_signature[32..]].concat()),
            Err(BadSignature),
        ),
        c(
            "ECDSA empty signature",
            with_signature(&[]),
            Err(BadSignature),
        ),
        c(
            "ECDSA DER signature instead of raw r||s",
            with_signature(&der_signature(&good_signature)),
            Err(BadSignature),
        ),
        c(
            "ECDSA signature with a trailing zero byte",
            with_signature(&[&good_signature[..], &[0]].concat()),
            Err(BadSignature),
        ),
        c(
            "ECDSA high-S signature is valid (RFC 7515 A.3 style)",
            with_signature(
                &[
                    &good_signature[..32],
                    &negate_mod_n(&good_signature[32..])[..],
                ]
                .concat(),
            ),
            Ok(()),
        ),
        // --- keys chosen by the token (CVE-2018-0114, RFC 8725 §3.10).
        c(
            "embedded jwk with the attacker's key",
            es256_token(
                &attacker,
                &header(json!({"jwk": attacker.public_jwk(), "kid": attacker.kid().as_str()})),
                &payload(json!({})),
            ),
            Err(ForbiddenHeader),
        ),
        c(
            "embedded jwk naming the real kid",
            with_header(json!({"jwk": es().public_jwk()})),
            Err(ForbiddenHeader),
        ),
        c(
            "jku",
            with_header(json!({"jku": "https://attacker.example/jwks.json"})),
            Err(ForbiddenHeader),
        ),
        c(
            "x5u",
            with_header(json!({"x5u": "https://attacker.example/cert.pem"})),
            Err(ForbiddenHeader),
        ),
        c(
            "x5c",
            with_header(json!({"x5c": ["MIIB"]})),
            Err(ForbiddenHeader),
        ),
        c(
            "token signed by an unknown key under the real kid",
            es256_token(&attacker, &header(json!({})), &payload(json!({}))),
            Err(BadSignature),
        ),
        // --- kid injection.
        c(
            "kid path traversal",
            with_header(json!({"kid": "../../../../../../dev/null"})),
            Err(UnknownKid),
        ),
        c(
            "kid SQL injection",
            with_header(json!({"kid": "x' UNION SELECT 'secret' --"})),
            Err(UnknownKid),
        ),
        c(
            "kid 10 000 characters",
            with_header(json!({"kid": "a".repeat(10_000)})),
            Err(UnknownKid),
        ),
        c(
            "kid empty",
            with_header(json!({"kid": ""})),
            Err(UnknownKid),
        ),
        c(
            "kid with a NUL byte",
            with_header(json!({"kid": format!("{es_kid}\u{0}")})),
            Err(UnknownKid),
        ),
        c(
            "kid a number",
            with_header(json!({"kid": 1})),
            Err(Malformed),
        ),
        c(
            "kid null",
            with_header(json!({"kid": null})),
            Err(Malformed),
        ),
        // --- crit and b64 (RFC 7515 §4.1.11, RFC 7797).
        c(
            "crit naming exp",
            with_header(json!({"crit": ["exp"], "exp": NOW + 60})),
            Err(UnsupportedCritical),
        ),
        c(
            "crit naming an unknown extension",
            with_header(json!({"crit": ["urn:x:evil"], "urn:x:evil": 1})),
            Err(UnsupportedCritical),
        ),
        c(
            "crit empty",
            with_header(json!({"crit": []})),
            Err(Malformed),
        ),
        c(
            "b64 false with crit",
            with_header(json!({"b64": false, "crit": ["b64"]})),
            Err(ForbiddenHeader),
        ),
        c(
            "b64 false without crit",
            with_header(json!({"b64": false})),
            Err(ForbiddenHeader),
        ),
        // --- NumericDate and claim types (CVE-2026-25537 and the jsonwebtoken gaps).
        c(
            "exp as a string",
            with_claims(json!({"exp": (NOW - 3600).to_string()})),
            Err(InvalidClaim),
        ),
        c(
            "exp as a far-future string",
            with_claims(json!({"exp": "99999999999"})),
            Err(InvalidClaim),
        ),
        c(
            "exp true",
            with_claims(json!({"exp": true})),
            Err(InvalidClaim),
        ),
        c(
            "exp an array",
            with_claims(json!({"exp": [NOW + 60]})),
            Err(InvalidClaim),
        ),
        c(
            "nbf as a string",
            with_claims(json!({"nbf": (NOW + 3600).to_string()})),
            Err(InvalidClaim),
        ),
        c(
            "iat as a string",
            with_claims(json!({"iat": NOW.to_string()})),
            Err(InvalidClaim),
        ),
        c(
            "iss an array holding the right issuer",
            with_claims(json!({"iss": ["https://issuer.example"]})),
            Err(InvalidClaim),
        ),
        c(
            "iss a number",
            with_claims(json!({"iss": 1})),
            Err(InvalidClaim),
        ),
        c(
            "sub a number",
            with_claims(json!({"sub": 1})),
            Err(InvalidClaim),
        ),
        c(
            "aud an object",
            with_claims(json!({"aud": {"api": true}})),
            Err(InvalidClaim),
        ),
        c(
            "aud array with a non-string",
            with_claims(json!({"aud": ["api", 1]})),
            Err(InvalidClaim),
        ),
        c(
            "aud empty array",
            with_claims(json!({"aud": []})),
            Err(InvalidClaim),
        ),
        c(
            "aud array with the right audience",
            with_claims(json!({"aud": ["other", "api"]})),
            Ok(()),
        ),
        // --- framing and encoding.
        c(
            "padded base64 header",
            replace_segment(0, &format!("{}=", b64(header(json!({"x": "y"}))))),
            Err(Malformed),
        ),
        c(
            "padded base64 signature",
            format!("{}=", valid()),
            Err(Malformed),
        ),
        c(
            "standard alphabet + and / in the signature",
            replace_segment(
                2,
                &base64::engine::general_purpose::STANDARD_NO_PAD
                    .encode([0xfb, 0xff, 0xfe, 0xfb, 0xef, 0xbe]),
            ),
            Err(Malformed),
        ),
        c(
            "non-zero trailing bits in the signature",
            {
                // 64 bytes encode to 86 chars whose last one carries 4 unused bits.
                let token = valid();
                let (rest, last) = token.split_at(token.len() - 1);
                let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let index = alphabet.find(last).unwrap();
                format!("{rest}{}", &alphabet[index | 1..(index | 1) + 1])
            },
            Err(Malformed),
        ),
        c(
            "two segments",
            valid().rsplit_once('.').unwrap().0.to_owned(),
            Err(Malformed),
        ),
        c("four segments", format!("{}.", valid()), Err(Malformed)),
        c(
            "five segments (JWE shape)",
            format!("{}.e30.e30", valid()),
            Err(Malformed),
        ),
        c(
            "leading whitespace",
            format!(" {}", valid()),
            Err(Malformed),
        ),
        c(
            "header a JSON array",
            es256_token(es(), "[\"ES256\"]", &payload(json!({}))),
            Err(Malformed),
        ),
        c(
            "header a JSON string",
            es256_token(es(), "\"ES256\"", &payload(json!({}))),
            Err(Malformed),
        ),
        c(
            "payload a JSON array",
            es256_token(es(), &header(json!({})), "[1]"),
            Err(Malformed),
        ),
        c(
            "payload not JSON",
            es256_token(es(), &header(json!({})), "hello"),
            Err(Malformed),
        ),
        c(
            "duplicate alg in the header",
            es256_token(
                es(),
                &format!("{{\"alg\":\"ES256\",\"kid\":\"{es_kid}\",\"alg\":\"none\"}}"),
                &payload(json!({})),
            ),
            Err(Malformed),
        ),
        c(
            "duplicate alg spelled with an escape",
            es256_token(
                es(),
                &format!("{{\"alg\":\"ES256\",\"kid\":\"{es_kid}\",\"\\u0061lg\":\"ES256\"}}"),
                &payload(json!({})),
            ),
            Err(Malformed),
        ),
        c(
            "duplicate sub in the payload",
            es256_token(
                es(),
                &header(json!({})),
                &payload(json!({})).replacen('{', "{\"sub\":\"admin\",", 1),
            ),
            Err(Malformed),
        ),
        c(
            "oversized token",
            with_claims(json!({"pad": "x".repeat(16 * 1024)})),
            Err(TooLarge),
        ),
        c(
            "oversized garbage is refused before decoding",
            "%".repeat(16 * 1024 + 1),
            Err(TooLarge),
        ),
        with(
            "a configured smaller size limit",
            verifier(&[es()], validation().with_max_token_bytes(200)),
            valid(),
            Err(TooLarge),
        ),
        c(
            "payload modified after signing",
            {
                let token = valid();
                let parts: Vec<&str> = token.split('.').collect();
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64(payload(json!({"sub": "admin"}))),
                    parts[2]
                )
            },
            Err(BadSignature),
        ),
        // --- key selection.
        with(
            "no kid with a two-key set",
            verifier(&[es(), rs], validation()),
            es256_token(
                es(),
                &json!({"alg": "ES256"}).to_string(),
                &payload(json!({})),
            ),
            Err(AmbiguousKey),
        ),
        with(
            "no kid with a one-key set",
            es_verifier(),
            es256_token(
                es(),
                &json!({"alg": "ES256"}).to_string(),
                &payload(json!({})),
            ),
            Ok(()),
        ),
        with(
            "kid of a key not in the set",
            verifier(&[rs], validation()),
            valid(),
            Err(UnknownKid),
        ),
        // --- time.
        c(
            "expired beyond the leeway",
            with_claims(json!({"exp": NOW - 61})),
            Err(Expired),
        ),
        c(
            "exp exactly leeway ago",
            with_claims(json!({"exp": NOW - 60})),
            Err(Expired),
        ),
        c(
            "exp within the leeway",
            with_claims(json!({"exp": NOW - 59})),
            Ok(()),
        ),
        c(
            "nbf beyond the leeway",
            with_claims(json!({"nbf": NOW + 61})),
            Err(NotYetValid),
        ),
        c(
            "nbf exactly at the leeway",
            with_claims(json!({"nbf": NOW + 60})),
            Ok(()),
        ),
        with(
            "exp with zero leeway at the instant",
            verifier(&[es()], validation().with_leeway(0)),
            with_claims(json!({"exp": NOW})),
            Err(Expired),
        ),
        c(
            "exp missing",
            with_claims(json!({"exp": null})),
            Err(MissingClaim),
        ),
        with(
            "exp missing when no claim is required",
            verifier(
                &[es()],
                validation().with_required_claims(Vec::<String>::new()),
            ),
            with_claims(json!({"exp": null})),
            Ok(()),
        ),
        with(
            "a custom required claim missing",
            verifier(&[es()], validation().with_required_claims(["exp", "jti"])),
            valid(),
            Err(MissingClaim),
        ),
        // --- issuer, audience, type.
        c(
            "wrong issuer",
            with_claims(json!({"iss": "https://evil.example"})),
            Err(WrongIssuer),
        ),
        c(
            "issuer differing only in case",
            with_claims(json!({"iss": "https://ISSUER.example"})),
            Err(WrongIssuer),
        ),
        c(
            "issuer missing",
            with_claims(json!({"iss": null})),
            Err(MissingClaim),
        ),
        c(
            "wrong audience",
            with_claims(json!({"aud": "other-api"})),
            Err(WrongAudience),
        ),
        c(
            "audience missing",
            with_claims(json!({"aud": null})),
            Err(MissingClaim),
        ),
        with(
            "an audience but none configured",
            verifier(
                &[es()],
                Validation::new().with_issuers(["https://issuer.example"]),
            ),
            valid(),
            Err(WrongAudience),
        ),
        with(
            "typ JWT where at+jwt is required",
            verifier(&[es()], validation().with_expected_typ("at+jwt")),
            with_header(json!({"typ": "JWT"})),
            Err(WrongType),
        ),
        with(
            "typ missing where at+jwt is required",
            verifier(&[es()], validation().with_expected_typ("at+jwt")),
            valid(),
            Err(WrongType),
        ),
        with(
            "typ application/AT+JWT where at+jwt is required",
            verifier(&[es()], validation().with_expected_typ("at+jwt")),
            with_header(json!({"typ": "application/AT+JWT"})),
            Ok(()),
        ),
    ]
}

#[test]
fn every_attack_is_refused_with_its_reason() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let outcome = case
                .verifier
                .verify(&case.token, now())
                .map(|_| ())
                .map_err(|r| r.reason);
            (outcome != case.expect).then(|| {
                format!(
                    "{}: expected {:?}, got {:?}",
                    case.name, case.expect, outcome
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn case_names_are_unique() {
    let mut names: Vec<_> = cases().iter().map(|case| case.name).collect();
    let total = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), total);
}
