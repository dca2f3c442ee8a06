//! [`SigningKey`]: a private key or HMAC secret bound to one algorithm and one key id.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{self, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, RsaEncoding,
    RsaKeyPair,
};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::key_file;
use super::verifying::VerifyingKey;
use crate::algorithm::{Algorithm, Family};
use crate::base64url;
use crate::error::KeyError;
use crate::jwk::Jwk;
use crate::key_id::KeyId;

/// A key that signs tokens: an RSA, EC or Ed25519 private key, or an HMAC secret.
///
/// It is bound to one [`Algorithm`] and one [`KeyId`]; [`SigningKey::sign`] always writes both
/// into the header. The secret parts are zeroed when the key is dropped and never appear in
/// `Debug` output.
pub struct SigningKey {
    alg: Algorithm,
    kid: KeyId,
    secret: Secret,
    verifying: VerifyingKey,
}

enum Secret {
    Hmac {
        // Boxed: the HMAC context is ~1.2 KB, the other variants a few pointers.
        key: Box<hmac::Key>,
        bytes: Zeroizing<Vec<u8>>,
    },
    Rsa {
        pair: RsaKeyPair,
        pkcs8: Zeroizing<Vec<u8>>,
    },
    Ec {
        pair: EcdsaKeyPair,
        pkcs8: Zeroizing<Vec<u8>>,
    },
    Ed25519 {
        pair: Ed25519KeyPair,
        pkcs8: Zeroizing<Vec<u8>>,
    },
}

/// The DER forms a private key arrives in.
pub(crate) enum PrivateDer<'a> {
    /// PKCS#8 `PrivateKeyInfo` (`BEGIN PRIVATE KEY`).
    Pkcs8(&'a [u8]),
    /// PKCS#1 `RSAPrivateKey` (`BEGIN RSA PRIVATE KEY`).
    Pkcs1(&'a [u8]),
    /// RFC 5915 `ECPrivateKey` (`BEGIN EC PRIVATE KEY`).
    Sec1(&'a [u8]),
}

fn ecdsa_signing(alg: Algorithm) -> Option<&'static EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::Es256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::Es384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => None,
    }
}

fn rsa_padding(alg: Algorithm) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        Algorithm::Rs256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::Rs384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::Rs512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::Ps256 => &signature::RSA_PSS_SHA256,
        Algorithm::Ps384 => &signature::RSA_PSS_SHA384,
        Algorithm::Ps512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

const GENERATION_FAILED: KeyError = KeyError::Crypto("key generation failed");

