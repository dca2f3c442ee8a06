//! Session flows: refresh-token rotation with reuse detection, logout, revocation, and the
//! revocation check for access tokens that verified.

use gatehouse_store::{NewRefreshToken, Rotation, Session, StoreError, UserId};
use gatehouse_token::SigningKey;
use serde_json::json;
use time::OffsetDateTime;

use crate::access::{AccessClaims, TokenSubject};
use crate::service::{later, seconds_until, secs_i64};
use crate::{Auth, AuthError, ClientContext, IssuedTokens, RefreshToken, RefreshTokenKey};

impl Auth {
    /// Exchanges a refresh token for a new access token and a new refresh token.
    ///
    /// A token already exchanged is answered with the very same child when it comes back
    /// within the grace period and the child is still unused (two tabs refreshing at once).
    /// Any other reuse means the token was copied: the whole session is revoked
    /// (RFC 9700 §4.14.2) and `refresh.reuse_detected` is audited.
    pub async fn refresh(
        &self,
        presented: &str,
        signer: &SigningKey,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, AuthError> {
        let Some(token) = RefreshToken::parse(presented) else {
            return self.refresh_refused(None, "malformed", context, now).await;
        };
        let child = RefreshTokenKey::for_signer(signer).child_of(&token);
        let child_expires_at = later(now, self.config.refresh_token_ttl);
        let rotation = self
            .store
            .rotate_refresh_token(
                token.hash(),
                NewRefreshToken {
                    hash: child.hash(),
                    expires_at: child_expires_at,
                },
                now,
            )
            .await?;
        match rotation {
            Rotation::Rotated { session } => {
                self.finish_refresh(
                    &session,
                    child,
                    child_expires_at,
                    false,
                    signer,
                    context,
                    now,
                )
                .await
            }
            Rotation::AlreadyUsed(reuse) => {
                let grace = time::Duration::seconds(secs_i64(self.config.refresh_grace));
                let within_grace = reuse.token.used_at.is_some_and(|used| now - used <= grace);
                let unused_child = reuse
                    .child
                    .as_ref()
                    .filter(|c| c.used_at.is_none() && c.expires_at > now);
                match (within_grace, unused_child) {
                    (true, Some(stored)) if stored.hash == child.hash() => {
                        let expires_at = stored.expires_at;
                        self.finish_refresh(
                            &reuse.session,
                            child,
                            expires_at,
                            true,
                            signer,
                            context,
                            now,
                        )
                        .await
                    }
                    // A double submit, but the child was derived from another signing key (a key
                    // rotation in between): it cannot be repeated, and nothing suggests theft,
                    // so refuse without ending the session.
                    (true, Some(_)) => {
                        self.refresh_refused(
                            Some(&reuse.session),
                            "grace_key_mismatch",
                            context,
                            now,
                        )
                        .await
                    }
                    _ => {
                        self.store.revoke_session(reuse.session.id, now).await?;
                        let user = reuse.session.user_id.to_string();
                        self.audit(
                            now,
                            &user,
                            "refresh.reuse_detected",
                            Some(user.clone()),
                            context,
                            json!({ "session": reuse.session.id.to_string() }),
                        )
                        .await?;
                        Err(AuthError::InvalidGrant)
                    }
                }
            }
            Rotation::SessionRevoked { session } => {
                self.refresh_refused(Some(&session), "session_revoked", context, now)
                    .await
            }
            Rotation::Expired { session } => {
                self.refresh_refused(Some(&session), "expired", context, now)
                    .await
            }
            Rotation::Unknown => self.refresh_refused(None, "unknown", context, now).await,
        }
    }

    #[allow(clippy::too_many_arguments)] // internal; all of them are the refresh in progress
    async fn finish_refresh(
        &self,
        session: &Session,
        refresh_token: RefreshToken,
        refresh_expires_at: OffsetDateTime,
        grace: bool,
        signer: &SigningKey,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, AuthError> {
        let user = self.store.user(session.user_id).await?;
        let Some(user) = user.filter(|u| !u.disabled && !ended_by_logout_all(u, session)) else {
            self.store.revoke_session(session.id, now).await?;
            return self
                .refresh_refused(Some(session), "account_unavailable", context, now)
                .await;
        };
        let access = self.store.effective_access(user.id).await?;
        let (access_token, claims) =
            self.issue_user_token(signer, &user, session.id, access, now)?;
        let actor = user.id.to_string();
        self.audit(
            now,
            &actor,
            "refresh.success",
            Some(actor.clone()),
            context,
            json!({ "session": session.id.to_string(), "grace_repeat": grace }),
        )
        .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.config.access_token_ttl.as_secs(),
            refresh_token,
            refresh_expires_in: seconds_until(now, refresh_expires_at),
            session: session.id,
            claims,
        })
    }

