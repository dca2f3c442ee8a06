//! Hand-made tokens: arbitrary header and payload text, signed with the suite's own keys
//! through aws-lc-rs directly, so that a crafted token fails only for the rule under test.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use aws_lc_rs::{hmac, rand::SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_token::SigningKey;

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// The DER inside a key's PEM block (PKCS#8, or the raw HMAC secret).
pub fn der_of(key: &SigningKey) -> Vec<u8> {
    let pem = key.to_pem();
    let block = &pem[pem.find("-----BEGIN").unwrap()..];
    pem::parse(block).unwrap().into_contents()
}

/// `base64url(header).base64url(payload)`.
pub fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header), b64(payload))
}

/// A token MACed with `secret` under any header text.
pub fn hmac_token(secret: &[u8], alg: hmac::Algorithm, header: &str, payload: &str) -> String {
    let input = signing_input(header, payload);
    let tag = hmac::sign(&hmac::Key::new(alg, secret), input.as_bytes());
    format!("{input}.{}", b64(tag))
}

/// The raw `r||s` ES256 signature of `input` by `key` (an ES256 [`SigningKey`]).
pub fn es256_signature(key: &SigningKey, input: &str) -> Vec<u8> {
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der_of(key)).unwrap();
    pair.sign(&SystemRandom::new(), input.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

/// A token signed by an ES256 key under any header text.
pub fn es256_token(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = signing_input(header, payload);
    format!("{input}.{}", b64(es256_signature(key, &input)))
}

/// The P-256 group order n.
pub const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `n - s` for a 32-byte big-endian `s < n`: the other valid ("high" or "low") S value.
pub fn negate_mod_n(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        out[i] = digit as u8;
    }
    out
}

/// DER `ECDSA-Sig-Value` for a raw `r||s` signature.
pub fn der_signature(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let first = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        let mut value = bytes[first..].to_vec();
        if value[0] & 0x80 != 0 {
            value.insert(0, 0);
        }
        let mut out = vec![0x02, value.len() as u8];
        out.extend(value);
        out
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}
