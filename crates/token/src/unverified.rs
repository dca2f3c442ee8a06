//! Decoding a token WITHOUT verifying it — only for displaying a token to a human
//! (`gatehouse token inspect`). Nothing here may feed an authorization decision.

use serde_json::{Map, Value};

use crate::base64url;
use crate::claims::Claims;
use crate::json;
use crate::rejection::{Reason, Rejection};

/// Longest token [`inspect`] decodes.
pub const MAX_INSPECT_BYTES: usize = 64 * 1024;

/// A decoded, UNVERIFIED token.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspected {
    /// The header as sent (it may name `none` or an unknown algorithm).
    pub header: Map<String, Value>,
    /// The claims as sent. Nothing about them has been checked.
    pub claims: Claims,
    /// Length of the decoded signature in bytes.
    pub signature_len: usize,
}

/// Decodes header and claims with the same strict framing as verification (three segments,
/// strict base64url, JSON objects without duplicate members) but checks NO signature and NO
/// claim.
pub fn inspect(token: &str) -> Result<Inspected, Rejection> {
    if token.len() > MAX_INSPECT_BYTES {
        return Err(Rejection::new(
            Reason::TooLarge,
            "token is too large to inspect",
        ));
    }
    let segments: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = segments.as_slice() else {
        return Err(Rejection::new(
            Reason::Malformed,
            "a compact JWS has exactly three dot-separated segments",
        ));
    };
    let decode = |segment: &str, what: &str| {
        base64url::decode(segment).map_err(|_| {
            Rejection::new(
                Reason::Malformed,
                format!("{what} is not canonical base64url"),
            )
        })
    };
    let object = |bytes: Vec<u8>, what: &str| {
        json::parse_object(&bytes)
            .map_err(|err| Rejection::new(Reason::Malformed, format!("{what}: {err}")))
    };
    Ok(Inspected {
        header: object(decode(header, "header")?, "header")?,
        claims: Claims::from_payload(decode(payload, "payload")?)
            .map_err(|err| Rejection::new(Reason::Malformed, format!("payload: {err}")))?,
        signature_len: decode(signature, "signature")?.len(),
    })
}
