//! The records the store reads and writes, and the identifiers that name them.
//!
//! Identifiers are newtypes so that a session id cannot be passed where a user id is expected.
//! Timestamps are [`OffsetDateTime`] in UTC; the store keeps whole seconds (see the crate docs),
//! so a value read back has its sub-second part cut off.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::{NoContext, Timestamp, Uuid};

/// A UUIDv7 made from `now`: ids sort by creation time, which keeps B-tree inserts at the end
/// of the index and makes "newest first" a plain `ORDER BY id`.
fn uuid_v7_at(now: OffsetDateTime) -> Uuid {
    let seconds = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    Uuid::new_v7(Timestamp::from_unix(NoContext, seconds, now.nanosecond()))
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (UUIDv7) id for something created at `now`.
            #[must_use]
            pub fn new(now: OffsetDateTime) -> Self {
                Self(uuid_v7_at(now))
            }

            /// Wraps an existing UUID (for example one parsed from a token's `sub`).
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Hyphenated lowercase: the exact form stored in the TEXT id columns.
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies a user account (`sub` of the tokens issued to it).
    UserId
);
uuid_id!(
    /// Identifies a session: one refresh-token family, from login to logout or expiry.
    SessionId
);
uuid_id!(
    /// Identifies one audit event.
    AuditEventId
);

/// The SHA-256 of an opaque refresh token. Only this is stored, so a copy of the database does
/// not hand out live refresh tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes the opaque token exactly as the client presents it.
    #[must_use]
    pub fn of_token(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps a digest computed elsewhere.
    #[must_use]
    pub const fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The raw digest.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, the form stored in the database.
    #[must_use]
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Parses 64 hex digits (either case); `None` for anything else.
    #[must_use]
    pub fn from_hex(hex: &str) -> Option<Self> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not a secret, but a short prefix is all a log reader needs.
        write!(f, "TokenHash({}…)", &self.to_hex()[..12])
    }
}

/// One page of a listing, with the total number of matches for the pager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page, in the listing's order.
    pub items: Vec<T>,
    /// How many items match the query in total, across all pages.
    pub total: u64,
}

/// Which slice of a listing to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// How many matching items to skip.
    pub offset: u64,
    /// At most this many items; the store caps it at [`PageRequest::MAX_LIMIT`].
    pub limit: u32,
}

impl PageRequest {
    /// The largest page the store returns, whatever the caller asks for.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first `limit` items.
    #[must_use]
    pub const fn first(limit: u32) -> Self {
        Self { offset: 0, limit }
    }

    pub(crate) fn capped_limit(&self) -> i64 {
        i64::from(self.limit.min(Self::MAX_LIMIT))
    }

    pub(crate) fn offset_i64(&self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(50)
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// A user account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// The username as the user chose it; uniqueness ignores case.
    pub username: String,
    /// Optional e-mail address (not verified by the store).
    pub email: Option<String>,
    /// PHC string (`$argon2id$…`, or an imported `$2b$…` bcrypt hash).
    pub password_hash: String,
    /// A disabled account cannot log in or refresh.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// Tokens issued before this instant are revoked (logout-all, password change).
    pub sessions_valid_after: Option<OffsetDateTime>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password hash stays out of logs even though it is not the password.
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .field("sessions_valid_after", &self.sessions_valid_after)
            .finish_non_exhaustive()
    }
}

/// What it takes to create a user; the store assigns the id.
#[derive(Clone)]
pub struct NewUser {
    /// The username, already validated by the caller.
    pub username: String,
    /// Optional e-mail address.
    pub email: Option<String>,
    /// PHC string of the password.
    pub password_hash: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A user listing: an optional search term and a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Case-insensitive substring of the username or e-mail; `None` lists everyone.
    pub search: Option<String>,
    /// Which page of the result (ordered by username).
    pub page: PageRequest,
}

/// A user named in a listing of someone else (a group's members).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRef {
    /// The user's id.
    pub id: UserId,
    /// The user's username.
    pub username: String,
}

// ---------------------------------------------------------------------------------------------
// Roles, groups, permissions

/// A role and the permissions it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// Unique name, e.g. `admin`.
    pub name: String,
    /// Free text for administrators.
    pub description: String,
    /// Permission strings such as `reports:read`, sorted.
    pub permissions: Vec<String>,
}

/// A group, its members and the roles it confers on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Unique name.
    pub name: String,
    /// Free text for administrators.
    pub description: String,
    /// Members, sorted by username.
    pub members: Vec<UserRef>,
    /// Roles every member holds through the group, sorted.
    pub roles: Vec<String>,
}

/// Everything a user may do: direct roles plus the roles of their groups, and the union of
/// those roles' permissions. Each list is sorted and has no duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Role names.
    pub roles: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Permission strings.
    pub permissions: Vec<String>,
}

