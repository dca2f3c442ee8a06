//! [`UnixTime`]: an instant in whole seconds since the Unix epoch (a JWT NumericDate).

use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z. The crate never reads the clock: callers pass `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixTime(i64);

impl UnixTime {
    /// Wraps a count of seconds since the epoch.
    pub const fn from_secs(secs: i64) -> UnixTime {
        UnixTime(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(&self) -> i64 {
        self.0
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
