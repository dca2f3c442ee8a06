//! The Gatehouse key file: standard PEM, so OpenSSL reads it, preceded by RFC 7468 §5.2
//! explanatory text lines naming the algorithm and key id:
//!
//! ```text
//! gatehouse-alg: ES256
//! gatehouse-kid: 3fQ…
//! -----BEGIN PRIVATE KEY-----
//! …
//! -----END PRIVATE KEY-----
//! ```

use pem::{EncodeConfig, LineEnding, Pem};
use zeroize::Zeroizing;

use super::signing::{PrivateDer, SigningKey};
use crate::algorithm::Algorithm;
use crate::error::KeyError;
use crate::key_id::KeyId;

pub(crate) const PKCS8_LABEL: &str = "PRIVATE KEY";
pub(crate) const HMAC_LABEL: &str = "GATEHOUSE HMAC KEY";
const ALG_LINE: &str = "gatehouse-alg:";
const KID_LINE: &str = "gatehouse-kid:";

pub(crate) fn write(alg: Algorithm, kid: &KeyId, label: &str, der: &[u8]) -> Zeroizing<String> {
    let block = Zeroizing::new(pem::encode_config(
        &Pem::new(label, der),
        EncodeConfig::new().set_line_ending(LineEnding::LF),
    ));
    let mut out = Zeroizing::new(String::with_capacity(block.len() + 200));
    out.push_str(&format!("{ALG_LINE} {alg}\n{KID_LINE} {kid}\n"));
    out.push_str(&block);
    out
}

pub(crate) fn read(text: &str) -> Result<SigningKey, KeyError> {
    let invalid = |why: &str| KeyError::InvalidPem(why.to_owned());
    let begin = text
        .find("-----BEGIN ")
        .ok_or_else(|| invalid("no `-----BEGIN` line"))?;
    let (explanatory, block) = text.split_at(begin);

    let mut alg = None;
    let mut kid = None;
    for line in explanatory.lines() {
        if let Some(value) = line.strip_prefix(ALG_LINE) {
            let parsed: Algorithm = value.trim().parse()?;
            if alg.replace(parsed).is_some() {
                return Err(invalid("two gatehouse-alg lines"));
            }
        } else if let Some(value) = line.strip_prefix(KID_LINE)
            && kid.replace(KeyId::new(value.trim())?).is_some()
        {
            return Err(invalid("two gatehouse-kid lines"));
        }
    }

    let parsed = pem::parse(block).map_err(|err| invalid(&err.to_string()))?;
    let label = parsed.tag().to_owned();
    let der = Zeroizing::new(parsed.into_contents());
    match label.as_str() {
        HMAC_LABEL => {
            let alg = alg.ok_or_else(|| invalid("an HMAC key file needs a gatehouse-alg line"))?;
            if !alg.is_hmac() {
                return Err(invalid("a GATEHOUSE HMAC KEY needs an HS* gatehouse-alg"));
            }
            SigningKey::hmac(alg, &der, kid)
        }
        PKCS8_LABEL => SigningKey::from_der(alg, PrivateDer::Pkcs8(&der), kid),
        "RSA PRIVATE KEY" => SigningKey::from_der(alg, PrivateDer::Pkcs1(&der), kid),
        "EC PRIVATE KEY" => SigningKey::from_der(alg, PrivateDer::Sec1(&der), kid),
        "ENCRYPTED PRIVATE KEY" => Err(invalid("encrypted private keys are not supported")),
        _ => Err(invalid("unsupported PEM label")),
    }
}
