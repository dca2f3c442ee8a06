//! [`VerifyingKey`]: a pre-parsed public key or HMAC secret bound to one algorithm.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};

use super::rsa_checks;
use crate::algorithm::{Algorithm, Family};
use crate::base64url;
use crate::error::KeyError;
use crate::jwk::Jwk;
use crate::key_id::KeyId;
use crate::rejection::{Reason, Rejection};

/// A key that verifies signatures: a public key (RSA, EC, Ed25519) or an HMAC secret.
///
/// The algorithm is fixed when the key is built — from a JWK's `alg`, or from the key type and
/// curve — and a token's `alg` only has to agree with it. The key is parsed once, so each
/// verification goes straight to the crypto library.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<KeyId>,
    material: Material,
}

#[derive(Clone)]
enum Material {
    // Boxed: the HMAC context is ~1.2 KB, the other variants a few pointers.
    Hmac(Box<hmac::Key>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        key: ParsedPublicKey,
    },
    Ec {
        x: Vec<u8>,
        y: Vec<u8>,
        key: ParsedPublicKey,
    },
    Ed25519 {
        x: Vec<u8>,
        key: ParsedPublicKey,
    },
}

impl VerifyingKey {
    /// Builds a key from a JWK (RSA, EC P-256/P-384, OKP Ed25519, or oct).
    ///
    /// Refused: a `use` other than `sig`, `key_ops` without `verify`, an `alg` that is not a
    /// supported JWS algorithm or does not fit the key type and curve, private members (a
    /// verification key must be public), RSA moduli outside 2048..=8192 bits, weak RSA
    /// exponents, points not on the curve, coordinates of the wrong length, and HMAC secrets
    /// shorter than the hash output.
    pub fn from_jwk(jwk: &Jwk) -> Result<VerifyingKey, KeyError> {
        let alg = jwk.verification_algorithm()?;
        if jwk.has_private_members() {
            return Err(KeyError::PrivateKeyMaterial);
        }
        let kid = jwk.kid.clone().map(KeyId::new).transpose()?;
        let member = |value: &Option<String>, name: &str| -> Result<Vec<u8>, KeyError> {
            let text = value
                .as_deref()
                .ok_or_else(|| KeyError::InvalidKey(format!("{} JWK lacks `{name}`", jwk.kty)))?;
            base64url::decode(text)
                .map_err(|_| KeyError::InvalidKey(format!("`{name}` is not base64url")))
        };
        let mismatch = || KeyError::KeyAlgorithmMismatch {
            key_type: format!("{} {}", jwk.kty, jwk.crv.as_deref().unwrap_or(""))
                .trim()
                .to_owned(),
            alg,
        };
        let key = match (alg.family(), jwk.kty.as_str()) {
            (Family::Hmac, "oct") => VerifyingKey::hmac(alg, &member(&jwk.k, "k")?)?,
            (Family::Rsa, "RSA") => {
                VerifyingKey::rsa(alg, &member(&jwk.n, "n")?, &member(&jwk.e, "e")?)?
            }
            (Family::Ec, "EC") if jwk.crv.as_deref() == alg.curve() => {
                VerifyingKey::ec(alg, &member(&jwk.x, "x")?, &member(&jwk.y, "y")?)?
            }
            (Family::Ed25519, "OKP") if jwk.crv.as_deref() == alg.curve() => {
                VerifyingKey::ed25519(&member(&jwk.x, "x")?)?
            }
            _ => return Err(mismatch()),
        };
        Ok(key.with_kid(kid))
    }

