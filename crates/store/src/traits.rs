//! The store traits, one per resource, and [`Store`], their union.
//!
//! All traits are object-safe (`#[async_trait]`), so the server holds an `Arc<dyn Store>` and
//! never knows which database is behind it. Conventions shared by every method:
//! - lookups return `Ok(None)` for a missing row; changes to a missing row return
//!   [`StoreError::NotFound`];
//! - a taken unique value returns [`StoreError::Conflict`];
//! - methods that compare with the clock take `now`; the store never reads the clock;
//! - granting something already granted, or revoking something already revoked, succeeds.

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::{
    Access, AuditEvent, AuditQuery, Client, Group, NewAuditEvent, NewClient, NewRefreshToken,
    NewSession, NewSigningKey, NewUser, Page, PageRequest, RevocationCursor, RevocationEvent,
    RevocationFeedItem, Role, Rotation, Session, SessionId, SigningKey, ThrottleState, TokenHash,
    User, UserId, UserQuery,
};

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// A live feed of revocations from every instance (PostgreSQL `LISTEN`): a
/// [`RevocationFeedItem::Resync`] first and after each reconnect, events in between. An error
/// item reports a lost connection (the feed goes on, reconnecting with back-off); the feed
/// ends when the store is closed.
pub type RevocationStream = BoxStream<'static, StoreResult<RevocationFeedItem>>;

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// User accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user with a fresh UUIDv7 id. [`StoreError::Conflict`] (`"username"`) when the
    /// username is taken in any letter case.
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User>;

    /// The user with this id.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;

    /// The user with this username, ignoring case.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;

    /// Users ordered by username, optionally filtered by a case-insensitive substring of the
    /// username or e-mail.
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Page<User>>;

    /// Enables or disables an account. Disabling an enabled account records, in the same
    /// transaction, a [`Revocation::User`](crate::Revocation::User) valid after the second
    /// after `now`, so gateways following the log stop trusting the user's tokens at once.
    /// (The account's flag is what refuses them; callers that also want them to stay void
    /// after the account is enabled again end its sessions, as the server does.)
    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Replaces the password hash (password change, reset, or rehash on login).
    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()>;

    /// Revokes every token of the user issued before `valid_after` and records a
    /// [`Revocation::User`](crate::Revocation::User) for the gateways.
    async fn set_sessions_valid_after(
        &self,
        id: UserId,
        valid_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Deletes the user together with their sessions, role grants and group memberships, and
    /// in the same transaction records a [`Revocation::User`](crate::Revocation::User) that
    /// ends every access token they hold, so gateways following the log refuse them at once
    /// instead of at their expiry.
    ///
    /// The revocation's `valid_after` is the second after `now`: token `iat`s are whole
    /// seconds, and one issued earlier in the same second as the deletion must be refused too.
    /// No later token can exist, since user ids are never reused.
    async fn delete_user(&self, id: UserId, now: OffsetDateTime) -> StoreResult<()>;
}

/// Roles, permissions, groups, and what they add up to for a user.
#[async_trait]
pub trait RbacStore: Send + Sync {
    /// Creates a role without permissions. [`StoreError::Conflict`] (`"role"`) when it exists.
    async fn create_role(&self, name: &str, description: &str) -> StoreResult<Role>;

    /// The role with its permissions.
    async fn role(&self, name: &str) -> StoreResult<Option<Role>>;

    /// Every role with its permissions, by name.
    async fn list_roles(&self) -> StoreResult<Vec<Role>>;

    /// Deletes a role and every grant of it.
    async fn delete_role(&self, name: &str) -> StoreResult<()>;

    /// Adds a permission string to a role.
    async fn grant_permission(&self, role: &str, permission: &str) -> StoreResult<()>;

    /// Removes a permission string from a role.
    async fn revoke_permission(&self, role: &str, permission: &str) -> StoreResult<()>;

