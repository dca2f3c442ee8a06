//! The one error type of the store.

/// Why a store operation failed.
///
/// `NotFound` and `Conflict` are outcomes a caller handles (404, 409); the rest are
/// infrastructure failures that should become a 5xx with the cause logged, never shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row the operation names does not exist (`what`: `"user"`, `"role"`, …).
    #[error("{what} not found")]
    NotFound {
        /// Which kind of thing was missing.
        what: &'static str,
    },
    /// A uniqueness rule would be broken (`what`: `"username"`, `"role"`, `"kid"`, …).
    #[error("{what} already exists")]
    Conflict {
        /// Which unique value was taken.
        what: &'static str,
    },
    /// The database URL's scheme is neither `sqlite:` nor `postgres:`/`postgresql:`.
    /// The URL itself is not kept: it may hold a password.
    #[error("unsupported database URL scheme {scheme:?} (expected sqlite: or postgres:)")]
    UnsupportedUrl {
        /// The scheme that was given.
        scheme: String,
    },
    /// A stored value could not be read back (a bad id, timestamp or JSON in a column).
    #[error("stored {what} is malformed")]
    Corrupt {
        /// Which value.
        what: &'static str,
    },
    /// Applying the embedded migrations failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database reported an error or could not be reached.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// The store was closed ([`Store::close`](crate::Store::close)): nothing will succeed any
    /// more, so a background task should end rather than retry.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::PoolClosed))
    }

    /// Maps a unique-constraint violation to [`StoreError::Conflict`] and a foreign-key
    /// violation to [`StoreError::NotFound`]; anything else stays a database error.
    pub(crate) fn from_write(
        error: sqlx::Error,
        conflict: &'static str,
        missing: &'static str,
    ) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                return Self::Conflict { what: conflict };
            }
            if db.is_foreign_key_violation() {
                return Self::NotFound { what: missing };
            }
        }
        Self::Database(error)
    }
}