/// The role every installation has, created by the first migration.
pub const ADMIN_ROLE: &str = "admin";
/// The permission the `admin` role holds and the `/admin` API requires.
pub const ADMIN_PERMISSION: &str = "gatehouse:admin";

// ---------------------------------------------------------------------------------------------
// Sessions (refresh-token families) and refresh tokens

/// A session: one refresh-token family, from login until logout, theft detection or expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The family id (also suitable as the access token's `sid`).
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// When the user logged in.
    pub created_at: OffsetDateTime,
    /// The last successful refresh (or the login).
    pub last_used_at: OffsetDateTime,
    /// `User-Agent` at login, for the session list.
    pub user_agent: Option<String>,
    /// Client address at login, for the session list.
    pub ip: Option<String>,
    /// When the family was revoked; `None` while it is live.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A refresh token as stored (its hash, never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the opaque token.
    pub hash: TokenHash,
    /// The family it belongs to.
    pub session_id: SessionId,
    /// The token it replaced; `None` for the first token of a session.
    pub parent: Option<TokenHash>,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// When it was exchanged for a child; `None` while unused.
    pub used_at: Option<OffsetDateTime>,
    /// The child it was exchanged for.
    pub replaced_by: Option<TokenHash>,
}

/// What it takes to open a session: who, from where, and its first refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// Whose session.
    pub user_id: UserId,
    /// `User-Agent` at login.
    pub user_agent: Option<String>,
    /// Client address at login.
    pub ip: Option<String>,
    /// Hash of the first refresh token.
    pub token: TokenHash,
    /// When the first refresh token expires.
    pub expires_at: OffsetDateTime,
}

/// The child token a rotation inserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// Hash of the new opaque token.
    pub hash: TokenHash,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// What happened when a refresh token was presented for rotation. Only [`Rotation::Rotated`]
/// wrote anything; every other outcome leaves the database as it was, so the caller decides
/// (grace-period reuse or theft → [`SessionStore::revoke_session`](crate::SessionStore::revoke_session)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live and unused: it is now marked used and the child is stored.
    Rotated {
        /// The session, with `last_used_at` updated.
        session: Session,
    },
    /// The token had already been exchanged: a double submit or a stolen token (boxed: it
    /// carries three records and is the rare path).
    AlreadyUsed(Box<Reuse>),
    /// The token's family has been revoked.
    SessionRevoked {
        /// The revoked session.
        session: Session,
    },
    /// The token is past its `expires_at`.
    Expired {
        /// The session it belonged to.
        session: Session,
    },
    /// No such token (never issued, or purged).
    Unknown,
}

/// A refresh token presented after it had been exchanged, with what the caller needs to tell
/// a double submit inside the grace period (child still unused) from theft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reuse {
    /// The session (still live: `revoked_at` is `None`).
    pub session: Session,
    /// The presented token, with `used_at` and `replaced_by` set.
    pub token: RefreshToken,
    /// The token it was exchanged for, if still stored.
    pub child: Option<RefreshToken>,
}

// ---------------------------------------------------------------------------------------------
// Revocations

/// Something that makes outstanding access tokens invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Revocation {
    /// One access token, by `jti`, until it would have expired anyway.
    Token {
        /// The token's `jti`.
        jti: String,
        /// The token's `exp`; after it the revocation can be forgotten.
        #[serde(with = "time::serde::timestamp")]
        expires_at: OffsetDateTime,
    },
    /// A session (refresh family): tokens carrying its id as `sid` are revoked.
    Session {
        /// The revoked session.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
    },
    /// Every token of a user issued before `valid_after` (logout-all, password change, and
    /// the account disabled or deleted: then `valid_after` is the second after the change).
    User {
        /// The user.
        user_id: UserId,
        /// Tokens with `iat` before this are revoked.
        #[serde(with = "time::serde::timestamp")]
        valid_after: OffsetDateTime,
    },
    /// A service client was disabled or deleted: every token it holds is refused while it
    /// stays so. Enabling it again is not a revocation and is not logged, so a follower that
    /// keeps revocations in memory must look the client up again rather than refuse it forever.
    Client {
        /// The client's `client_id`.
        client_id: String,
    },
}

/// Position in the revocation log; start from [`RevocationCursor::START`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct RevocationCursor(i64);

impl RevocationCursor {
    /// Before every event still in the log.
    pub const START: Self = Self(0);

    pub(crate) const fn from_seq(seq: i64) -> Self {
        Self(seq)
    }

    pub(crate) const fn seq(self) -> i64 {
        self.0
    }
}

/// One entry of the revocation log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationEvent {
    /// Pass this to [`RevocationStore::revocations_since`](crate::RevocationStore::revocations_since)
    /// to get only later events.
    pub cursor: RevocationCursor,
    /// When the revocation was recorded.
    #[serde(with = "time::serde::timestamp")]
    pub at: OffsetDateTime,
    /// What was revoked.
    pub revocation: Revocation,
}