    async fn refresh_refused<T>(
        &self,
        session: Option<&Session>,
        reason: &str,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<T, AuthError> {
        let actor = session.map_or_else(|| "anonymous".to_owned(), |s| s.user_id.to_string());
        self.audit(
            now,
            &actor,
            "refresh.failure",
            session.map(|s| s.user_id.to_string()),
            context,
            json!({ "reason": reason, "session": session.map(|s| s.id.to_string()) }),
        )
        .await?;
        Err(AuthError::InvalidGrant)
    }

    /// Ends the session of a user access token: revokes its refresh family and its `jti`.
    pub async fn logout(
        &self,
        token: &AccessClaims,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let Some(TokenSubject::User { id, session, .. }) = token.subject() else {
            return Err(AuthError::SessionEnded);
        };
        match self.store.revoke_session(session, now).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        self.store
            .revoke_jti(&token.jti, token.expires_at(), now)
            .await?;
        let actor = id.to_string();
        self.audit(
            now,
            &actor,
            "logout",
            Some(actor.clone()),
            context,
            json!({ "session": session.to_string() }),
        )
        .await
    }

    /// Ends every session of a user and revokes every access token issued to them until now.
    /// Returns how many sessions were live.
    pub async fn logout_all(
        &self,
        user: UserId,
        actor: &str,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<u64, AuthError> {
        let ended = self.store.revoke_user_sessions(user, now).await?;
        self.store.set_sessions_valid_after(user, now, now).await?;
        self.audit(
            now,
            actor,
            "logout_all",
            Some(user.to_string()),
            context,
            json!({ "sessions_ended": ended }),
        )
        .await?;
        Ok(ended)
    }

    /// RFC 7009 revocation of a refresh token: ends its whole session. Unknown or malformed
    /// tokens are not an error (RFC 7009 §2.2). Returns whether a session was found.
    pub async fn revoke_refresh_token(
        &self,
        presented: &str,
        actor: &str,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        let Some(token) = RefreshToken::parse(presented) else {
            return Ok(false);
        };
        // The store finds a refresh token's session only through rotation. Rotating to a
        // random child nobody will ever see is harmless because the session is revoked right
        // after; every outcome except `Unknown` names the session.
        let throwaway = RefreshToken::generate();
        let rotation = self
            .store
            .rotate_refresh_token(
                token.hash(),
                NewRefreshToken {
                    hash: throwaway.hash(),
                    expires_at: now,
                },
                now,
            )
            .await?;
        let session = match rotation {
            Rotation::Rotated { session }
            | Rotation::SessionRevoked { session }
            | Rotation::Expired { session } => session,
            Rotation::AlreadyUsed(reuse) => reuse.session,
            Rotation::Unknown => return Ok(false),
        };
        self.store.revoke_session(session.id, now).await?;
        self.audit(
            now,
            actor,
            "token.revoked",
            Some(session.user_id.to_string()),
            context,
            json!({ "kind": "refresh_token", "session": session.id.to_string() }),
        )
        .await?;
        Ok(true)
    }

    /// RFC 7009 revocation of an access token that verified: revokes its `jti` until it
    /// expires.
    pub async fn revoke_access_token(
        &self,
        token: &AccessClaims,
        actor: &str,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        self.store
            .revoke_jti(&token.jti, token.expires_at(), now)
            .await?;
        self.audit(
            now,
            actor,
            "token.revoked",
            Some(token.sub.clone()),
            context,
            json!({ "kind": "access_token", "jti": token.jti }),
        )
        .await
    }

    /// Whether an access token whose signature and claims verified is still in force: its
    /// `jti` is not revoked; for a user token the account exists and is enabled, the token was
    /// issued at or after the last logout-all, and its session is not revoked; for a client
    /// token the client exists and is enabled. Answers [`AuthError::SessionEnded`] otherwise.
    pub async fn check_access_token(
        &self,
        token: &AccessClaims,
    ) -> Result<TokenSubject, AuthError> {
        let subject = token.subject().ok_or(AuthError::SessionEnded)?;
        if self.store.is_jti_revoked(&token.jti).await? {
            return Err(AuthError::SessionEnded);
        }
        let in_force = match &subject {
            TokenSubject::User { id, session, .. } => {
                let user_ok = self.store.user(*id).await?.is_some_and(|user| {
                    !user.disabled
                        && user
                            .sessions_valid_after
                            .is_none_or(|after| token.issued_at() >= after)
                });
                user_ok
                    && self
                        .store
                        .session(*session)
                        .await?
                        .is_some_and(|s| s.revoked_at.is_none() && s.user_id == *id)
            }
            TokenSubject::Client { client_id } => self
                .store
                .client(client_id)
                .await?
                .is_some_and(|client| !client.disabled),
        };
        if in_force {
            Ok(subject)
        } else {
            Err(AuthError::SessionEnded)
        }
    }
}

/// A session opened before the user's last logout-all is over, even if its revocation was
/// somehow missed.
fn ended_by_logout_all(user: &gatehouse_store::User, session: &Session) -> bool {
    user.sessions_valid_after
        .is_some_and(|after| session.created_at < after)
}
