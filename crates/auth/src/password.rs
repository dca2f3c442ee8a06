//! [`Password`]: a new password that meets the policy, kept secret.
//!
//! Only *new* passwords (signup, change, reset) go through the policy. A password typed at login
//! is a plain [`SecretString`]: an account created under an older, weaker policy must still be
//! able to log in.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::Username;

/// The 20,000 most common passwords, lowercased (see `data/README.md` for where they come from).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// Why a candidate password was refused by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than [`Password::MIN_CHARS`] characters.
    #[error("a password needs at least {} characters", Password::MIN_CHARS)]
    TooShort,
    /// More than [`Password::MAX_BYTES`] bytes.
    #[error("a password has at most {} bytes", Password::MAX_BYTES)]
    TooLong,
    /// The same as the username, ignoring case.
    #[error("a password must not be the username")]
    SameAsUsername,
    /// On the list of common passwords.
    #[error("this password is too common")]
    TooCommon,
}

impl WeakPassword {
    /// A stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::SameAsUsername => "password_same_as_username",
            Self::TooCommon => "password_too_common",
        }
    }
}

/// A new password that passed the policy: at least 8 characters, at most 1024 bytes, not the
/// username, and not one of the 20,000 most common passwords.
///
/// The text is held in a [`SecretString`] (zeroed on drop, redacted in `Debug`).
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// The fewest characters (Unicode scalar values) a new password may have.
    pub const MIN_CHARS: usize = 8;
    /// The most bytes a password may have; bounds the work of hashing one.
    pub const MAX_BYTES: usize = 1024;

    /// Checks `candidate` against the policy for the account `username`.
    pub fn new(candidate: SecretString, username: &Username) -> Result<Self, WeakPassword> {
        let text = candidate.expose_secret();
        if text.len() > Self::MAX_BYTES {
            return Err(WeakPassword::TooLong);
        }
        if text.chars().count() < Self::MIN_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if text.eq_ignore_ascii_case(username.as_str()) {
            return Err(WeakPassword::SameAsUsername);
        }
        let lowered = Zeroizing::new(text.to_lowercase());
        if COMMON_PASSWORDS.contains(lowered.as_str()) {
            return Err(WeakPassword::TooCommon);
        }
        Ok(Self(candidate))
    }

    /// The password as a secret, for hashing.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Username {
        Username::parse("alice").unwrap()
    }

    fn check(candidate: &str) -> Result<Password, WeakPassword> {
        Password::new(SecretString::from(candidate.to_owned()), &alice())
    }

    #[test]
    fn the_bundled_list_holds_at_least_ten_thousand_passwords() {
        assert!(
            COMMON_PASSWORDS.len() >= 10_000,
            "{}",
            COMMON_PASSWORDS.len()
        );
        assert!(COMMON_PASSWORDS.contains("password"));
    }

    #[test]
    fn a_long_uncommon_password_is_accepted() {
        assert!(check("correct horse battery staple").is_ok());
    }

    #[test]
    fn a_password_under_eight_characters_is_rejected() {
        assert_eq!(check("Xq7#pLm").unwrap_err(), WeakPassword::TooShort);
    }

    #[test]
    fn eight_multibyte_characters_are_long_enough() {
        assert!(check("ßüñçøæžł").is_ok());
    }

    #[test]
    fn a_password_over_1024_bytes_is_rejected() {
        assert_eq!(check(&"x".repeat(1025)).unwrap_err(), WeakPassword::TooLong);
        assert!(check(&"x".repeat(1024)).is_ok());
    }

    #[test]
    fn a_password_equal_to_the_username_in_any_case_is_rejected() {
        let name = Username::parse("longusername").unwrap();
        let candidate = SecretString::from("LongUserName".to_owned());
        assert_eq!(
            Password::new(candidate, &name).unwrap_err(),
            WeakPassword::SameAsUsername
        );
    }

    #[test]
    fn a_common_password_is_rejected_whatever_its_case() {
        assert_eq!(check("password").unwrap_err(), WeakPassword::TooCommon);
        assert_eq!(check("PassWord123").unwrap_err(), WeakPassword::TooCommon);
        assert_eq!(check("qwertyuiop").unwrap_err(), WeakPassword::TooCommon);
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let password = check("correct horse battery staple").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
