//! [`Validation`]: the JWT claim and type rules a [`crate::Verifier`] applies after the
//! signature has verified.

use serde_json::Value;

use crate::claims::Claims;
use crate::header::Header;
use crate::rejection::{Reason, Rejection, quoted};
use crate::unix_time::UnixTime;

/// What a verified token's claims must satisfy.
///
/// Defaults: `exp` required, 60 s leeway, 16 KiB size limit, any issuer, no audience, any
/// `typ`. Following RFC 7519 §4.1.3, a token that carries `aud` is refused unless an accepted
/// audience is configured and named in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway_secs: u64,
    required_claims: Vec<String>,
    max_token_bytes: usize,
    expected_typ: Option<String>,
}

impl Default for Validation {
    fn default() -> Validation {
        Validation {
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway_secs: 60,
            required_claims: vec!["exp".to_owned()],
            max_token_bytes: 16 * 1024,
            expected_typ: None,
        }
    }
}

/// NumericDate claims (RFC 7519 §4.1.4–4.1.6): JSON numbers, never strings (CVE-2026-25537).
const NUMERIC_DATE_CLAIMS: [&str; 3] = ["exp", "nbf", "iat"];
/// StringOrURI claims that must be strings when present.
const STRING_CLAIMS: [&str; 3] = ["iss", "sub", "jti"];

impl Validation {
    /// The defaults (same as [`Validation::default`]).
    pub fn new() -> Validation {
        Validation::default()
    }

