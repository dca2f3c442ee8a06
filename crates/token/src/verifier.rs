//! [`Verifier`]: the JWS checks (framing, header rules, key choice, signature) followed by
//! the JWT checks ([`Validation`]).

use crate::base64url;
use crate::claims::Claims;
use crate::header::Header;
use crate::json;
use crate::key_id::KeyId;
use crate::keyset::KeySet;
use crate::rejection::{Reason, Rejection};
use crate::unix_time::UnixTime;
use crate::validation::Validation;

/// Verifies tokens against a fixed [`KeySet`] and [`Validation`]. Cheap to share: build it
/// once and call [`Verifier::verify`] from any thread.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: KeySet,
    validation: Validation,
}

/// A token whose signature and claims verified.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedToken {
    /// The header.
    pub header: Header,
    /// The claims.
    pub claims: Claims,
    /// The kid of the key that verified the signature (`None` for a key without one).
    pub key_id: Option<KeyId>,
}

/// A JWS whose signature verified; the payload is arbitrary bytes, not checked as a JWT.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedJws {
    /// The header.
    pub header: Header,
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The kid of the key that verified the signature.
    pub key_id: Option<KeyId>,
}

/// The three decoded parts of a compact JWS, before any key is involved.
pub(crate) struct Decoded<'t> {
    pub(crate) header: Header,
    pub(crate) signing_input: &'t str,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

/// Splits and decodes a compact JWS: size limit first, then exactly three segments, strict
/// base64url everywhere, a header that is a JSON object without duplicate members passing the
/// header rules.
pub(crate) fn decode(token: &str, max_bytes: usize) -> Result<Decoded<'_>, Rejection> {
    if token.len() > max_bytes {
        return Err(Rejection::new(
            Reason::TooLarge,
            format!("token is {} bytes, the limit is {max_bytes}", token.len()),
        ));
    }
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(Rejection::new(
            Reason::Malformed,
            "a compact JWS has exactly three dot-separated segments",
        ));
    };
    let header_bytes = base64url::decode(header_b64)
        .map_err(|_| Rejection::new(Reason::Malformed, "header is not canonical base64url"))?;
    let header = json::parse_object(&header_bytes)
        .map_err(|err| Rejection::new(Reason::Malformed, format!("header: {err}")))?;
    let header = Header::from_object(header)?;
    let payload = base64url::decode(payload_b64)
        .map_err(|_| Rejection::new(Reason::Malformed, "payload is not canonical base64url"))?;
    let signature = base64url::decode(signature_b64)
        .map_err(|_| Rejection::new(Reason::Malformed, "signature is not canonical base64url"))?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Ok(Decoded {
        header,
        signing_input,
        payload,
        signature,
    })
}

impl Verifier {
    /// A verifier for these keys and rules.
    pub fn new(keys: KeySet, validation: Validation) -> Verifier {
        Verifier { keys, validation }
    }

    /// The keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The rules.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// Verifies a JWT as of `now`: the JWS layer ([`Verifier::verify_jws`]), then `typ`, then
    /// the payload as a JSON object (duplicate members refused) and the claim rules.
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<VerifiedToken, Rejection> {
        let jws = self.verify_jws(token)?;
        self.validation.check_typ(&jws.header)?;
        let claims = Claims::from_payload(jws.payload)
            .map_err(|err| Rejection::new(Reason::Malformed, format!("payload: {err}")))?;
        self.validation.check_claims(&claims, now)?;
        Ok(VerifiedToken {
            header: jws.header,
            claims,
            key_id: jws.key_id,
        })
    }

    /// Verifies only the JWS layer: size, framing, header rules, key choice by `kid`, the
    /// algorithm binding and the signature. The payload may be any bytes; no claim is read.
    pub fn verify_jws(&self, token: &str) -> Result<VerifiedJws, Rejection> {
        let decoded = decode(token, self.validation.max_token_bytes())?;
        let key = self.keys.select(decoded.header.kid().map(KeyId::as_str))?;
        // The key's algorithm was fixed when the key was built; the header can only agree.
        if key.algorithm() != decoded.header.alg() {
            return Err(Rejection::new(
                Reason::AlgorithmMismatch,
                format!(
                    "token alg {} but the key is bound to {}",
                    decoded.header.alg(),
                    key.algorithm()
                ),
            ));
        }
        key.verify_signature(decoded.signing_input.as_bytes(), &decoded.signature)?;
        Ok(VerifiedJws {
            header: decoded.header,
            payload: decoded.payload,
            key_id: key.kid().cloned(),
        })
    }
}