/// One item of the live revocation feed
/// ([`RevocationStore::subscribe_revocations`](crate::RevocationStore::subscribe_revocations)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationFeedItem {
    /// The feed is listening (again) and may have missed events before this point: when it
    /// was opened, and after each reconnect. Read
    /// [`RevocationStore::revocations_since`](crate::RevocationStore::revocations_since) from
    /// the last cursor applied; every event committed after this item arrives live.
    Resync,
    /// A revocation, delivered when its transaction committed.
    Event(RevocationEvent),
}

// ---------------------------------------------------------------------------------------------
// Service clients

/// A machine client of the `client_credentials` grant.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// Public identifier, unique.
    pub client_id: String,
    /// PHC hash of the client secret.
    pub secret_hash: String,
    /// Display name.
    pub name: String,
    /// Roles the client's tokens carry, sorted.
    pub roles: Vec<String>,
    /// OAuth scopes the client may request, sorted.
    pub scopes: Vec<String>,
    /// A disabled client gets no tokens.
    pub disabled: bool,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("scopes", &self.scopes)
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// What it takes to register a client.
#[derive(Clone)]
pub struct NewClient {
    /// Public identifier, unique.
    pub client_id: String,
    /// PHC hash of the secret.
    pub secret_hash: String,
    /// Display name.
    pub name: String,
    /// Roles (must exist).
    pub roles: Vec<String>,
    /// OAuth scopes (no spaces inside one scope, as RFC 6749 §3.3 requires).
    pub scopes: Vec<String>,
}

impl fmt::Debug for NewClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewClient")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Signing keys

/// A token-signing key shared by every instance on the database.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id (`kid` header), unique.
    pub kid: String,
    /// JWS algorithm name, e.g. `ES256`.
    pub algorithm: String,
    /// Private key in PEM (PKCS#8), or the HMAC secret encoded by the caller.
    pub private_pem: String,
    /// When the key was added.
    pub created_at: OffsetDateTime,
    /// After this instant the key is no longer used to sign.
    pub not_after: Option<OffsetDateTime>,
    /// When the key was retired (replaced by a newer one); it may still verify.
    pub retired_at: Option<OffsetDateTime>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("not_after", &self.not_after)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// What it takes to add a signing key.
#[derive(Clone)]
pub struct NewSigningKey {
    /// Key id, unique.
    pub kid: String,
    /// JWS algorithm name.
    pub algorithm: String,
    /// Private key material (PEM).
    pub private_pem: String,
    /// Optional end of use for signing.
    pub not_after: Option<OffsetDateTime>,
}

impl fmt::Debug for NewSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Login throttling

/// Failure counter for one throttle key (`user:alice`, `ip:192.0.2.1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    /// The key.
    pub key: String,
    /// Failures since `window_start`.
    pub failures: u32,
    /// Start of the current counting window.
    pub window_start: OffsetDateTime,
    /// Attempts are refused until this instant, if set.
    pub locked_until: Option<OffsetDateTime>,
}

// ---------------------------------------------------------------------------------------------
// Audit

/// Who performed an audited action.
pub const SYSTEM_ACTOR: &str = "system";

/// An audit event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Time-ordered id.
    pub id: AuditEventId,
    /// When it happened.
    pub at: OffsetDateTime,
    /// A user id, `client:<client_id>`, or [`SYSTEM_ACTOR`].
    pub actor: String,
    /// Dotted action name, e.g. `login.success`.
    pub action: String,
    /// What the action was applied to, if anything.
    pub target: Option<String>,
    /// Client address, if known.
    pub ip: Option<String>,
    /// Extra structured facts; never secrets.
    pub details: serde_json::Value,
}

/// An audit event to append; the store assigns the id from `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// When it happened.
    pub at: OffsetDateTime,
    /// Who did it.
    pub actor: String,
    /// Dotted action name.
    pub action: String,
    /// What it was applied to.
    pub target: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Extra structured facts; never secrets.
    pub details: serde_json::Value,
}

/// Filters for the audit log; every `None` matches everything. Results are newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    /// Exact action name.
    pub action: Option<String>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Events at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Events strictly before this instant.
    pub until: Option<OffsetDateTime>,
    /// At most this many (capped at [`PageRequest::MAX_LIMIT`]).
    pub limit: u32,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            action: None,
            actor: None,
            since: None,
            until: None,
            limit: 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hash_round_trips_through_hex() {
        let hash = TokenHash::of_token("opaque-refresh-token");
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(hash.to_hex().len(), 64);
    }

    #[test]
    fn malformed_hex_is_not_a_token_hash() {
        assert_eq!(TokenHash::from_hex("abc"), None);
        assert_eq!(TokenHash::from_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn ids_made_later_sort_later() {
        let earlier = UserId::new(time::macros::datetime!(2026-01-01 00:00 UTC));
        let later = UserId::new(time::macros::datetime!(2026-01-01 00:00:01 UTC));
        assert!(earlier < later);
        assert!(earlier.to_string() < later.to_string());
    }
}
