//! [`Email`]: an e-mail address that passes a light syntactic check.

use std::fmt;

/// Why a string is not accepted as an [`Email`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an e-mail address looks like name@example.com, with at most 254 characters")]
pub struct InvalidEmail;

/// An e-mail address: `local@domain`, at most 254 bytes, no whitespace or control characters,
/// a dot in the domain.
///
/// Deliberately light: the only real check of an address is a message that arrives, and strict
/// RFC 5322 parsers refuse addresses people actually use.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// The longest address accepted (the SMTP path limit minus the angle brackets).
    pub const MAX_BYTES: usize = 254;

    /// Parses an address.
    pub fn parse(candidate: &str) -> Result<Self, InvalidEmail> {
        if candidate.len() > Self::MAX_BYTES
            || candidate
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(InvalidEmail);
        }
        let (local, domain) = candidate.rsplit_once('@').ok_or(InvalidEmail)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || !domain_ok {
            return Err(InvalidEmail);
        }
        Ok(Self(candidate.to_owned()))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_address_is_accepted() {
        assert_eq!(
            Email::parse("alice+tag@mail.example.com").unwrap().as_str(),
            "alice+tag@mail.example.com"
        );
    }

    #[test]
    fn an_address_without_at_sign_or_dotted_domain_is_rejected() {
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "a@.com",
            "a@b..c",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn an_address_with_whitespace_or_control_characters_is_rejected() {
        for bad in [
            "al ice@example.com",
            "alice@example.com\n",
            "a\u{7}@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }

    #[test]
    fn an_address_over_254_bytes_is_rejected() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(InvalidEmail));
    }
}
