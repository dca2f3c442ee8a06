//! Persistence for Gatehouse: the store traits and their SQLite and PostgreSQL implementations. The only crate that knows SQL.
//!
//! Everything above this crate sees an `Arc<dyn Store>` from [`connect`] and the record types
//! in [`model`](crate::User); which database is behind it is decided by the URL alone.
//!
//! # Storage decisions
//! - **Ids are TEXT on both databases** (hyphenated lowercase UUIDs, UUIDv7 so they sort by
//!   creation). Native `UUID` on PostgreSQL would save 20 bytes a row, but identical column
//!   types let both backends share every query and row decoder; at the size of an identity
//!   database the space does not matter. A `CHECK (length(id) = 36)` keeps junk out.
//! - **Timestamps are BIGINT unix seconds (UTC) on both.** JWT `iat`/`exp` are whole seconds,
//!   integer comparisons are exact and indexable on both dialects, and nothing depends on
//!   a database's time zone or text format. Sub-second parts are dropped on write.
//! - **Refresh tokens are stored as the hex SHA-256** of the opaque token, never the token.
//! - **Revocations go to a log table** (`revocations`, with a monotonically increasing `seq`)
//!   in the same transaction as the revocation itself. PostgreSQL also sends the event with
//!   `pg_notify('gatehouse_revocations', json)` inside that transaction, so listeners hear of
//!   it exactly when it commits; SQLite instances poll [`RevocationStore::revocations_since`].
//!   [`follow_revocations`] combines both into one stream that misses nothing.
//! - **SQLite** runs in WAL mode with `synchronous = FULL` (an acknowledged commit survives
//!   a power cut, not only a process kill), `busy_timeout = 5 s`, foreign keys on, and opens
//!   write transactions with `BEGIN IMMEDIATE` so two writers never deadlock on lock upgrade.

mod backend;
mod error;
mod follow;
mod model;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod traits;
mod web;

pub use error::StoreError;
pub use follow::{Followed, MIN_POLL_INTERVAL, follow_revocation_log, follow_revocations};
pub use model::{
    ADMIN_PERMISSION, ADMIN_ROLE, Access, AuditEvent, AuditEventId, AuditQuery, Client, Group,
    NewAuditEvent, NewClient, NewRefreshToken, NewSession, NewSigningKey, NewUser, Page,
    PageRequest, RefreshToken, Reuse, Revocation, RevocationCursor, RevocationEvent,
    RevocationFeedItem, Role, Rotation, SYSTEM_ACTOR, Session, SessionId, SigningKey,
    ThrottleState, TokenHash, User, UserId, UserQuery, UserRef,
};
pub use traits::{
    AuditStore, Backend, ClientStore, KeyStore, RbacStore, RevocationStore, RevocationStream,
    SessionStore, Store, StoreResult, ThrottleStore, UserStore,
};
pub use web::{WebSession, WebStore};

use std::sync::Arc;

/// The PostgreSQL `NOTIFY` channel that carries [`RevocationEvent`]s as JSON.
pub const REVOCATION_CHANNEL: &str = "gatehouse_revocations";

/// Opens the database named by `url` and brings its schema up to date.
///
/// - `sqlite://path/to/file.db` (created if missing) or `sqlite::memory:` (one connection,
///   for throwaway use);
/// - `postgres://user@host/db` or `postgresql://…`.
///
/// Any other scheme is [`StoreError::UnsupportedUrl`].
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme {
        "sqlite" => Ok(Arc::new(backend::sqlite::SqliteStore::connect(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(backend::postgres::PgStore::connect(url).await?)),
        other => Err(StoreError::UnsupportedUrl {
            scheme: other.to_owned(),
        }),
    }
}