    /// Gives a user a role directly.
    async fn grant_user_role(&self, user: UserId, role: &str) -> StoreResult<()>;

    /// Takes a directly granted role away (roles held through groups are unaffected).
    async fn revoke_user_role(&self, user: UserId, role: &str) -> StoreResult<()>;

    /// The roles granted to the user directly, sorted.
    async fn user_roles(&self, user: UserId) -> StoreResult<Vec<String>>;

    /// Creates an empty group. [`StoreError::Conflict`] (`"group"`) when it exists.
    async fn create_group(&self, name: &str, description: &str) -> StoreResult<Group>;

    /// The group with its members and roles.
    async fn group(&self, name: &str) -> StoreResult<Option<Group>>;

    /// Every group with members and roles, by name.
    async fn list_groups(&self) -> StoreResult<Vec<Group>>;

    /// Deletes a group (members keep their accounts and direct roles).
    async fn delete_group(&self, name: &str) -> StoreResult<()>;

    /// Adds a user to a group.
    async fn add_group_member(&self, group: &str, user: UserId) -> StoreResult<()>;

    /// Removes a user from a group.
    async fn remove_group_member(&self, group: &str, user: UserId) -> StoreResult<()>;

    /// Lets every member of the group hold the role.
    async fn grant_group_role(&self, group: &str, role: &str) -> StoreResult<()>;

    /// Stops the group conferring the role.
    async fn revoke_group_role(&self, group: &str, role: &str) -> StoreResult<()>;

    /// The user's roles (direct and through groups), groups, and the union of those roles'
    /// permissions, in one call. Empty for an unknown user.
    async fn effective_access(&self, user: UserId) -> StoreResult<Access>;
}

/// Sessions (refresh-token families) and refresh-token rotation.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Opens a session with its first refresh token.
    async fn create_session(
        &self,
        session: NewSession,
        now: OffsetDateTime,
    ) -> StoreResult<Session>;

    /// The session with this id, live or revoked.
    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>>;

    /// Exchanges `presented` for `child` in one transaction (row lock on PostgreSQL,
    /// `BEGIN IMMEDIATE` on SQLite): of two concurrent rotations of one token exactly one gets
    /// [`Rotation::Rotated`]; the other sees [`Rotation::AlreadyUsed`].
    async fn rotate_refresh_token(
        &self,
        presented: TokenHash,
        child: NewRefreshToken,
        now: OffsetDateTime,
    ) -> StoreResult<Rotation>;

    /// Revokes one session (logout, reuse detected, admin). [`StoreError::NotFound`] if there
    /// is no such session; revoking a revoked session changes nothing.
    async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> StoreResult<()>;

    /// Revokes every live session of a user; returns how many were live.
    async fn revoke_user_sessions(&self, user: UserId, now: OffsetDateTime) -> StoreResult<u64>;

    /// The user's live sessions (not revoked, holding an unused unexpired token), newest first.
    async fn user_sessions(&self, user: UserId, now: OffsetDateTime) -> StoreResult<Vec<Session>>;

    /// Every live session, newest first (admin view).
    async fn list_sessions(
        &self,
        page: PageRequest,
        now: OffsetDateTime,
    ) -> StoreResult<Page<Session>>;
}