    /// An HMAC key; the secret must be at least as long as the hash output.
    pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> Result<VerifyingKey, KeyError> {
        let hmac_alg = match alg {
            Algorithm::Hs256 => hmac::HMAC_SHA256,
            Algorithm::Hs384 => hmac::HMAC_SHA384,
            Algorithm::Hs512 => hmac::HMAC_SHA512,
            _ => {
                return Err(KeyError::KeyAlgorithmMismatch {
                    key_type: "oct".into(),
                    alg,
                });
            }
        };
        if secret.len() < alg.hash_len() {
            return Err(KeyError::WeakHmacSecret {
                alg,
                min: alg.hash_len(),
                actual: secret.len(),
            });
        }
        Ok(VerifyingKey {
            alg,
            kid: None,
            material: Material::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))),
        })
    }

    /// An RSA public key from its big-endian modulus and exponent.
    pub(crate) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<VerifyingKey, KeyError> {
        let params: &'static RsaParameters = match alg {
            Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Algorithm::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Algorithm::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
            _ => {
                return Err(KeyError::KeyAlgorithmMismatch {
                    key_type: "RSA".into(),
                    alg,
                });
            }
        };
        let n = rsa_checks::strip_leading_zeros(n);
        let e = rsa_checks::strip_leading_zeros(e);
        rsa_checks::check_public_key(n, e)?;
        let key = RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(params)
            .map_err(|err| KeyError::InvalidKey(format!("RSA public key rejected: {err}")))?;
        Ok(VerifyingKey {
            alg,
            kid: None,
            material: Material::Rsa {
                n: n.to_vec(),
                e: e.to_vec(),
                key,
            },
        })
    }

    /// An EC public key from its affine coordinates, each exactly the curve's field length
    /// (RFC 7518 §6.2.1.2).
    pub(crate) fn ec(alg: Algorithm, x: &[u8], y: &[u8]) -> Result<VerifyingKey, KeyError> {
        let (verify_alg, coordinate_len): (&'static signature::EcdsaVerificationAlgorithm, usize) =
            match alg {
                Algorithm::Es256 => (&signature::ECDSA_P256_SHA256_FIXED, 32),
                Algorithm::Es384 => (&signature::ECDSA_P384_SHA384_FIXED, 48),
                _ => {
                    return Err(KeyError::KeyAlgorithmMismatch {
                        key_type: "EC".into(),
                        alg,
                    });
                }
            };
        if x.len() != coordinate_len || y.len() != coordinate_len {
            return Err(KeyError::InvalidKey(format!(
                "{alg} coordinates must be {coordinate_len} bytes each"
            )));
        }
        let mut point = Vec::with_capacity(1 + 2 * coordinate_len);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        let key = ParsedPublicKey::new(verify_alg, &point)
            .map_err(|err| KeyError::InvalidKey(format!("EC point rejected: {err}")))?;
        Ok(VerifyingKey {
            alg,
            kid: None,
            material: Material::Ec {
                x: x.to_vec(),
                y: y.to_vec(),
                key,
            },
        })
    }

    /// An Ed25519 public key (32 bytes).
    pub(crate) fn ed25519(x: &[u8]) -> Result<VerifyingKey, KeyError> {
        if x.len() != 32 {
            return Err(KeyError::InvalidKey(
                "Ed25519 public keys are 32 bytes".into(),
            ));
        }
        let key = ParsedPublicKey::new(&signature::ED25519, x)
            .map_err(|err| KeyError::InvalidKey(format!("Ed25519 key rejected: {err}")))?;
        Ok(VerifyingKey {
            alg: Algorithm::EdDsa,
            kid: None,
            material: Material::Ed25519 { x: x.to_vec(), key },
        })
    }

    pub(crate) fn with_kid(mut self, kid: Option<KeyId>) -> VerifyingKey {
        self.kid = kid;
        self
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&KeyId> {
        self.kid.as_ref()
    }

    /// The public JWK (with `alg`, `use: sig` and `kid`); `None` for an HMAC secret, which
    /// must never be published.
    pub fn to_public_jwk(&self) -> Option<Jwk> {
        let mut jwk = match &self.material {
            Material::Hmac(_) => return None,
            Material::Rsa { n, e, .. } => {
                let mut jwk = Jwk::new("RSA");
                jwk.n = Some(base64url::encode(n));
                jwk.e = Some(base64url::encode(e));
                jwk
            }
            Material::Ec { x, y, .. } => {
                let mut jwk = Jwk::new("EC");
                jwk.crv = self.alg.curve().map(str::to_owned);
                jwk.x = Some(base64url::encode(x));
                jwk.y = Some(base64url::encode(y));
                jwk
            }
            Material::Ed25519 { x, .. } => {
                let mut jwk = Jwk::new("OKP");
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(base64url::encode(x));
                jwk
            }
        };
        jwk.alg = Some(self.alg.as_str().to_owned());
        jwk.kid = self.kid.as_ref().map(|kid| kid.as_str().to_owned());
        jwk.key_use = Some("sig".into());
        Some(jwk)
    }

    /// The RFC 7638 thumbprint of the public key; `None` for an HMAC secret.
    pub fn thumbprint(&self) -> Option<String> {
        self.to_public_jwk().and_then(|jwk| jwk.thumbprint().ok())
    }

    /// Checks `signature` over `signing_input` with this key's algorithm.
    pub(crate) fn verify_signature(
        &self,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), Rejection> {
        let verified = match &self.material {
            // Constant-time tag comparison, including the length.
            Material::Hmac(key) => hmac::verify(key, signing_input, signature),
            Material::Rsa { key, .. } => key.verify_sig(signing_input, signature),
            Material::Ec { key, .. } => {
                // JWS ECDSA signatures are raw r||s (RFC 7518 §3.4); a DER signature or any
                // other length is refused before the crypto library sees it.
                let expected = 2 * self.alg.hash_len();
                if signature.len() != expected {
                    return Err(Rejection::new(
                        Reason::BadSignature,
                        format!(
                            "{} signatures are {expected} bytes (raw r||s), got {}",
                            self.alg,
                            signature.len()
                        ),
                    ));
                }
                key.verify_sig(signing_input, signature)
            }
            Material::Ed25519 { key, .. } => key.verify_sig(signing_input, signature),
        };
        verified.map_err(|_| {
            Rejection::new(
                Reason::BadSignature,
                format!("signature does not verify with {} key", self.alg),
            )
        })
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
