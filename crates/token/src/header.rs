//! [`Header`]: a JOSE header that passed Gatehouse's header rules.

use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::key_id::KeyId;
use crate::rejection::{Reason, Rejection, quoted};

/// Header parameters that would let the token choose its own verification key (RFC 8725 §3.10,
/// CVE-2018-0114). Gatehouse never fetches or trusts them, and refuses tokens that carry them
/// so a misconfigured peer is noticed instead of silently ignored.
const KEY_CHOOSING_PARAMETERS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

/// A JWS header that passed the header rules: `alg` is a supported algorithm (never `none`),
/// `kid` and `typ` are strings, there is no `crit`, no `b64: false`, and no key-choosing
/// parameter (`jwk`, `jku`, `x5u`, `x5c`). The whole JSON object is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    alg: Algorithm,
    kid: Option<KeyId>,
    typ: Option<String>,
    raw: Map<String, Value>,
}

impl Header {
    /// Applies the header rules to a decoded JSON object.
    pub(crate) fn from_object(raw: Map<String, Value>) -> Result<Header, Rejection> {
        // One pass over the members instead of a hashed lookup per rule: headers are small
        // and this is on every verification.
        let (mut alg, mut b64, mut crit, mut kid, mut typ, mut cty) =
            (None, None, None, None, None, None);
        let mut key_choosing = None;
        for (name, value) in &raw {
            match name.as_str() {
                "alg" => alg = Some(value),
                "b64" => b64 = Some(value),
                "crit" => crit = Some(value),
                "kid" => kid = Some(value),
                "typ" => typ = Some(value),
                "cty" => cty = Some(value),
                other if KEY_CHOOSING_PARAMETERS.contains(&other) => {
                    key_choosing = key_choosing.or(Some(other));
                }
                _ => {}
            }
        }
        let alg = match alg {
            Some(Value::String(name)) => name.parse::<Algorithm>().map_err(|_| {
                Rejection::new(
                    Reason::UnsupportedAlgorithm,
                    format!("alg {} is not accepted", quoted(name)),
                )
            })?,
            Some(_) => return Err(malformed("alg is not a string")),
            None => return Err(malformed("header has no alg")),
        };
        match b64 {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => {
                return Err(Rejection::new(
                    Reason::ForbiddenHeader,
                    "b64: false (unencoded payload, RFC 7797) is not accepted",
                ));
            }
            Some(_) => return Err(malformed("b64 is not a boolean")),
        }
        if let Some(crit) = crit {
            // RFC 7515 §4.1.11: a non-empty array of names. Gatehouse implements no extension,
            // so any well-formed `crit` names something it does not understand.
            let names: Option<Vec<&str>> = match crit {
                Value::Array(items) if !items.is_empty() => {
                    items.iter().map(Value::as_str).collect()
                }
                _ => None,
            };
            let names =
                names.ok_or_else(|| malformed("crit is not a non-empty array of strings"))?;
            return Err(Rejection::new(
                Reason::UnsupportedCritical,
                format!(
                    "crit names unsupported extensions {}",
                    quoted(&names.join(","))
                ),
            ));
        }
        if let Some(name) = KEY_CHOOSING_PARAMETERS
            .iter()
            .find(|name| raw.contains_key(**name))
        {
            return Err(Rejection::new(
                Reason::ForbiddenHeader,
                format!("header parameter {name} is not accepted: keys come only from the key set"),
            ));
        }
        let kid = match kid {
            None => None,
            Some(Value::String(kid)) => Some(KeyId::new(kid.as_str()).map_err(|_| {
                Rejection::new(
                    Reason::UnknownKid,
                    format!("kid {} is not a valid key id", quoted(kid)),
                )
            })?),
            Some(_) => return Err(malformed("kid is not a string")),
        };
        let typ = match typ {
            None => None,
            Some(Value::String(typ)) => Some(typ.clone()),
            Some(_) => return Err(malformed("typ is not a string")),
        };
        if cty.is_some_and(|cty| !cty.is_string()) {
            return Err(malformed("cty is not a string"));
        }
        Ok(Header { alg, kid, typ, raw })
    }

    /// The algorithm the token claims (already checked against the key when verified).
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if the header has one.
    pub fn kid(&self) -> Option<&KeyId> {
        self.kid.as_ref()
    }

    /// The `typ` parameter, if present.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// Any header parameter.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }

    /// The whole header object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.raw
    }
}

fn malformed(detail: &str) -> Rejection {
    Rejection::new(Reason::Malformed, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Header, Rejection> {
        match value {
            Value::Object(map) => Header::from_object(map),
            _ => unreachable!("tests pass objects"),
        }
    }

    fn reason(value: Value) -> Reason {
        parse(value).unwrap_err().reason
    }

    #[test]
    fn a_plain_header_parses() {
        let header = parse(json!({"alg":"ES256","kid":"k1","typ":"JWT","x5t":"keep"})).unwrap();
        assert_eq!(header.alg(), Algorithm::Es256);
        assert_eq!(header.kid().map(KeyId::as_str), Some("k1"));
        assert_eq!(header.typ(), Some("JWT"));
        assert_eq!(header.get("x5t"), Some(&json!("keep")));
    }

    #[test]
    fn alg_must_be_a_supported_string() {
        assert_eq!(reason(json!({})), Reason::Malformed);
        assert_eq!(reason(json!({"alg": 256})), Reason::Malformed);
        assert_eq!(reason(json!({"alg": "none"})), Reason::UnsupportedAlgorithm);
        assert_eq!(reason(json!({"alg": "HS1"})), Reason::UnsupportedAlgorithm);
    }

    #[test]
    fn b64_false_is_forbidden_and_b64_true_is_the_default() {
        assert_eq!(
            reason(json!({"alg":"HS256","b64":false})),
            Reason::ForbiddenHeader
        );
        assert_eq!(
            reason(json!({"alg":"HS256","b64":"false"})),
            Reason::Malformed
        );
        assert!(parse(json!({"alg":"HS256","b64":true})).is_ok());
    }

    #[test]
    fn any_crit_is_unsupported_and_a_bad_crit_is_malformed() {
        assert_eq!(
            reason(json!({"alg":"HS256","crit":["exp"],"exp":1})),
            Reason::UnsupportedCritical
        );
        assert_eq!(reason(json!({"alg":"HS256","crit":[]})), Reason::Malformed);
        assert_eq!(
            reason(json!({"alg":"HS256","crit":"b64"})),
            Reason::Malformed
        );
        assert_eq!(reason(json!({"alg":"HS256","crit":[1]})), Reason::Malformed);
    }

    #[test]
    fn key_choosing_parameters_are_forbidden() {
        for name in KEY_CHOOSING_PARAMETERS {
            let mut header = json!({"alg":"RS256"});
            header[name] = json!("https://attacker.example/");
            assert_eq!(reason(header), Reason::ForbiddenHeader, "{name}");
        }
    }

    #[test]
    fn kid_typ_and_cty_must_be_strings() {
        assert_eq!(reason(json!({"alg":"HS256","kid":1})), Reason::Malformed);
        assert_eq!(
            reason(json!({"alg":"HS256","typ":["JWT"]})),
            Reason::Malformed
        );
        assert_eq!(reason(json!({"alg":"HS256","cty":null})), Reason::Malformed);
        assert_eq!(reason(json!({"alg":"HS256","kid":""})), Reason::UnknownKid);
    }
}