impl SigningKey {
    /// Generates a fresh key: RSA 2048 for RS*/PS*, P-256/P-384 for ES256/ES384, Ed25519 for
    /// EdDSA, and a random secret of the hash length for HS*. The kid is the RFC 7638
    /// thumbprint of the (public) key.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, KeyError> {
        match alg.family() {
            Family::Hmac => {
                let mut secret = Zeroizing::new(vec![0u8; alg.hash_len()]);
                rand::fill(&mut secret).map_err(|_| GENERATION_FAILED)?;
                SigningKey::hmac(alg, &secret, None)
            }
            Family::Rsa => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| GENERATION_FAILED)?;
                let der = pair.as_der().map_err(|_| GENERATION_FAILED)?;
                SigningKey::from_der(Some(alg), PrivateDer::Pkcs8(der.as_ref()), None)
            }
            Family::Ec => {
                let signing = ecdsa_signing(alg).ok_or(GENERATION_FAILED)?;
                let pair = EcdsaKeyPair::generate(signing).map_err(|_| GENERATION_FAILED)?;
                let der = pair.to_pkcs8v1().map_err(|_| GENERATION_FAILED)?;
                SigningKey::from_der(Some(alg), PrivateDer::Pkcs8(der.as_ref()), None)
            }
            Family::Ed25519 => {
                // PKCS#8 v1, the form `openssl genpkey -algorithm ED25519` writes.
                let der = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
                    .map_err(|_| GENERATION_FAILED)?;
                SigningKey::from_der(Some(alg), PrivateDer::Pkcs8(der.as_ref()), None)
            }
        }
    }

    /// An HMAC key from a secret at least as long as the hash output (32, 48 or 64 bytes).
    pub fn from_hmac_secret(
        alg: Algorithm,
        secret: &[u8],
        kid: KeyId,
    ) -> Result<SigningKey, KeyError> {
        SigningKey::hmac(alg, secret, Some(kid))
    }

    pub(crate) fn hmac(
        alg: Algorithm,
        secret: &[u8],
        kid: Option<KeyId>,
    ) -> Result<SigningKey, KeyError> {
        let verifying = VerifyingKey::hmac(alg, secret)?;
        let bytes = Zeroizing::new(secret.to_vec());
        let kid = match kid {
            Some(kid) => kid,
            None => {
                let mut jwk = Jwk::new("oct");
                jwk.k = Some(base64url::encode(&bytes));
                KeyId::new(jwk.thumbprint()?)?
            }
        };
        let key = Box::new(hmac::Key::new(
            match alg {
                Algorithm::Hs384 => hmac::HMAC_SHA384,
                Algorithm::Hs512 => hmac::HMAC_SHA512,
                _ => hmac::HMAC_SHA256,
            },
            &bytes,
        ));
        Ok(SigningKey {
            alg,
            verifying: verifying.with_kid(Some(kid.clone())),
            kid,
            secret: Secret::Hmac { key, bytes },
        })
    }

    /// A private key from DER. Without `alg`, the algorithm follows from the key: P-256 →
    /// ES256, P-384 → ES384, Ed25519 → EdDSA, RSA → RS256. Without `kid`, the kid is the
    /// RFC 7638 thumbprint.
    pub(crate) fn from_der(
        alg: Option<Algorithm>,
        der: PrivateDer<'_>,
        kid: Option<KeyId>,
    ) -> Result<SigningKey, KeyError> {
        let (alg, secret) = parse_private(alg, der)?;
        let verifying = public_of(alg, &secret)?;
        let kid = match kid {
            Some(kid) => kid,
            None => KeyId::new(
                verifying
                    .thumbprint()
                    .ok_or(KeyError::Crypto("thumbprint of a public key"))?,
            )?,
        };
        Ok(SigningKey {
            alg,
            verifying: verifying.with_kid(Some(kid.clone())),
            kid,
            secret,
        })
    }

    /// The same key under another key id.
    pub fn with_kid(mut self, kid: KeyId) -> SigningKey {
        self.verifying = self.verifying.with_kid(Some(kid.clone()));
        self.kid = kid;
        self
    }

    /// Reads a key in the Gatehouse key file format (see [`SigningKey::to_pem`]). Also accepts
    /// plain `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` and `EC PRIVATE KEY` PEM from OpenSSL,
    /// taking the algorithm from the key (RSA → RS256) and the kid from its thumbprint.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        key_file::read(pem)
    }

    /// Writes the key as PEM that OpenSSL reads, preceded by RFC 7468 explanatory lines
    /// `gatehouse-alg: …` and `gatehouse-kid: …`. Private keys are PKCS#8
    /// (`BEGIN PRIVATE KEY`); HMAC secrets use the label `GATEHOUSE HMAC KEY`.
    pub fn to_pem(&self) -> Zeroizing<String> {
        let (label, der): (&str, &[u8]) = match &self.secret {
            Secret::Hmac { bytes, .. } => (key_file::HMAC_LABEL, bytes),
            Secret::Rsa { pkcs8, .. }
            | Secret::Ec { pkcs8, .. }
            | Secret::Ed25519 { pkcs8, .. } => (key_file::PKCS8_LABEL, pkcs8),
        };
        key_file::write(self.alg, &self.kid, label, der)
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id written into every token header.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The matching verification key, with the same algorithm and kid.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// The public JWK; `None` for HMAC.
    pub fn public_jwk(&self) -> Option<Jwk> {
        self.verifying.to_public_jwk()
    }

    /// Signs a JWT: header `{"alg", "typ"?, "kid"}`; claims are written as given (nothing is
    /// added or checked here).
    pub fn sign(&self, typ: Option<&str>, claims: &Map<String, Value>) -> Result<String, KeyError> {
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.as_str().into());
        if let Some(typ) = typ {
            header.insert("typ".into(), typ.into());
        }
        header.insert("kid".into(), self.kid.as_str().into());
        let header =
            serde_json::to_vec(&header).map_err(|_| KeyError::Crypto("header encoding"))?;
        let payload =
            serde_json::to_vec(claims).map_err(|_| KeyError::Crypto("claims encoding"))?;

        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 700);
        base64url::encode_into(&header, &mut token);
        token.push('.');
        base64url::encode_into(&payload, &mut token);
        let signature = self.sign_bytes(token.as_bytes())?;
        token.push('.');
        base64url::encode_into(&signature, &mut token);
        Ok(token)
    }

    fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        const SIGNING_FAILED: KeyError = KeyError::Crypto("signing failed");
        match &self.secret {
            Secret::Hmac { key, .. } => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Secret::Rsa { pair, .. } => {
                let padding = rsa_padding(self.alg).ok_or(SIGNING_FAILED)?;
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &SystemRandom::new(), message, &mut signature)
                    .map_err(|_| SIGNING_FAILED)?;
                Ok(signature)
            }
            Secret::Ec { pair, .. } => pair
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| SIGNING_FAILED),
            Secret::Ed25519 { pair, .. } => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// Parses private key DER, trying the key types `alg` allows (all of them without `alg`).