    /// Accept tokens whose `iss` equals one of these (exact, case-sensitive). With none
    /// configured any string `iss` is accepted.
    pub fn with_issuers<I, S>(mut self, issuers: I) -> Validation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.issuers = issuers.into_iter().map(Into::into).collect();
        self
    }

    /// Accept tokens whose `aud` (a string or an array of strings) contains one of these.
    pub fn with_audiences<I, S>(mut self, audiences: I) -> Validation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 60).
    pub fn with_leeway(mut self, secs: u64) -> Validation {
        self.leeway_secs = secs;
        self
    }

    /// Claims that must be present (default `["exp"]`). An empty list makes `exp` optional.
    pub fn with_required_claims<I, S>(mut self, claims: I) -> Validation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Longest accepted token in bytes, checked before any decoding (default 16 KiB).
    pub fn with_max_token_bytes(mut self, bytes: usize) -> Validation {
        self.max_token_bytes = bytes;
        self
    }

    /// Require this `typ` header (RFC 8725 §3.11), e.g. `"at+jwt"` for RFC 9068 access tokens.
    /// Compared case-insensitively, with the `application/` prefix optional on either side.
    pub fn with_expected_typ(mut self, typ: impl Into<String>) -> Validation {
        self.expected_typ = Some(typ.into());
        self
    }

    /// Accepted issuers.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// Accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Leeway in seconds.
    pub fn leeway(&self) -> u64 {
        self.leeway_secs
    }

    /// Required claims.
    pub fn required_claims(&self) -> &[String] {
        &self.required_claims
    }

    /// Size limit in bytes.
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    /// The expected `typ`, if any.
    pub fn expected_typ(&self) -> Option<&str> {
        self.expected_typ.as_deref()
    }

    /// Checks the header's `typ` against the expected one.
    pub(crate) fn check_typ(&self, header: &Header) -> Result<(), Rejection> {
        let Some(expected) = &self.expected_typ else {
            return Ok(());
        };
        match header.typ() {
            Some(typ) if media_type_eq(typ, expected) => Ok(()),
            Some(typ) => Err(Rejection::new(
                Reason::WrongType,
                format!("typ {} is not {}", quoted(typ), quoted(expected)),
            )),
            None => Err(Rejection::new(
                Reason::WrongType,
                format!("typ is missing; expected {}", quoted(expected)),
            )),
        }
    }

    /// Checks the claim set as of `now`.
    pub(crate) fn check_claims(&self, claims: &Claims, now: UnixTime) -> Result<(), Rejection> {
        for name in &self.required_claims {
            if !claims.contains(name) {
                return Err(Rejection::new(
                    Reason::MissingClaim,
                    format!("required claim {} is missing", quoted(name)),
                ));
            }
        }
        for name in NUMERIC_DATE_CLAIMS {
            if claims.get(name).is_some_and(|value| !value.is_number()) {
                return Err(invalid(name, "must be a NumericDate (a JSON number)"));
            }
        }
        for name in STRING_CLAIMS {
            if claims.get(name).is_some_and(|value| !value.is_string()) {
                return Err(invalid(name, "must be a string"));
            }
        }
        let audiences = match claims.get("aud") {
            None => None,
            Some(Value::String(aud)) => Some(vec![aud.as_str()]),
            Some(Value::Array(items)) if !items.is_empty() => Some(
                items
                    .iter()
                    .map(Value::as_str)
                    .collect::<Option<Vec<&str>>>()
                    .ok_or_else(|| invalid("aud", "array entries must be strings"))?,
            ),
            Some(_) => {
                return Err(invalid(
                    "aud",
                    "must be a string or a non-empty array of strings",
                ));
            }
        };

        let leeway = i64::try_from(self.leeway_secs).unwrap_or(i64::MAX);
        if let Some(exp) = claims.expires_at() {
            // RFC 7519 §4.1.4: valid only while now is before exp.
            if now.as_secs() >= exp.as_secs().saturating_add(leeway) {
                return Err(Rejection::new(
                    Reason::Expired,
                    format!("expired at {exp}, now is {now} (leeway {leeway} s)"),
                ));
            }
        }
        if let Some(nbf) = claims.not_before()
            && now.as_secs().saturating_add(leeway) < nbf.as_secs()
        {
            return Err(Rejection::new(
                Reason::NotYetValid,
                format!("not valid before {nbf}, now is {now} (leeway {leeway} s)"),
            ));
        }

        if !self.issuers.is_empty() {
            let Some(iss) = claims.issuer() else {
                return Err(Rejection::new(Reason::MissingClaim, "iss is missing"));
            };
            if !self.issuers.iter().any(|accepted| accepted == iss) {
                return Err(Rejection::new(
                    Reason::WrongIssuer,
                    format!("issuer {} is not accepted", quoted(iss)),
                ));
            }
        }
        match (audiences, self.audiences.is_empty()) {
            (None, true) => {}
            (None, false) => return Err(Rejection::new(Reason::MissingClaim, "aud is missing")),
            (Some(_), true) => {
                return Err(Rejection::new(
                    Reason::WrongAudience,
                    "the token names an audience but no audience is configured to accept",
                ));
            }
            (Some(token_audiences), false) => {
                if !token_audiences
                    .iter()
                    .any(|aud| self.audiences.iter().any(|accepted| accepted == aud))
                {
                    return Err(Rejection::new(
                        Reason::WrongAudience,
                        format!(
                            "audience {} is not accepted",
                            quoted(&token_audiences.join(" "))
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn invalid(name: &str, why: &str) -> Rejection {
    Rejection::new(Reason::InvalidClaim, format!("{name} {why}"))
}

/// RFC 7515 §4.1.9: media type names compare case-insensitively and `application/` may be
/// omitted.
fn media_type_eq(a: &str, b: &str) -> bool {
    fn bare(typ: &str) -> &str {
        match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ,
        }
    }
    bare(a).eq_ignore_ascii_case(bare(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_compare_without_case_or_application_prefix() {
        assert!(media_type_eq("at+jwt", "at+jwt"));
        assert!(media_type_eq("application/AT+JWT", "at+jwt"));
        assert!(media_type_eq("at+jwt", "Application/at+jwt"));
        assert!(!media_type_eq("JWT", "at+jwt"));
        assert!(!media_type_eq("application/", "at+jwt"));
        assert!(!media_type_eq("é", "at+jwt"));
    }

    #[test]
    fn defaults_require_exp_with_a_minute_of_leeway() {
        let validation = Validation::default();
        assert_eq!(validation.required_claims(), ["exp"]);
        assert_eq!(validation.leeway(), 60);
        assert_eq!(validation.max_token_bytes(), 16384);
        assert_eq!(validation.expected_typ(), None);
    }
}
