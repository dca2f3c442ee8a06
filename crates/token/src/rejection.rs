//! Why a token was refused: a stable machine-readable [`Reason`] plus a human-readable detail.

use std::fmt;

/// The machine-readable cause of a rejection. [`Reason::as_str`] gives stable snake_case codes
/// for logs, metrics and the HTTP layer; match on the variant, never on the detail text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Not a well-formed JWS compact serialization: wrong segment count, bad base64url, a
    /// header or payload that is not a JSON object, duplicate JSON member names, …
    Malformed,
    /// Longer than the configured limit; refused before any decoding.
    TooLarge,
    /// The header's `alg` is `none`, unknown or unsupported.
    UnsupportedAlgorithm,
    /// The header's `alg` differs from the algorithm the selected key is bound to.
    AlgorithmMismatch,
    /// The header carries a parameter Gatehouse refuses (`jwk`, `jku`, `x5u`, `x5c`, `b64: false`).
    ForbiddenHeader,
    /// The header has a `crit` parameter naming extensions Gatehouse does not implement.
    UnsupportedCritical,
    /// No key in the key set has the token's `kid`.
    UnknownKid,
    /// The token has no `kid` and the key set does not hold exactly one key.
    AmbiguousKey,
    /// The signature does not verify with the selected key.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// A required claim is absent.
    MissingClaim,
    /// A claim has the wrong JSON type or an impossible value.
    InvalidClaim,
    /// `iss` is not one of the accepted issuers.
    WrongIssuer,
    /// `aud` names none of the accepted audiences.
    WrongAudience,
    /// The header's `typ` is not the expected token type.
    WrongType,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 16] = [
        Reason::Malformed,
        Reason::TooLarge,
        Reason::UnsupportedAlgorithm,
        Reason::AlgorithmMismatch,
        Reason::ForbiddenHeader,
        Reason::UnsupportedCritical,
        Reason::UnknownKid,
        Reason::AmbiguousKey,
        Reason::BadSignature,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::MissingClaim,
        Reason::InvalidClaim,
        Reason::WrongIssuer,
        Reason::WrongAudience,
        Reason::WrongType,
    ];

    /// The stable snake_case code, e.g. `"bad_signature"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::TooLarge => "too_large",
            Reason::UnsupportedAlgorithm => "unsupported_algorithm",
            Reason::AlgorithmMismatch => "algorithm_mismatch",
            Reason::ForbiddenHeader => "forbidden_header",
            Reason::UnsupportedCritical => "unsupported_critical",
            Reason::UnknownKid => "unknown_kid",
            Reason::AmbiguousKey => "ambiguous_key",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::MissingClaim => "missing_claim",
            Reason::InvalidClaim => "invalid_claim",
            Reason::WrongIssuer => "wrong_issuer",
            Reason::WrongAudience => "wrong_audience",
            Reason::WrongType => "wrong_type",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused token. `detail` is for humans and logs; it never contains key material, and any
/// token-supplied text in it is truncated and escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The machine-readable cause.
    pub reason: Reason,
    /// A short human-readable explanation.
    pub detail: String,
}

impl Rejection {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> Rejection {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Rejection {}

/// Quotes attacker-controlled text for a detail message: escaped (no control characters reach
/// a log line) and cut to a length that keeps log lines short.
pub(crate) fn quoted(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut cut: String = text.chars().take(MAX_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut codes: Vec<_> = Reason::ALL.iter().map(Reason::as_str).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        );
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len());
    }

    #[test]
    fn display_is_reason_then_detail() {
        let rejection = Rejection::new(Reason::Expired, "exp 10 is before now 20");
        assert_eq!(rejection.to_string(), "expired: exp 10 is before now 20");
    }

    #[test]
    fn quoting_escapes_control_characters_and_truncates() {
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        let long = "x".repeat(1000);
        assert!(quoted(&long).len() < 80);
    }
}
