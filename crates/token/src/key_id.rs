//! [`KeyId`]: a validated JWS `kid`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::KeyError;

/// A key id: 1 to 128 visible ASCII characters (`!` to `~`). Anything else — empty strings,
/// spaces, control characters, non-ASCII — cannot be constructed, so a `kid` that reaches a
/// log line or a lookup is always short and printable.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The longest accepted key id, in characters.
    pub const MAX_LEN: usize = 128;

    /// Validates and wraps a key id.
    pub fn new(kid: impl Into<String>) -> Result<KeyId, KeyError> {
        let kid = kid.into();
        if Self::is_valid(&kid) {
            Ok(KeyId(kid))
        } else {
            Err(KeyError::InvalidKeyId)
        }
    }

    pub(crate) fn is_valid(kid: &str) -> bool {
        (1..=Self::MAX_LEN).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_graphic())
    }

    /// The key id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for KeyId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyId {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyId::new(s)
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let kid = String::deserialize(deserializer)?;
        KeyId::new(kid).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thumbprint_shaped_kid_is_accepted() {
        let kid = KeyId::new("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").unwrap();
        assert_eq!(kid.as_str(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn an_empty_kid_is_rejected() {
        assert_eq!(KeyId::new(""), Err(KeyError::InvalidKeyId));
    }

    #[test]
    fn a_kid_longer_than_128_characters_is_rejected() {
        assert!(KeyId::new("a".repeat(128)).is_ok());
        assert!(KeyId::new("a".repeat(129)).is_err());
    }

    #[test]
    fn a_kid_with_spaces_control_or_non_ascii_characters_is_rejected() {
        for kid in ["a b", "a\nb", "a\u{0}b", "clé", "\u{7f}"] {
            assert!(KeyId::new(kid).is_err(), "{kid:?}");
        }
    }

    #[test]
    fn deserialising_an_invalid_kid_fails() {
        assert!(serde_json::from_str::<KeyId>("\"\"").is_err());
        assert!(serde_json::from_str::<KeyId>("\"ok\"").is_ok());
    }
}
