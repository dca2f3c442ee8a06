//! What the web UI persists: browser sessions, shared secrets, and links from external (OIDC)
//! identities to local users. [`WebStore`] is part of the [`Store`](crate::Store) union;
//! [`web_store_impl!`] stamps its SQL out for both backends.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::model::{SessionId, UserId};
use crate::traits::StoreResult;

/// A browser session as stored: the row behind the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Hex SHA-256 of the random id the cookie carries (64 characters).
    pub id_hash: String,
    /// The refresh-token family (auth session) the browser session rides on.
    pub session: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The current refresh token of the family, sealed by the web UI (never plaintext).
    pub refresh_sealed: String,
    /// The OIDC provider the user signed in with, if any.
    pub provider: Option<String>,
    /// The provider's refresh token, sealed, when it issued one.
    pub provider_sealed: Option<String>,
    /// When the browser session began.
    pub created_at: OffsetDateTime,
    /// When it ends at the latest (the refresh token's expiry).
    pub expires_at: OffsetDateTime,
}

/// Browser sessions, web secrets and external identities.
#[async_trait]
pub trait WebStore: Send + Sync {
    /// The secret stored under `name`; stores `candidate` first when there is none. Every
    /// instance racing here gets the same answer.
    async fn web_secret(&self, name: &str, candidate: &str) -> StoreResult<String>;

    /// Records a new browser session.
    async fn create_web_session(&self, session: &WebSession) -> StoreResult<()>;

    /// The browser session with this id hash, if it exists and has not expired at `now`.
    async fn web_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<WebSession>>;

    /// Replaces the sealed refresh tokens after a rotation.
    async fn update_web_session_tokens(
        &self,
        id_hash: &str,
        refresh_sealed: &str,
        provider_sealed: Option<&str>,
    ) -> StoreResult<()>;

    /// Deletes a browser session (sign-out); deleting a missing one succeeds.
    async fn delete_web_session(&self, id_hash: &str) -> StoreResult<()>;

    /// The local user linked to `subject` at `provider`.
    async fn external_identity(&self, provider: &str, subject: &str)
    -> StoreResult<Option<UserId>>;

    /// Links `subject` at `provider` to `user`. [`StoreError::Conflict`](crate::StoreError)
    /// (`"external identity"`) when it is linked already.
    async fn link_external_identity(
        &self,
        provider: &str,
        subject: &str,
        user: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// Implements [`WebStore`] for a backend type with a `pool` field.
macro_rules! web_store_impl {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl $crate::web::WebStore for $store {
            async fn web_secret(
                &self,
                name: &str,
                candidate: &str,
            ) -> $crate::traits::StoreResult<String> {
                sqlx::query(
                    "INSERT INTO web_secrets (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(candidate)
                .execute(&self.pool)
                .await?;
                let (value,): (String,) =
                    sqlx::query_as("SELECT value FROM web_secrets WHERE name = $1")
                        .bind(name)
                        .fetch_one(&self.pool)
                        .await?;
                Ok(value)
            }

            async fn create_web_session(
                &self,
                session: &$crate::web::WebSession,
            ) -> $crate::traits::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO web_sessions (id_hash, session_id, user_id, refresh_sealed, \
                     provider, provider_sealed, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&session.id_hash)
                .bind(session.session.to_string())
                .bind(session.user_id.to_string())
                .bind(&session.refresh_sealed)
                .bind(&session.provider)
                .bind(&session.provider_sealed)
                .bind(session.created_at.unix_timestamp())
                .bind(session.expires_at.unix_timestamp())
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::error::StoreError::from_write(e, "web session", "session"))?;
                Ok(())
            }

            async fn web_session(
                &self,
                id_hash: &str,
                now: time::OffsetDateTime,
            ) -> $crate::traits::StoreResult<Option<$crate::web::WebSession>> {
                type Row = (
                    String,
                    String,
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                    i64,
                    i64,
                );
                let row: Option<Row> = sqlx::query_as(
                    "SELECT id_hash, session_id, user_id, refresh_sealed, provider, \
                     provider_sealed, created_at, expires_at FROM web_sessions \
                     WHERE id_hash = $1 AND expires_at > $2",
                )
                .bind(id_hash)
                .bind(now.unix_timestamp())
                .fetch_optional(&self.pool)
                .await?;
                let Some((id_hash, session, user, refresh, provider, provider_sealed, at, until)) =
                    row
                else {
                    return Ok(None);
                };
                use $crate::sql::rows::{id, time};
                Ok(Some($crate::web::WebSession {
                    id_hash,
                    session: id(&session, "web session family")?,
                    user_id: id(&user, "web session user")?,
                    refresh_sealed: refresh,
                    provider,
                    provider_sealed,
                    created_at: time(at, "web session created_at")?,
                    expires_at: time(until, "web session expires_at")?,
                }))
            }

            async fn update_web_session_tokens(
                &self,
                id_hash: &str,
                refresh_sealed: &str,
                provider_sealed: Option<&str>,
            ) -> $crate::traits::StoreResult<()> {
                sqlx::query(
                    "UPDATE web_sessions SET refresh_sealed = $2, \
                     provider_sealed = COALESCE($3, provider_sealed) WHERE id_hash = $1",
                )
                .bind(id_hash)
                .bind(refresh_sealed)
                .bind(provider_sealed)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn delete_web_session(&self, id_hash: &str) -> $crate::traits::StoreResult<()> {
                sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn external_identity(
                &self,
                provider: &str,
                subject: &str,
            ) -> $crate::traits::StoreResult<Option<$crate::model::UserId>> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT user_id FROM external_identities WHERE provider = $1 AND subject = $2",
                )
                .bind(provider)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(user,)| $crate::sql::rows::id(&user, "external identity user"))
                    .transpose()
            }

            async fn link_external_identity(
                &self,
                provider: &str,
                subject: &str,
                user: $crate::model::UserId,
                now: time::OffsetDateTime,
            ) -> $crate::traits::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO external_identities (provider, subject, user_id, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(provider)
                .bind(subject)
                .bind(user.to_string())
                .bind(now.unix_timestamp())
                .execute(&self.pool)
                .await
                .map_err(|e| {
                    $crate::error::StoreError::from_write(e, "external identity", "user")
                })?;
                Ok(())
            }
        }
    };
}

pub(crate) use web_store_impl;
