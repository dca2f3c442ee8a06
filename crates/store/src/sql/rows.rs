//! Row shapes as the queries return them, and their conversion into the public records.
//!
//! The schema uses the same column types on both databases (TEXT ids, BIGINT seconds,
//! BOOLEAN), so one `FromRow` derive decodes a row from either backend.

use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::{
    AuditEvent, RefreshToken, Revocation, RevocationCursor, RevocationEvent, Session, SigningKey,
    ThrottleState, TokenHash, User,
};

/// Seconds since the Unix epoch, the stored form of every timestamp.
pub(crate) fn secs(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

pub(crate) fn opt_secs(at: Option<OffsetDateTime>) -> Option<i64> {
    at.map(secs)
}

pub(crate) fn time(secs: i64, what: &'static str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| StoreError::Corrupt { what })
}

pub(crate) fn opt_time(
    secs: Option<i64>,
    what: &'static str,
) -> Result<Option<OffsetDateTime>, StoreError> {
    secs.map(|s| time(s, what)).transpose()
}

pub(crate) fn id<T: std::str::FromStr>(text: &str, what: &'static str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt { what })
}

pub(crate) fn hash(text: &str) -> Result<TokenHash, StoreError> {
    TokenHash::from_hex(text).ok_or(StoreError::Corrupt { what: "token hash" })
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    email: Option<String>,
    password_hash: String,
    disabled: bool,
    created_at: i64,
    sessions_valid_after: Option<i64>,
}

/// The column list matching [`UserRow`].
pub(crate) const USER_COLUMNS: &str =
    "id, username, email, password_hash, disabled, created_at, sessions_valid_after";

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: id(&row.id, "user id")?,
            username: row.username,
            email: row.email,
            password_hash: row.password_hash,
            disabled: row.disabled,
            created_at: time(row.created_at, "user created_at")?,
            sessions_valid_after: opt_time(row.sessions_valid_after, "sessions_valid_after")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    user_id: String,
    created_at: i64,
    last_used_at: i64,
    user_agent: Option<String>,
    ip: Option<String>,
    revoked_at: Option<i64>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: id(&row.id, "session id")?,
            user_id: id(&row.user_id, "session user id")?,
            created_at: time(row.created_at, "session created_at")?,
            last_used_at: time(row.last_used_at, "session last_used_at")?,
            user_agent: row.user_agent,
            ip: row.ip,
            revoked_at: opt_time(row.revoked_at, "session revoked_at")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    hash: String,
    session_id: String,
    parent_hash: Option<String>,
    issued_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    replaced_by: Option<String>,
}

