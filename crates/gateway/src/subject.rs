//! Who a request is from, once authenticated: the [`Subject`] every later stage works with.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use crate::headers::EncodedIdentity;

/// The configured name of a token issuer: `gatehouse` for Gatehouse's own tokens, or the `name`
/// of an `[[issuers]]` entry. Lower-case ASCII letters, digits, `-` and `_`, 1 to 64 characters,
/// so it is safe to put in a header and a log line as is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IssuerName(String);

impl IssuerName {
    /// The name reserved for tokens minted by Gatehouse itself.
    pub const GATEHOUSE: &'static str = "gatehouse";

    /// Validates an issuer name.
    pub fn new(name: &str) -> Result<Self, String> {
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if name.is_empty() || name.len() > 64 || !name.chars().all(valid_char) {
            return Err(format!(
                "issuer name `{name}` must be 1 to 64 characters of a-z, 0-9, `-` or `_`"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name Gatehouse's own tokens are known by.
    pub fn gatehouse() -> Self {
        Self(Self::GATEHOUSE.to_owned())
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IssuerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An authenticated caller, as produced by an authenticator and consumed by the authorizer and
/// the identity-header mutator. Sets keep the order stable, so headers are deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// Stable identifier of the caller (`sub`, or e.g. Entra's `oid`).
    pub id: String,
    /// Human-readable name, when the token carries one.
    pub username: Option<String>,
    /// Which trusted issuer vouched for the caller.
    pub issuer: IssuerName,
    /// Roles, after `map_roles` for external issuers.
    pub roles: BTreeSet<String>,
    /// Group identifiers as the issuer names them.
    pub groups: BTreeSet<String>,
    /// Permissions (Gatehouse tokens only; external issuers carry none).
    pub permissions: BTreeSet<String>,
    /// OAuth scopes (`scp`/`scope`).
    pub scopes: BTreeSet<String>,
    /// The token did not list the groups but referred to them elsewhere (Entra's groups
    /// overage, `_claim_names.groups`): `groups` is then incomplete, and a policy that depends on
    /// groups must not silently pass or fail on it.
    pub groups_overage: bool,
}

impl Subject {
    /// A subject with only an id and an issuer; the sets start empty.
    pub fn new(id: impl Into<String>, issuer: IssuerName) -> Self {
        Self {
            id: id.into(),
            username: None,
            issuer,
            roles: BTreeSet::new(),
            groups: BTreeSet::new(),
            permissions: BTreeSet::new(),
            scopes: BTreeSet::new(),
            groups_overage: false,
        }
    }
}

/// An authenticated [`Subject`] as the gateway hands it on: immutable once built and shared
/// (behind an `Arc`, from the verified-token cache) by every request that carries the same
/// token. Its identity headers are encoded on first use and re-used after that
/// ([`IdentityHeaders::apply`](crate::headers::IdentityHeaders::apply)): they depend only on
/// the subject and the header settings, and encoding them was a measurable part of a proxied
/// request's cost.
#[derive(Debug)]
pub struct Caller {
    subject: Subject,
    /// Filled by the first `apply`; never changes after that, like the subject.
    pub(crate) encoded_headers: OnceLock<EncodedIdentity>,
}

impl Caller {
    /// Seals a subject.
    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            encoded_headers: OnceLock::new(),
        }
    }
}

impl Deref for Caller {
    type Target = Subject;

    fn deref(&self) -> &Subject {
        &self.subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_names_are_restricted_to_header_safe_characters() {
        assert!(IssuerName::new("entra").is_ok());
        assert!(IssuerName::new("entra_v1-prod2").is_ok());
        assert!(IssuerName::new("").is_err());
        assert!(IssuerName::new("Entra").is_err());
        assert!(IssuerName::new("en tra").is_err());
        assert!(IssuerName::new("entra\r\n").is_err());
        assert!(IssuerName::new(&"a".repeat(65)).is_err());
    }
}