/// Revoked access tokens and the revocation feed the gateways follow.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Revokes one access token until `expires_at` (its `exp`).
    async fn revoke_jti(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Whether the token with this `jti` has been revoked.
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;

    /// Revocation events after `cursor`, oldest first, at most `limit`. Follow by passing the
    /// last event's cursor back in.
    async fn revocations_since(
        &self,
        cursor: RevocationCursor,
        limit: u32,
    ) -> StoreResult<Vec<RevocationEvent>>;

    /// The cursor of the newest entry in the log ([`RevocationCursor::START`] when it is
    /// empty). A follower that needs no history, because it starts with nothing cached,
    /// follows from here instead of reading up to a day of old entries.
    async fn revocation_log_end(&self) -> StoreResult<RevocationCursor>;

    /// A live feed of revocations recorded by any instance, or `None` when the backend cannot
    /// push them (SQLite: poll [`RevocationStore::revocations_since`] instead).
    ///
    /// Each event arrives when its transaction commits. The feed's connection reconnects by
    /// itself after a network failure, and notifications sent meanwhile are lost; so the feed
    /// yields [`RevocationFeedItem::Resync`] once it listens (at first and after every
    /// reconnect), and the follower then reads `revocations_since` from the last cursor it
    /// applied. [`follow_revocations`](crate::follow_revocations) does all of that.
    async fn subscribe_revocations(&self) -> StoreResult<Option<RevocationStream>>;

    /// Deletes what can no longer matter at `now`: revoked `jti`s and refresh tokens past
    /// their expiry, sessions left without tokens, and revocation-log entries and unlocked
    /// throttle counters older than a day. Returns how many rows were deleted. Run it now and
    /// then (hourly is plenty) from one instance or several: it is idempotent.
    async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Service clients of the `client_credentials` grant.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Registers a client. [`StoreError::Conflict`] (`"client"`) when the id is taken,
    /// [`StoreError::NotFound`] (`"role"`) when a role does not exist.
    async fn create_client(&self, client: NewClient, now: OffsetDateTime) -> StoreResult<Client>;

    /// The client with this id.
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;

    /// Every client, by id.
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;

    /// Enables or disables a client. Disabling an enabled client records, in the same
    /// transaction, a [`Revocation::Client`](crate::Revocation::Client) for the gateways.
    async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Replaces the client's secret hash.
    async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<()>;

    /// Deletes a client and, in the same transaction, records a
    /// [`Revocation::Client`](crate::Revocation::Client) for the gateways.
    async fn delete_client(&self, client_id: &str, now: OffsetDateTime) -> StoreResult<()>;
}

/// Token-signing keys, shared by every instance on the database.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Adds a key; it becomes the active one. [`StoreError::Conflict`] (`"kid"`) when the kid
    /// exists.
    async fn add_signing_key(
        &self,
        key: NewSigningKey,
        now: OffsetDateTime,
    ) -> StoreResult<SigningKey>;

    /// Every key, newest first (for the JWKS and verification).
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;

    /// The key to sign with: the newest that is neither retired nor past `not_after`.
    async fn active_signing_key(&self, now: OffsetDateTime) -> StoreResult<Option<SigningKey>>;

    /// Marks a key retired; it stays available for verification until deleted.
    async fn retire_signing_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<()>;

    /// Removes a key once no token it signed can still be valid.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()>;
}

/// Login-failure counters shared by every instance.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Counts a failure for `key`. A window older than `window` restarts the count at 1.
    /// Atomic: concurrent failures are all counted.
    async fn record_failure(
        &self,
        key: &str,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> StoreResult<ThrottleState>;

    /// Refuses attempts for `key` until `until`.
    async fn lock_until(&self, key: &str, until: OffsetDateTime) -> StoreResult<()>;

    /// The counter for `key`, if any failure is recorded.
    async fn throttle(&self, key: &str) -> StoreResult<Option<ThrottleState>>;

    /// Forgets `key` (after a successful login).
    async fn reset_throttle(&self, key: &str) -> StoreResult<()>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event.
    async fn append_audit(&self, event: NewAuditEvent) -> StoreResult<AuditEvent>;

    /// Events matching every filter, newest first.
    async fn query_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
}

/// Everything Gatehouse persists: the union of the resource traits, plus health.
#[async_trait]
pub trait Store:
    UserStore
    + RbacStore
    + SessionStore
    + RevocationStore
    + ClientStore
    + KeyStore
    + ThrottleStore
    + AuditStore
    + crate::web::WebStore
{
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a trivial query (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Closes the pool, waiting for connections in use to be returned.
    async fn close(&self);
}
