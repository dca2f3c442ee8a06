//! Account flows: signup, login (with throttling), the owner's view, password change.

use gatehouse_store::{NewSession, NewUser, StoreError, User, UserId};
use gatehouse_token::SigningKey;
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;

use crate::access::{AccessClaims, TokenSubject};
use crate::service::{later, seconds_until};
use crate::throttle::{ThrottleKind, account_key, address_key};
use crate::{
    Account, Auth, AuthError, ClientContext, Email, IssuedTokens, Password, RefreshToken,
    SignupMode, Username, Verdict,
};

/// The audit actor of events with no authenticated party.
const ANONYMOUS: &str = "anonymous";

/// What a person (or an administrator) submits to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The requested username, unchecked.
    pub username: String,
    /// The requested password, unchecked.
    pub password: SecretString,
    /// An optional e-mail address, unchecked.
    pub email: Option<String>,
}

impl Auth {
    /// Self-service signup: refused when signup is closed; otherwise creates the account with
    /// the configured default roles.
    pub async fn signup(
        &self,
        request: NewAccount,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<Account, AuthError> {
        if self.config.signup == SignupMode::Closed {
            return Err(AuthError::SignupClosed);
        }
        let roles = self.config.default_roles.clone();
        for role in &roles {
            // The configured default roles exist from the first signup on, without an
            // operator having to create them first.
            if self.store.role(role).await?.is_none() {
                match self
                    .store
                    .create_role(role, "given to every new account")
                    .await
                {
                    Ok(_) | Err(StoreError::Conflict { .. }) => {}
                    Err(other) => return Err(other.into()),
                }
            }
        }
        self.create_account(request, &roles, None, context, now)
            .await
    }

    /// Creates an account with `roles`, checking username, password policy, e-mail and that
    /// every role exists.
    /// `actor` is the administrator creating it, or `None` for self-service signup.
    pub async fn create_account(
        &self,
        request: NewAccount,
        roles: &[String],
        actor: Option<&str>,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<Account, AuthError> {
        let username = Username::parse(&request.username)?;
        let password = Password::new(request.password, &username)?;
        let email = request.email.as_deref().map(Email::parse).transpose()?;
        // Checked before anything is written, so a bad role leaves no half-made account.
        for role in roles {
            if self.store.role(role).await?.is_none() {
                return Err(AuthError::UnknownRole(role.clone()));
            }
        }
        let password_hash = self.hasher.hash(&password).await?;
        let user = self
            .store
            .create_user(
                NewUser {
                    username: username.as_str().to_owned(),
                    email: email.map(|e| e.as_str().to_owned()),
                    password_hash,
                },
                now,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => AuthError::UsernameTaken,
                other => AuthError::Store(other),
            })?;
        for role in roles {
            self.store.grant_user_role(user.id, role).await?;
        }
        let id = user.id.to_string();
        self.audit(
            now,
            actor.unwrap_or(&id),
            "signup",
            Some(id.clone()),
            context,
            json!({ "username": user.username, "roles": roles, "by_admin": actor.is_some() }),
        )
        .await?;
        self.account_of(user).await
    }

    /// The account behind a user id, with its effective access (`GET /auth/me`).
    pub async fn account(&self, id: UserId) -> Result<Account, AuthError> {
        let user = self.store.user(id).await?.ok_or(AuthError::SessionEnded)?;
        self.account_of(user).await
    }

    async fn account_of(&self, user: User) -> Result<Account, AuthError> {
        let access = self.store.effective_access(user.id).await?;
        Ok(Account {
            id: user.id,
            username: user.username,
            email: user.email,
            created_at: user.created_at,
            access,
        })
    }

    /// Password login. Unknown user, wrong password and disabled account all end in
    /// [`AuthError::InvalidCredentials`] after the same hashing work; repeated failures per
    /// account and per client address end in [`AuthError::Throttled`].
    pub async fn login(
        &self,
        username: &str,
        password: &SecretString,
        signer: &SigningKey,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, AuthError> {
        // A string that is not a valid username cannot name an account; it is still verified
        // against the dummy hash so that its answer takes as long as any other.
        let username = Username::parse(username).ok();
        let account_key = username.as_ref().map(|u| account_key(u.normalized()));
        let address_key = context.ip.as_deref().map(address_key);
        let keys = [
            account_key.clone().map(|k| (k, ThrottleKind::Account)),
            address_key.map(|k| (k, ThrottleKind::Address)),
        ];

        let mut account_has_failures = false;
        let mut locked_until = None;
        for (key, kind) in keys.iter().flatten() {
            if let Some(state) = self.store.throttle(key).await? {
                account_has_failures |= *kind == ThrottleKind::Account;
                if let Some(until) = state.locked_until.filter(|until| *until > now) {
                    locked_until = locked_until.max(Some(until));
                }
            }
        }
        if let Some(until) = locked_until {
            let retry_after = std::time::Duration::from_secs(seconds_until(now, until).max(1));
            self.audit(
                now,
                ANONYMOUS,
                "login.throttled",
                username.as_ref().map(|u| u.normalized().to_owned()),
                context,
                json!({ "retry_after": retry_after.as_secs() }),
            )
            .await?;
            return Err(AuthError::Throttled { retry_after });
        }

        let user = match &username {
            Some(name) => self.store.user_by_username(name.normalized()).await?,
            None => None,
        };
        let verdict = self
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;

        let (user, rehash) = match (user, verdict) {
            (Some(user), Verdict::Match { rehash }) if !user.disabled => (user, rehash),
            (user, verdict) => {
                let reason = match (&user, verdict) {
                    (None, _) => "unknown_user",
                    (Some(_), Verdict::Match { .. }) => "disabled",
                    (Some(_), Verdict::Mismatch) => "wrong_password",
                };
                self.record_failures(&keys, now).await?;
                let actor = user
                    .as_ref()
                    .map_or(ANONYMOUS.to_owned(), |u| u.id.to_string());
                self.audit(
                    now,
                    &actor,
                    "login.failure",
                    username.as_ref().map(|u| u.normalized().to_owned()),
                    context,
                    json!({ "reason": reason }),
                )
                .await?;
                return Err(AuthError::InvalidCredentials);
            }
        };

        if rehash {
            // The plaintext is proven right, so replace a bcrypt or outdated Argon2 hash.
            let upgraded = self.hasher.hash_secret(password).await?;
            self.store.set_password_hash(user.id, &upgraded).await?;
        }
        if let (true, Some(key)) = (account_has_failures, &account_key) {
            // Only the account's counter: resetting the address's would let one valid
            // account wipe the record of a password-spraying run from the same address.
            self.store.reset_throttle(key).await?;
        }

        let tokens = self.open_session(&user, signer, context, now).await?;
        let id = user.id.to_string();
        self.audit(
            now,
            &id,
            "login.success",
            Some(id.clone()),
            context,
            json!({ "session": tokens.session.to_string(), "hash_upgraded": rehash }),
        )
        .await?;
        Ok(tokens)
    }

    async fn record_failures(
        &self,
        keys: &[Option<(String, ThrottleKind)>],
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let policy = &self.config.throttle;
        let window = time::Duration::seconds(crate::service::secs_i64(policy.window));
        for (key, kind) in keys.iter().flatten() {
            let state = self.store.record_failure(key, window, now).await?;
            if let Some(delay) = policy.delay_after(*kind, state.failures) {
                self.store.lock_until(key, later(now, delay)).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn open_session(
        &self,
        user: &User,
        signer: &SigningKey,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, AuthError> {
        let refresh_token = RefreshToken::generate();
        let refresh_expires_at = later(now, self.config.refresh_token_ttl);
        let session = self
            .store
            .create_session(
                NewSession {
                    user_id: user.id,
                    user_agent: context.user_agent.clone(),
                    ip: context.ip.clone(),
                    token: refresh_token.hash(),
                    expires_at: refresh_expires_at,
                },
                now,
            )
            .await?;
        let access = self.store.effective_access(user.id).await?;
        let (access_token, claims) =
            self.issue_user_token(signer, user, session.id, access, now)?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.config.access_token_ttl.as_secs(),
            refresh_token,
            refresh_expires_in: seconds_until(now, refresh_expires_at),
            session: session.id,
            claims,
        })
    }

    /// Changes the password of the token's user after checking the current one, then ends
    /// every other session of the user (the caller's session stays).
    pub async fn change_password(
        &self,
        token: &AccessClaims,
        current: &SecretString,
        new: SecretString,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let Some(TokenSubject::User { id, session, .. }) = token.subject() else {
            return Err(AuthError::SessionEnded);
        };
        let user = self.store.user(id).await?.ok_or(AuthError::SessionEnded)?;
        let username = Username::parse(&user.username)?;
        let new = Password::new(new, &username)?;

        // Guessing the current password through this endpoint with a stolen access token is
        // throttled like login.
        let key = account_key(username.normalized());
        if let Some(until) = self
            .store
            .throttle(&key)
            .await?
            .and_then(|state| state.locked_until)
            .filter(|until| *until > now)
        {
            return Err(AuthError::Throttled {
                retry_after: std::time::Duration::from_secs(seconds_until(now, until).max(1)),
            });
        }
        let actor = user.id.to_string();
        if self
            .hasher
            .verify(current, Some(&user.password_hash))
            .await?
            == Verdict::Mismatch
        {
            self.record_failures(&[Some((key, ThrottleKind::Account))], now)
                .await?;
            self.audit(
                now,
                &actor,
                "password.change_failed",
                Some(actor.clone()),
                context,
                json!({ "reason": "wrong_current_password" }),
            )
            .await?;
            return Err(AuthError::WrongCurrentPassword);
        }

        let hash = self.hasher.hash(&new).await?;
        self.store.set_password_hash(user.id, &hash).await?;
        let mut ended = 0u64;
        for other in self.store.user_sessions(user.id, now).await? {
            if other.id != session {
                self.store.revoke_session(other.id, now).await?;
                ended += 1;
            }
        }
        self.audit(
            now,
            &actor,
            "password.changed",
            Some(actor.clone()),
            context,
            json!({ "sessions_ended": ended }),
        )
        .await
    }
}
