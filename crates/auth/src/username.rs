//! [`Username`]: the login name of a person, valid by construction.

use std::fmt;
use std::hash::{Hash, Hasher};

/// Why a string is not a valid [`Username`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUsername {
    /// Fewer than [`Username::MIN_CHARS`] characters.
    #[error("a username needs at least {} characters", Username::MIN_CHARS)]
    TooShort,
    /// More than [`Username::MAX_CHARS`] characters.
    #[error("a username has at most {} characters", Username::MAX_CHARS)]
    TooLong,
    /// A character outside ASCII letters, digits, `.`, `_` and `-`.
    #[error("a username may contain only letters, digits, '.', '_' and '-'")]
    ForbiddenCharacter,
}

/// A login name: 3–64 ASCII letters, digits, `.`, `_` or `-`.
///
/// The spelling the person chose is kept for display, but identity is case-insensitive:
/// `Alice` and `alice` are equal, hash alike, and the store keeps them unique through
/// [`Username::normalized`]. Only ASCII is accepted because without Unicode normalisation two
/// names that look identical (a Cyrillic `а` and a Latin `a`, or composed and decomposed
/// accents) would be different accounts, which is an impersonation risk.
#[derive(Clone)]
pub struct Username {
    display: String,
    normalized: String,
}

impl Username {
    /// The fewest characters a username may have.
    pub const MIN_CHARS: usize = 3;
    /// The most characters a username may have.
    pub const MAX_CHARS: usize = 64;

    /// Parses a username, refusing anything outside the rules above.
    pub fn parse(candidate: &str) -> Result<Self, InvalidUsername> {
        // Every allowed character is one byte, so the byte length is the character count once
        // the characters have been checked.
        if !candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(InvalidUsername::ForbiddenCharacter);
        }
        if candidate.len() < Self::MIN_CHARS {
            return Err(InvalidUsername::TooShort);
        }
        if candidate.len() > Self::MAX_CHARS {
            return Err(InvalidUsername::TooLong);
        }
        Ok(Self {
            display: candidate.to_owned(),
            normalized: candidate.to_ascii_lowercase(),
        })
    }

    /// The username as the person spelled it.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The lowercase form that identifies the account.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl PartialEq for Username {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Eq for Username {}

impl Hash for Username {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Username").field(&self.display).finish()
    }
}

impl std::str::FromStr for Username {
    type Err = InvalidUsername;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.display
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_username_is_accepted_and_keeps_its_spelling() {
        let name = Username::parse("Alice.Smith-2_x").unwrap();
        assert_eq!(name.as_str(), "Alice.Smith-2_x");
        assert_eq!(name.normalized(), "alice.smith-2_x");
    }

    #[test]
    fn usernames_differing_only_in_case_are_the_same_identity() {
        assert_eq!(
            Username::parse("ALICE").unwrap(),
            Username::parse("alice").unwrap()
        );
    }

    #[test]
    fn a_username_with_control_characters_is_rejected() {
        assert_eq!(
            Username::parse("ali\u{0}ce"),
            Err(InvalidUsername::ForbiddenCharacter)
        );
        assert_eq!(
            Username::parse("alice\n"),
            Err(InvalidUsername::ForbiddenCharacter)
        );
    }

    #[test]
    fn a_username_with_spaces_or_symbols_is_rejected() {
        for bad in ["al ice", "alice@example.com", "al/ice", "ali'ce"] {
            assert_eq!(
                Username::parse(bad),
                Err(InvalidUsername::ForbiddenCharacter),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_username_with_non_ascii_letters_is_rejected() {
        // Cyrillic 'а' looks like Latin 'a'.
        assert_eq!(
            Username::parse("\u{430}lice"),
            Err(InvalidUsername::ForbiddenCharacter)
        );
    }

    #[test]
    fn a_username_needs_three_to_sixty_four_characters() {
        assert_eq!(Username::parse("ab"), Err(InvalidUsername::TooShort));
        assert_eq!(Username::parse(""), Err(InvalidUsername::TooShort));
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(InvalidUsername::TooLong)
        );
    }
}
