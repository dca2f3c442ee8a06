//! Browser sessions: the cookie holds a random id; everything else stays on the server.
//!
//! A browser session rides on an ordinary refresh-token family of `gatehouse-auth`: signing
//! in opens one (password login or SSO), and the row in `web_sessions` keeps its current
//! refresh token sealed with a key the database does not hold. The access token lives in
//! memory only. Before it expires the next request refreshes it through [`Auth::refresh`];
//! each session has its own lock, so when many tabs ask at once exactly one refresh runs and
//! the others use its result. Because the cookie is the same for every tab, signing out (which
//! revokes the family and deletes the row) ends the session in all of them.
//!
//! [`Auth::refresh`]: gatehouse_auth::Auth::refresh

use std::sync::Arc;
use std::time::Duration;

use gatehouse_auth::{AccessClaims, AuthError, ClientContext, IssuedTokens, TokenSubject};
use gatehouse_store::{SessionId, UserId, WebSession};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::error::ApiError;
use crate::state::AppState;
use crate::web::oidc::OidcError;
use crate::web::secrets::{WebKeys, random_token, sha256_hex};

/// Refresh the access token when it has less than this left, so a page never hands out (or
/// forwards) a token about to expire.
const REFRESH_MARGIN: time::Duration = time::Duration::seconds(60);

/// Sessions not used for this long are dropped from memory (the row stays; the next request
/// refreshes).
const IDLE_IN_MEMORY: Duration = Duration::from_secs(30 * 60);

/// A signed-in browser, as a handler sees it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The id hash of the browser session (its row key).
    pub id_hash: String,
    /// The current access token (server-side only; never sent to the browser).
    pub token: String,
    /// Its claims: who, roles, groups, permissions.
    pub claims: AccessClaims,
    /// The user.
    pub user_id: UserId,
    /// The refresh-token family.
    pub session: SessionId,
}

impl SignedIn {
    /// Whether the access token carries `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.claims.permissions.iter().any(|p| p == permission)
    }

    /// The username.
    pub fn username(&self) -> &str {
        self.claims.preferred_username.as_deref().unwrap_or("")
    }
}

#[derive(Clone)]
struct Live {
    token: String,
    claims: AccessClaims,
}

type Slot = Arc<Mutex<Option<Live>>>;

/// The browser sessions of this instance: one lock and cached access token per session.
pub struct WebSessions {
    slots: moka::future::Cache<String, Slot>,
}

impl std::fmt::Debug for WebSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSessions")
            .field("in_memory", &self.slots.entry_count())
            .finish()
    }
}

impl Default for WebSessions {
    fn default() -> Self {
        Self {
            slots: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(IDLE_IN_MEMORY)
                .build(),
        }
    }
}

/// Why a request has no usable session.
#[derive(Debug)]
pub enum SessionProblem {
    /// No session, or one that has ended: sign in again.
    SignedOut,
    /// The store or the signer failed.
    Failed(ApiError),
}

impl From<AuthError> for SessionProblem {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidGrant | AuthError::SessionEnded => Self::SignedOut,
            other => Self::Failed(other.into()),
        }
    }
}

impl From<gatehouse_store::StoreError> for SessionProblem {
    fn from(error: gatehouse_store::StoreError) -> Self {
        Self::Failed(ApiError::internal(error))
    }
}

impl WebSessions {
    /// Opens a browser session over a freshly issued token pair; returns the cookie value.
    pub async fn start(
        &self,
        state: &AppState,
        keys: &WebKeys,
        tokens: IssuedTokens,
        provider: Option<(String, Option<String>)>,
        now: OffsetDateTime,
    ) -> Result<String, ApiError> {
        let cookie_id = random_token();
        let id_hash = sha256_hex(&cookie_id);
        let user_id = match tokens.claims.subject() {
            Some(TokenSubject::User { id, .. }) => id,
            _ => return Err(ApiError::internal(AuthError::SessionEnded)),
        };
        let (provider, provider_refresh) = provider.unzip();
        let expires_in = i64::try_from(tokens.refresh_expires_in).unwrap_or(i64::MAX);
        let row = WebSession {
            refresh_sealed: keys.seal(tokens.refresh_token.expose(), &id_hash),
            provider_sealed: provider_refresh
                .flatten()
                .map(|t| keys.seal(&t, &format!("provider:{id_hash}"))),
            id_hash: id_hash.clone(),
            session: tokens.session,
            user_id,
            provider,
            created_at: now,
            expires_at: now.saturating_add(time::Duration::seconds(expires_in)),
        };
        state
            .store()
            .create_web_session(&row)
            .await
            .map_err(ApiError::internal)?;
        let live = Live {
            token: tokens.access_token,
            claims: tokens.claims,
        };
        self.slots
            .insert(id_hash, Arc::new(Mutex::new(Some(live))))
            .await;
        Ok(cookie_id)
    }