impl TryFrom<TokenRow> for RefreshToken {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<Self, StoreError> {
        Ok(Self {
            hash: hash(&row.hash)?,
            session_id: id(&row.session_id, "token session id")?,
            parent: row.parent_hash.as_deref().map(hash).transpose()?,
            issued_at: time(row.issued_at, "token issued_at")?,
            expires_at: time(row.expires_at, "token expires_at")?,
            used_at: opt_time(row.used_at, "token used_at")?,
            replaced_by: row.replaced_by.as_deref().map(hash).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RevocationRow {
    seq: i64,
    at: i64,
    kind: String,
    jti: Option<String>,
    session_id: Option<String>,
    user_id: Option<String>,
    expires_at: Option<i64>,
    valid_after: Option<i64>,
    client_id: Option<String>,
}

impl TryFrom<RevocationRow> for RevocationEvent {
    type Error = StoreError;

    fn try_from(row: RevocationRow) -> Result<Self, StoreError> {
        const WHAT: &str = "revocation";
        let revocation = match row.kind.as_str() {
            "token" => Revocation::Token {
                jti: row.jti.ok_or(StoreError::Corrupt { what: WHAT })?,
                expires_at: time(
                    row.expires_at.ok_or(StoreError::Corrupt { what: WHAT })?,
                    WHAT,
                )?,
            },
            "session" => Revocation::Session {
                session_id: id(row.session_id.as_deref().unwrap_or_default(), WHAT)?,
                user_id: id(row.user_id.as_deref().unwrap_or_default(), WHAT)?,
            },
            "user" => Revocation::User {
                user_id: id(row.user_id.as_deref().unwrap_or_default(), WHAT)?,
                valid_after: time(
                    row.valid_after.ok_or(StoreError::Corrupt { what: WHAT })?,
                    WHAT,
                )?,
            },
            "client" => Revocation::Client {
                client_id: row.client_id.ok_or(StoreError::Corrupt { what: WHAT })?,
            },
            _ => return Err(StoreError::Corrupt { what: WHAT }),
        };
        Ok(Self {
            cursor: RevocationCursor::from_seq(row.seq),
            at: time(row.at, WHAT)?,
            revocation,
        })
    }
}

/// The columns of the revocation log that describe one revocation, as bound by the writers.
pub(crate) struct RevocationColumns {
    pub(crate) kind: &'static str,
    pub(crate) jti: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) expires_at: Option<i64>,
    pub(crate) valid_after: Option<i64>,
    pub(crate) client_id: Option<String>,
}

impl From<&Revocation> for RevocationColumns {
    fn from(revocation: &Revocation) -> Self {
        match revocation {
            Revocation::Token { jti, expires_at } => Self {
                kind: "token",
                jti: Some(jti.clone()),
                session_id: None,
                user_id: None,
                expires_at: Some(secs(*expires_at)),
                valid_after: None,
                client_id: None,
            },
            Revocation::Session {
                session_id,
                user_id,
            } => Self {
                kind: "session",
                jti: None,
                session_id: Some(session_id.to_string()),
                user_id: Some(user_id.to_string()),
                expires_at: None,
                valid_after: None,
                client_id: None,
            },
            Revocation::User {
                user_id,
                valid_after,
            } => Self {
                kind: "user",
                jti: None,
                session_id: None,
                user_id: Some(user_id.to_string()),
                expires_at: None,
                valid_after: Some(secs(*valid_after)),
                client_id: None,
            },
            Revocation::Client { client_id } => Self {
                kind: "client",
                jti: None,
                session_id: None,
                user_id: None,
                expires_at: None,
                valid_after: None,
                client_id: Some(client_id.clone()),
            },
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    pub(crate) client_id: String,
    pub(crate) secret_hash: String,
    pub(crate) name: String,
    pub(crate) disabled: bool,
    pub(crate) created_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    algorithm: String,
    private_pem: String,
    created_at: i64,
    not_after: Option<i64>,
    retired_at: Option<i64>,
}

impl TryFrom<KeyRow> for SigningKey {
    type Error = StoreError;

    fn try_from(row: KeyRow) -> Result<Self, StoreError> {
        Ok(Self {
            kid: row.kid,
            algorithm: row.algorithm,
            private_pem: row.private_pem,
            created_at: time(row.created_at, "key created_at")?,
            not_after: opt_time(row.not_after, "key not_after")?,
            retired_at: opt_time(row.retired_at, "key retired_at")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ThrottleRow {
    key: String,
    failures: i64,
    window_start: i64,
    locked_until: Option<i64>,
}

impl TryFrom<ThrottleRow> for ThrottleState {
    type Error = StoreError;

    fn try_from(row: ThrottleRow) -> Result<Self, StoreError> {
        Ok(Self {
            key: row.key,
            // The counter only grows by one per failed login; saturate rather than fail.
            failures: u32::try_from(row.failures.max(0)).unwrap_or(u32::MAX),
            window_start: time(row.window_start, "throttle window_start")?,
            locked_until: opt_time(row.locked_until, "throttle locked_until")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: String,
    at: i64,
    actor: String,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    details: String,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: id(&row.id, "audit event id")?,
            at: time(row.at, "audit event time")?,
            actor: row.actor,
            action: row.action,
            target: row.target,
            ip: row.ip,
            details: serde_json::from_str(&row.details).map_err(|_| StoreError::Corrupt {
                what: "audit details",
            })?,
        })
    }
}

/// Turns a free-text search into a `LIKE` pattern matching it as a lowercase substring;
/// `%`, `_` and `\` in the text match themselves (the queries say `ESCAPE '\'`).
pub(crate) fn substring_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Converts a list of row results into records.
pub(crate) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_search_match_themselves() {
        assert_eq!(substring_pattern("A_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
