//! The published examples: RFC 7515 Appendix A.1–A.3, RFC 8037 Appendix A.4, RFC 7638 §3.1.

use gatehouse_token::{
    Algorithm, Jwk, KeySet, Reason, SigningKey, UnixTime, Validation, Verifier, VerifyingKey,
};
use serde_json::json;

/// The claims of RFC 7515 A.1–A.3: `{"iss":"joe","exp":1300819380,"http://example.com/is_root":true}`.
const RFC7515_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const RFC7515_EXP: i64 = 1_300_819_380;

const A1_TOKEN: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
);

const A2_N: &str = concat!(
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx",
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs",
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH",
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV",
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8",
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
);
const A2_SIGNATURE: &str = concat!(
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
    "p0igcN_IoypGlUPQGe77Rw"
);

const A3_SIGNATURE: &str =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_TOKEN: &str = concat!(
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.",
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
);

fn jwk(value: serde_json::Value) -> Jwk {
    serde_json::from_value(value).unwrap()
}

fn verifier(jwk: Jwk, validation: Validation) -> Verifier {
    Verifier::new(
        KeySet::new(vec![VerifyingKey::from_jwk(&jwk).unwrap()]).unwrap(),
        validation,
    )
}

fn a1_key() -> Jwk {
    jwk(json!({
        "kty": "oct",
        "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
    }))
}

fn joe() -> Validation {
    Validation::new().with_issuers(["joe"])
}

/// An instant at which the RFC tokens (which expired in 2011) are still valid.
fn in_2011() -> UnixTime {
    UnixTime::from_secs(RFC7515_EXP - 100)
}

#[test]
fn rfc_7515_a1_hs256_verifies_as_a_jwt_at_its_time() {
    let verified = verifier(a1_key(), joe())
        .verify(A1_TOKEN, in_2011())
        .unwrap();
    assert_eq!(verified.header.typ(), Some("JWT"));
    assert_eq!(verified.claims.issuer(), Some("joe"));
    assert_eq!(
        verified.claims.get("http://example.com/is_root"),
        Some(&json!(true))
    );
}

#[test]
fn rfc_7515_a1_is_expired_today() {
    let rejection = verifier(a1_key(), joe())
        .verify(A1_TOKEN, UnixTime::from_secs(1_800_000_000))
        .unwrap_err();
    assert_eq!(rejection.reason, Reason::Expired);
}

#[test]
fn rfc_7515_a2_rs256_verifies() {
    let key = jwk(json!({"kty": "RSA", "n": A2_N, "e": "AQAB"}));
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_PAYLOAD}.{A2_SIGNATURE}");
    let verified = verifier(key, joe()).verify(&token, in_2011()).unwrap();
    assert_eq!(verified.header.alg(), Algorithm::Rs256);
}

#[test]
fn rfc_7515_a3_es256_verifies() {
    let key = jwk(json!({
        "kty": "EC",
        "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }));
    let token = format!("eyJhbGciOiJFUzI1NiJ9.{RFC7515_PAYLOAD}.{A3_SIGNATURE}");
    let verified = verifier(key, joe()).verify(&token, in_2011()).unwrap();
    assert_eq!(verified.header.alg(), Algorithm::Es256);
}

#[test]
fn rfc_8037_a4_ed25519_verifies_at_the_jws_layer() {
    // The payload is the text "Example of Ed25519 signing", not a claim set.
    let key = jwk(json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}));
    let jws = verifier(key, Validation::default())
        .verify_jws(RFC8037_TOKEN)
        .unwrap();
    assert_eq!(jws.payload, b"Example of Ed25519 signing");
    assert_eq!(jws.header.alg(), Algorithm::EdDsa);
}

#[test]
fn rfc_8037_published_private_key_loads_with_its_public_key_and_a3_thumbprint() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    // PKCS#8 v1 for Ed25519 is a fixed 16-byte prefix followed by the 32-byte seed.
    let mut pkcs8 = ED25519_PKCS8_V1_PREFIX.to_vec();
    pkcs8.extend(URL_SAFE_NO_PAD.decode(RFC8037_D).unwrap());
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(&pkcs8)
    );
    let key = SigningKey::from_pem(&pem).unwrap();
    assert_eq!(key.algorithm(), Algorithm::EdDsa);
    assert_eq!(key.public_jwk().unwrap().x.as_deref(), Some(RFC8037_X));
    // RFC 8037 A.3: the thumbprint of this key.
    assert_eq!(
        key.kid().as_str(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

#[test]
fn rfc_7638_thumbprint_of_the_rfc_7515_a2_key_is_stable() {
    let key = VerifyingKey::from_jwk(&jwk(json!({"kty": "RSA", "n": A2_N, "e": "AQAB"}))).unwrap();
    let exported = key.to_public_jwk().unwrap();
    assert_eq!(exported.n.as_deref(), Some(A2_N));
    assert_eq!(key.thumbprint(), Some(exported.thumbprint().unwrap()));
}