    /// The signed-in session behind a cookie value, refreshing its access token first when it
    /// is about to expire. Ended sessions (signed out elsewhere, revoked by an administrator,
    /// account disabled) come back as [`SessionProblem::SignedOut`] and their row is removed.
    pub async fn current(
        &self,
        state: &AppState,
        keys: &WebKeys,
        cookie_id: &str,
        client: &ClientContext,
    ) -> Result<SignedIn, SessionProblem> {
        let id_hash = sha256_hex(cookie_id);
        let slot = self
            .slots
            .get_with(id_hash.clone(), async { Arc::new(Mutex::new(None)) })
            .await;
        // One lock per session: concurrent requests of all tabs queue here, and the first
        // one that finds the token stale refreshes it for everybody.
        let mut live = slot.lock().await;
        let now = state.now();
        let fresh = live
            .as_ref()
            .filter(|l| l.claims.expires_at() - now > REFRESH_MARGIN)
            .cloned();
        let current = match fresh {
            Some(current) => match state.auth().check_access_token(&current.claims).await {
                Ok(_) => current,
                Err(error) => {
                    *live = None;
                    return Err(self.ended(state, &id_hash, error).await);
                }
            },
            None => match self.refresh(state, keys, &id_hash, client, now).await {
                Ok(current) => current,
                Err(problem) => {
                    *live = None;
                    if matches!(problem, SessionProblem::SignedOut) {
                        self.forget_row(state, &id_hash).await;
                    }
                    return Err(problem);
                }
            },
        };
        *live = Some(current.clone());
        drop(live);
        let Some(TokenSubject::User { id, session, .. }) = current.claims.subject() else {
            return Err(SessionProblem::SignedOut);
        };
        Ok(SignedIn {
            id_hash,
            token: current.token,
            claims: current.claims,
            user_id: id,
            session,
        })
    }

    async fn refresh(
        &self,
        state: &AppState,
        keys: &WebKeys,
        id_hash: &str,
        client: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<Live, SessionProblem> {
        let Some(row) = state.store().web_session(id_hash, now).await? else {
            return Err(SessionProblem::SignedOut);
        };
        let refresh_token = keys
            .open(&row.refresh_sealed, id_hash)
            .map_err(|_| SessionProblem::SignedOut)?;
        let provider_sealed = self.renew_at_provider(state, keys, &row, now).await?;
        let signer = state.keys().signer();
        let tokens = state
            .auth()
            .refresh(&refresh_token, &signer, client, now)
            .await?;
        let sealed = keys.seal(tokens.refresh_token.expose(), id_hash);
        state
            .store()
            .update_web_session_tokens(id_hash, &sealed, provider_sealed.as_deref())
            .await?;
        Ok(Live {
            token: tokens.access_token,
            claims: tokens.claims,
        })
    }

    /// For a session signed in through an OIDC provider that issued a refresh token: renews
    /// it there first, so an account disabled at the provider loses its session here at the
    /// next renewal. A provider that cannot be reached does not end the session (an outage
    /// there must not sign everyone out); one that refuses does. Answers the newly sealed
    /// provider token, if any.
    async fn renew_at_provider(
        &self,
        state: &AppState,
        keys: &WebKeys,
        row: &WebSession,
        now: OffsetDateTime,
    ) -> Result<Option<String>, SessionProblem> {
        let (Some(provider), Some(sealed)) = (&row.provider, &row.provider_sealed) else {
            return Ok(None);
        };
        let context = format!("provider:{}", row.id_hash);
        let refresh_token = keys
            .open(sealed, &context)
            .map_err(|_| SessionProblem::SignedOut)?;
        let unix = gatehouse_token::UnixTime::from_secs(now.unix_timestamp());
        match state
            .web()
            .providers()
            .refresh(provider, &refresh_token, unix)
            .await
        {
            Ok(renewed) => Ok(Some(keys.seal(&renewed, &context))),
            Err(OidcError::Unavailable(reason)) => {
                tracing::warn!(
                    provider,
                    reason,
                    "the identity provider is unreachable; the session continues"
                );
                Ok(None)
            }
            Err(refused) => {
                tracing::info!(provider, reason = %refused, "the identity provider ended the session");
                state.store().revoke_session(row.session, now).await?;
                Err(SessionProblem::SignedOut)
            }
        }
    }

    async fn ended(&self, state: &AppState, id_hash: &str, error: AuthError) -> SessionProblem {
        let problem = SessionProblem::from(error);
        if matches!(problem, SessionProblem::SignedOut) {
            self.forget_row(state, id_hash).await;
        }
        problem
    }

    async fn forget_row(&self, state: &AppState, id_hash: &str) {
        if let Err(error) = state.store().delete_web_session(id_hash).await {
            tracing::warn!(error = %error, "deleting an ended web session failed");
        }
    }

    /// Signs out: revokes the refresh family and the current access token, deletes the row,
    /// and forgets the cached token. Every tab shares the cookie, so all of them are signed
    /// out.
    pub async fn end(
        &self,
        state: &AppState,
        signed_in: &SignedIn,
        client: &ClientContext,
    ) -> Result<(), ApiError> {
        match state
            .auth()
            .logout(&signed_in.claims, client, state.now())
            .await
        {
            Ok(()) | Err(AuthError::SessionEnded) => {}
            Err(other) => return Err(other.into()),
        }
        state
            .store()
            .delete_web_session(&signed_in.id_hash)
            .await
            .map_err(ApiError::internal)?;
        self.slots.invalidate(&signed_in.id_hash).await;
        Ok(())
    }
}
