//! JSON Web Keys (RFC 7517) and their RFC 7638 thumbprints.

use std::fmt;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::base64url;
use crate::error::KeyError;

/// Members that only a private JWK has (RFC 7518 §6.3.2, §6.2.2; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// A JSON Web Key as it appears on the wire. Members Gatehouse does not interpret (`x5c`,
/// `x5t`, `issuer`, private members, …) are kept in [`Jwk::other`] so a JWK round-trips.
///
/// A `Jwk` is only data; [`crate::VerifyingKey::from_jwk`] is where it is checked.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` or `oct`.
    pub kty: String,
    /// The algorithm the key is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use (`sig` or `enc`); the JSON member is `use`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Permitted operations (`sign`, `verify`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Curve of an EC or OKP key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate or OKP public key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Symmetric key value, base64url. Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    /// Every other member, kept as given.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A JWK Set (RFC 7517 §5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, in document order.
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// A JWK with only `kty` set.
    pub fn new(kty: impl Into<String>) -> Jwk {
        Jwk {
            kty: kty.into(),
            alg: None,
            kid: None,
            key_use: None,
            key_ops: None,
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
            k: None,
            other: Map::new(),
        }
    }

    /// The RFC 7638 thumbprint: base64url SHA-256 of the required members in lexicographic
    /// order, without whitespace.
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        fn required<'a>(
            kty: &str,
            value: &'a Option<String>,
            name: &str,
        ) -> Result<&'a str, KeyError> {
            value
                .as_deref()
                .ok_or_else(|| KeyError::InvalidKey(format!("{kty} JWK lacks `{name}`")))
        }
        let kty = self.kty.as_str();
        let members: Vec<(&str, &str)> = match self.kty.as_str() {
            "RSA" => vec![
                ("e", required(kty, &self.e, "e")?),
                ("kty", "RSA"),
                ("n", required(kty, &self.n, "n")?),
            ],
            "EC" => vec![
                ("crv", required(kty, &self.crv, "crv")?),
                ("kty", "EC"),
                ("x", required(kty, &self.x, "x")?),
                ("y", required(kty, &self.y, "y")?),
            ],
            "OKP" => vec![
                ("crv", required(kty, &self.crv, "crv")?),
                ("kty", "OKP"),
                ("x", required(kty, &self.x, "x")?),
            ],
            "oct" => vec![("k", required(kty, &self.k, "k")?), ("kty", "oct")],
            other => {
                return Err(KeyError::UnsupportedKeyType(crate::rejection::quoted(
                    other,
                )));
            }
        };
        let mut canonical = String::from("{");
        for (i, (name, value)) in members.iter().enumerate() {
            if i > 0 {
                canonical.push(',');
            }
            canonical.push_str(&Value::from(*name).to_string());
            canonical.push(':');
            canonical.push_str(&Value::from(*value).to_string());
        }
        canonical.push('}');
        Ok(base64url::encode(
            digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref(),
        ))
    }

    /// Whether the JWK carries private key members.
    pub fn has_private_members(&self) -> bool {
        PRIVATE_MEMBERS
            .iter()
            .any(|name| self.other.contains_key(*name))
    }

    /// The algorithm this JWK verifies JWS signatures with, or why it is not a JWS verification
    /// key: `use` other than `sig` or `key_ops` without `verify` give
    /// [`KeyError::NotForVerification`]; an `alg` that is not a supported JWS algorithm gives
    /// [`KeyError::UnsupportedAlgorithm`]; a key type or curve Gatehouse has no algorithm for
    /// gives [`KeyError::UnsupportedKeyType`].
    ///
    /// Without `alg`, the algorithm follows from the key: P-256 → ES256, P-384 → ES384,
    /// Ed25519 → EdDSA, RSA → RS256, oct → HS256.
    pub fn verification_algorithm(&self) -> Result<Algorithm, KeyError> {
        if let Some(key_use) = &self.key_use
            && key_use != "sig"
        {
            return Err(KeyError::NotForVerification(format!(
                "use is {}",
                crate::rejection::quoted(key_use)
            )));
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err(KeyError::NotForVerification(
                "key_ops lack \"verify\"".into(),
            ));
        }
        if let Some(alg) = &self.alg {
            return alg.parse();
        }
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => Ok(Algorithm::Rs256),
            ("oct", _) => Ok(Algorithm::Hs256),
            ("EC", Some("P-256")) => Ok(Algorithm::Es256),
            ("EC", Some("P-384")) => Ok(Algorithm::Es384),
            ("OKP", Some("Ed25519")) => Ok(Algorithm::EdDsa),
            (kty, crv) => Err(KeyError::UnsupportedKeyType(crate::rejection::quoted(
                &format!("{kty} {}", crv.unwrap_or("")),
            ))),
        }
    }
}

impl fmt::Debug for Jwk {
    // Only identifying members: `k` and private members are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_section_3_1_example_thumbprint() {
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            jwk.thumbprint().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn unknown_members_round_trip_and_use_is_renamed() {
        let json =
            serde_json::json!({"kty":"EC","use":"sig","crv":"P-256","x":"a","y":"b","x5t":"t"});
        let jwk: Jwk = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(jwk.key_use.as_deref(), Some("sig"));
        assert_eq!(jwk.other["x5t"], "t");
        assert_eq!(serde_json::to_value(&jwk).unwrap(), json);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut jwk = Jwk::new("oct");
        jwk.k = Some("c2VjcmV0".into());
        jwk.other.insert("d".into(), "private".into());
        let shown = format!("{jwk:?}");
        assert!(!shown.contains("c2VjcmV0") && !shown.contains("private"));
    }

    #[test]
    fn use_enc_and_key_ops_without_verify_are_not_for_verification() {
        let mut jwk = Jwk::new("RSA");
        jwk.key_use = Some("enc".into());
        assert!(matches!(
            jwk.verification_algorithm(),
            Err(KeyError::NotForVerification(_))
        ));
        let mut jwk = Jwk::new("RSA");
        jwk.key_ops = Some(vec!["sign".into(), "encrypt".into()]);
        assert!(matches!(
            jwk.verification_algorithm(),
            Err(KeyError::NotForVerification(_))
        ));
        jwk.key_ops = Some(vec!["verify".into()]);
        assert_eq!(jwk.verification_algorithm(), Ok(Algorithm::Rs256));
    }

    #[test]
    fn the_algorithm_defaults_from_the_key_type() {
        let mut jwk = Jwk::new("EC");
        jwk.crv = Some("P-384".into());
        assert_eq!(jwk.verification_algorithm(), Ok(Algorithm::Es384));
        jwk.crv = Some("P-521".into());
        assert!(matches!(
            jwk.verification_algorithm(),
            Err(KeyError::UnsupportedKeyType(_))
        ));
        jwk.alg = Some("none".into());
        assert!(matches!(
            jwk.verification_algorithm(),
            Err(KeyError::UnsupportedAlgorithm(_))
        ));
    }
}
