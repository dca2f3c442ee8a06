//! [`Auth`]: the service the HTTP layer calls, its configuration, and what it hands back.
//!
//! The flows themselves live in `accounts` (signup, login, password), `sessions` (refresh,
//! logout, revocation checks) and `clients` (the `client_credentials` grant).

use std::sync::Arc;
use std::time::Duration;

use gatehouse_store::{Access, NewAuditEvent, SessionId, Store, User, UserId};
use gatehouse_token::SigningKey;
use serde_json::Value;
use time::OffsetDateTime;

use crate::access::AccessClaims;
use crate::{AuthError, PasswordHasher, RefreshToken, ThrottlePolicy};

/// Whether people may create their own accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignupMode {
    /// `POST /auth/signup` is open to anyone.
    #[default]
    Open,
    /// Only administrators create accounts.
    Closed,
}

/// Everything that shapes the flows: token lifetimes, audiences, signup, throttling.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `iss` of every token: the public URL of Gatehouse.
    pub issuer: String,
    /// `aud` of every access token (at least one).
    pub audiences: Vec<String>,
    /// Lifetime of access tokens (default 15 minutes).
    pub access_token_ttl: Duration,
    /// Lifetime of each refresh token (default 30 days; rotation issues a new one).
    pub refresh_token_ttl: Duration,
    /// How long after a refresh token was exchanged a second presentation of it still gets the
    /// same child, as long as the child is unused (default 10 s: two tabs refreshing at once).
    pub refresh_grace: Duration,
    /// Whether signup is open.
    pub signup: SignupMode,
    /// Roles every new account gets (they must exist).
    pub default_roles: Vec<String>,
    /// `client_id` written into tokens issued through `/auth/login` (RFC 9068 requires one).
    pub first_party_client_id: String,
    /// Login throttling.
    pub throttle: ThrottlePolicy,
}

impl AuthConfig {
    /// The defaults of the issue for an issuer and its audiences.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            refresh_grace: Duration::from_secs(10),
            signup: SignupMode::Open,
            default_roles: Vec::new(),
            first_party_client_id: "gatehouse".to_owned(),
            throttle: ThrottlePolicy::default(),
        }
    }
}

/// Facts about the HTTP client of a request, for sessions, throttling and the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// The client's address, as the server determined it.
    pub ip: Option<String>,
    /// The `User-Agent` header, shown in session lists.
    pub user_agent: Option<String>,
}

/// An account as shown to its owner (`GET /auth/me`) or after signup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user id (`sub`).
    pub id: UserId,
    /// The username as chosen.
    pub username: String,
    /// The e-mail address, if given.
    pub email: Option<String>,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// Effective roles, groups and permissions.
    pub access: Access,
}

/// What a login or refresh hands to the client.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque refresh token.
    pub refresh_token: RefreshToken,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    /// The session the tokens belong to.
    pub session: SessionId,
    /// The claims inside the access token.
    pub claims: AccessClaims,
}

/// What the `client_credentials` grant hands to a service client.
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The granted scopes, space-separated (RFC 6749 §5.1); `None` when there are none.
    pub scope: Option<String>,
    /// The claims inside the access token.
    pub claims: AccessClaims,
}

/// Accounts, passwords, sessions and token issuance over a [`Store`]. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) config: Arc<AuthConfig>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Assembles the service.
    pub fn new(store: Arc<dyn Store>, config: AuthConfig, hasher: PasswordHasher) -> Self {
        Self {
            store,
            hasher,
            config: Arc::new(config),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The password hasher (also used to hash service-client secrets).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Builds and signs an access token for a user session.
    pub(crate) fn issue_user_token(
        &self,
        signer: &SigningKey,
        user: &User,
        session: SessionId,
        access: Access,
        now: OffsetDateTime,
    ) -> Result<(String, AccessClaims), AuthError> {
        let claims = AccessClaims {
            sub: user.id.to_string(),
            client_id: self.config.first_party_client_id.clone(),
            sid: Some(session.to_string()),
            preferred_username: Some(user.username.clone()),
            roles: access.roles,
            groups: access.groups,
            permissions: access.permissions,
            scope: None,
            ..self.base_claims(now)
        };
        let token = claims.sign(signer)?;
        Ok((token, claims))
    }

    /// The claims every access token has; the caller fills in who it is for.
    pub(crate) fn base_claims(&self, now: OffsetDateTime) -> AccessClaims {
        let iat = now.unix_timestamp();
        AccessClaims {
            iss: self.config.issuer.clone(),
            sub: String::new(),
            aud: self.config.audiences.clone(),
            iat,
            nbf: iat,
            exp: iat.saturating_add(secs_i64(self.config.access_token_ttl)),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            client_id: String::new(),
            sid: None,
            preferred_username: None,
            roles: Vec::new(),
            groups: Vec::new(),
            permissions: Vec::new(),
            scope: None,
        }
    }

    /// Appends an audit event and writes it as a structured log line. Callers never put a
    /// password or token into `details`.
    pub(crate) async fn audit(
        &self,
        now: OffsetDateTime,
        actor: &str,
        action: &str,
        target: Option<String>,
        context: &ClientContext,
        details: Value,
    ) -> Result<(), AuthError> {
        tracing::info!(
            target: "gatehouse::audit",
            action,
            actor,
            target = target.as_deref(),
            ip = context.ip.as_deref(),
            details = %details,
            "audit"
        );
        self.store
            .append_audit(NewAuditEvent {
                at: now,
                actor: actor.to_owned(),
                action: action.to_owned(),
                target,
                ip: context.ip.clone(),
                details,
            })
            .await?;
        Ok(())
    }
}

/// Seconds of a duration as `i64`, saturating (configured lifetimes are far below the limit).
pub(crate) fn secs_i64(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// `now + duration`, saturating at the largest representable instant.
pub(crate) fn later(now: OffsetDateTime, duration: Duration) -> OffsetDateTime {
    now.checked_add(time::Duration::seconds(secs_i64(duration)))
        .unwrap_or(now)
}

/// Seconds from `now` until `until`, zero if it has passed.
pub(crate) fn seconds_until(now: OffsetDateTime, until: OffsetDateTime) -> u64 {
    u64::try_from((until - now).whole_seconds()).unwrap_or(0)
}