fn parse_private(
    alg: Option<Algorithm>,
    der: PrivateDer<'_>,
) -> Result<(Algorithm, Secret), KeyError> {
    let rejected = |what: &str| KeyError::InvalidKey(format!("not a valid {what} private key"));
    let wants = |family: Family| alg.is_none_or(|alg| alg.family() == family);
    match der {
        PrivateDer::Pkcs1(der) => {
            if !wants(Family::Rsa) {
                return Err(rejected("non-RSA"));
            }
            let pair = RsaKeyPair::from_der(der).map_err(|_| rejected("RSA"))?;
            rsa_secret(alg.unwrap_or(Algorithm::Rs256), pair)
        }
        PrivateDer::Sec1(der) => {
            for candidate in [Algorithm::Es256, Algorithm::Es384] {
                if alg.is_some_and(|alg| alg != candidate) {
                    continue;
                }
                if let Some(signing) = ecdsa_signing(candidate)
                    && let Ok(pair) = EcdsaKeyPair::from_private_key_der(signing, der)
                {
                    return ec_secret(candidate, pair);
                }
            }
            Err(rejected("P-256 or P-384 EC"))
        }
        PrivateDer::Pkcs8(der) => {
            if wants(Family::Ed25519)
                && let Ok(pair) = Ed25519KeyPair::from_pkcs8(der)
            {
                let pkcs8 = pair.to_pkcs8v1().map_err(|_| rejected("Ed25519"))?;
                let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
                return Ok((Algorithm::EdDsa, Secret::Ed25519 { pair, pkcs8 }));
            }
            for candidate in [Algorithm::Es256, Algorithm::Es384] {
                if alg.is_some_and(|alg| alg != candidate) {
                    continue;
                }
                if let Some(signing) = ecdsa_signing(candidate)
                    && let Ok(pair) = EcdsaKeyPair::from_pkcs8(signing, der)
                {
                    return ec_secret(candidate, pair);
                }
            }
            if wants(Family::Rsa)
                && let Ok(pair) = RsaKeyPair::from_pkcs8(der)
            {
                return rsa_secret(alg.unwrap_or(Algorithm::Rs256), pair);
            }
            Err(match alg {
                Some(alg) => KeyError::InvalidKey(format!("not a private key usable for {alg}")),
                None => rejected("RSA, P-256, P-384 or Ed25519"),
            })
        }
    }
}

fn rsa_secret(alg: Algorithm, pair: RsaKeyPair) -> Result<(Algorithm, Secret), KeyError> {
    let bits = pair.public_modulus_len() * 8;
    if !super::rsa_checks::MODULUS_BITS.contains(&bits) {
        return Err(KeyError::RsaKeySize { bits });
    }
    let pkcs8 = pair
        .as_der()
        .map_err(|_| KeyError::Crypto("RSA key encoding"))?;
    let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
    Ok((alg, Secret::Rsa { pair, pkcs8 }))
}

fn ec_secret(alg: Algorithm, pair: EcdsaKeyPair) -> Result<(Algorithm, Secret), KeyError> {
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| KeyError::Crypto("EC key encoding"))?;
    let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
    Ok((alg, Secret::Ec { pair, pkcs8 }))
}

/// The public half of a private key, as a verification key for `alg`.
fn public_of(alg: Algorithm, secret: &Secret) -> Result<VerifyingKey, KeyError> {
    match secret {
        Secret::Hmac { bytes, .. } => VerifyingKey::hmac(alg, bytes),
        Secret::Rsa { pair, .. } => {
            let public = pair.public_key();
            VerifyingKey::rsa(
                alg,
                public.modulus().big_endian_without_leading_zero(),
                public.exponent().big_endian_without_leading_zero(),
            )
        }
        Secret::Ec { pair, .. } => {
            // Uncompressed SEC1 point: 0x04 || x || y.
            let point = pair.public_key().as_ref();
            let half = point.len().saturating_sub(1) / 2;
            match point.split_first() {
                Some((0x04, xy)) if xy.len() == 2 * half => {
                    VerifyingKey::ec(alg, &xy[..half], &xy[half..])
                }
                _ => Err(KeyError::Crypto("EC public key encoding")),
            }
        }
        Secret::Ed25519 { pair, .. } => VerifyingKey::ed25519(pair.public_key().as_ref()),
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
