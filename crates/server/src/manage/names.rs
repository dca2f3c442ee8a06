//! Names administrators give things: roles, groups, permissions, service clients and scopes.
//! Each is a newtype that cannot hold an invalid value, so the store never sees one.

use std::fmt;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {problem}")]
pub struct InvalidName {
    /// What was being named (`role name`, `permission`, …).
    pub kind: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

fn check(
    candidate: &str,
    kind: &'static str,
    max: usize,
    allowed: impl Fn(u8) -> bool,
    rule: &'static str,
) -> Result<(), InvalidName> {
    if candidate.is_empty() {
        return Err(InvalidName {
            kind,
            problem: "must not be empty",
        });
    }
    if candidate.len() > max {
        return Err(InvalidName {
            kind,
            problem: "is too long",
        });
    }
    if !candidate.bytes().all(allowed) {
        return Err(InvalidName {
            kind,
            problem: rule,
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal, $allowed:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a candidate, refusing anything outside the rules.
            pub fn parse(candidate: &str) -> Result<Self, InvalidName> {
                check(candidate, $kind, $max, $allowed, $rule)?;
                Ok(Self(candidate.to_owned()))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

name_type!(
    /// A role name: 1–64 ASCII letters, digits, `.`, `_` or `-` (e.g. `admin`, `report-reader`).
    RoleName, "role name", 64, name_byte,
    "may contain only letters, digits, '.', '_' and '-'"
);
name_type!(
    /// A group name: 1–64 ASCII letters, digits, `.`, `_` or `-`.
    GroupName, "group name", 64, name_byte,
    "may contain only letters, digits, '.', '_' and '-'"
);
name_type!(
    /// A service client's id: 1–64 ASCII letters, digits, `.`, `_` or `-`.
    ClientId, "client id", 64, name_byte,
    "may contain only letters, digits, '.', '_' and '-'"
);
name_type!(
    /// A permission string such as `reports:read`: 1–128 visible ASCII characters, no spaces.
    PermissionName, "permission", 128, |b: u8| b.is_ascii_graphic(),
    "may contain only visible ASCII characters (no spaces)"
);
name_type!(
    /// An OAuth scope (RFC 6749 §3.3): 1–128 visible ASCII characters except `"` and `\`.
    Scope, "scope", 128, |b: u8| b.is_ascii_graphic() && b != b'"' && b != b'\\',
    "may contain only visible ASCII characters except '\"' and '\\'"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_name_with_a_space_is_rejected() {
        assert!(RoleName::parse("report reader").is_err());
        assert!(RoleName::parse("report-reader").is_ok());
    }

    #[test]
    fn an_empty_or_overlong_name_is_rejected() {
        assert!(GroupName::parse("").is_err());
        assert!(GroupName::parse(&"g".repeat(65)).is_err());
        assert!(GroupName::parse(&"g".repeat(64)).is_ok());
    }

    #[test]
    fn a_permission_may_contain_a_colon_but_no_control_characters() {
        assert!(PermissionName::parse("reports:read").is_ok());
        assert!(PermissionName::parse("reports:\nread").is_err());
        assert!(PermissionName::parse("reports read").is_err());
    }

    #[test]
    fn a_scope_refuses_quotes_and_backslashes() {
        assert!(Scope::parse("api.read").is_ok());
        assert!(Scope::parse("a\"b").is_err());
        assert!(Scope::parse("a\\b").is_err());
    }
}
