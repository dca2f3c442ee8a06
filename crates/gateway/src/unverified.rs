//! Reading a token WITHOUT verifying it, for two narrow purposes only: choosing which
//! verifier to run (by `iss`), and explaining a refusal (a Graph token). Nothing read here ever
//! grants access: every token is then verified in full by the chosen verifier.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The Microsoft Graph resource, as it appears in `aud`.
const GRAPH_AUDIENCES: [&str; 3] = [
    "00000003-0000-0000-c000-000000000000",
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
];

/// What the unverified parts of a token say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Peek {
    /// The payload's `iss`, when it is a string.
    pub issuer: Option<String>,
    /// The header carries a `nonce` (Graph access tokens do; their signature is computed over
    /// a hashed nonce, so no one but Graph can verify them).
    pub header_nonce: bool,
    /// The payload's `aud` is Microsoft Graph.
    pub graph_audience: bool,
}

impl Peek {
    /// Whether the token looks minted for Microsoft Graph.
    pub fn is_graph_token(&self) -> bool {
        self.header_nonce || self.graph_audience
    }
}

/// Decodes header and payload; `None` for anything that is not three base64url JSON segments.
/// The caller has already bounded the token's size.
pub fn peek(token: &str) -> Option<Peek> {
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |segment: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = decode(header)?;
    let payload = decode(payload)?;
    let graph_audience = match payload.get("aud") {
        Some(Value::String(aud)) => GRAPH_AUDIENCES.contains(&aud.as_str()),
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|a| a.as_str().is_some_and(|a| GRAPH_AUDIENCES.contains(&a))),
        _ => false,
    };
    Some(Peek {
        issuer: payload
            .get("iss")
            .and_then(Value::as_str)
            .map(str::to_owned),
        header_nonce: header.contains_key("nonce"),
        graph_audience,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn the_issuer_is_read_for_dispatch() {
        let peek = peek(&token(r#"{"alg":"RS256"}"#, r#"{"iss":"https://idp"}"#)).unwrap();
        assert_eq!(peek.issuer.as_deref(), Some("https://idp"));
        assert!(!peek.is_graph_token());
    }

    #[test]
    fn graph_tokens_are_recognised_by_header_nonce_or_audience() {
        let by_nonce = peek(&token(r#"{"alg":"RS256","nonce":"abc"}"#, r#"{"iss":"x"}"#)).unwrap();
        assert!(by_nonce.is_graph_token());
        let by_aud = peek(&token(
            r#"{"alg":"RS256"}"#,
            r#"{"aud":"https://graph.microsoft.com"}"#,
        ))
        .unwrap();
        assert!(by_aud.is_graph_token());
        let by_aud_list = peek(&token(
            r#"{"alg":"RS256"}"#,
            r#"{"aud":["api://mine","00000003-0000-0000-c000-000000000000"]}"#,
        ))
        .unwrap();
        assert!(by_aud_list.is_graph_token());
    }

    #[test]
    fn garbage_is_not_peekable() {
        assert_eq!(peek("a.b"), None);
        assert_eq!(peek("a.b.c.d"), None);
        assert_eq!(peek("!!.??.x"), None);
        assert_eq!(peek(&token("[]", "{}")), None);
    }
}
