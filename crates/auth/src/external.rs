//! Sign-in through an external identity provider (the web UI's SSO): the provider has already
//! proven who the user is, so a session opens without a password.

use gatehouse_store::UserId;
use gatehouse_token::SigningKey;
use serde_json::json;
use time::OffsetDateTime;

use crate::{Auth, AuthError, ClientContext, IssuedTokens};

impl Auth {
    /// Opens a session for `user`, whose identity `provider` vouched for (an ID token the
    /// caller validated). A disabled or missing account gets [`AuthError::InvalidCredentials`].
    pub async fn login_external(
        &self,
        user: UserId,
        provider: &str,
        signer: &SigningKey,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, AuthError> {
        let Some(user) = self.store.user(user).await?.filter(|u| !u.disabled) else {
            return Err(AuthError::InvalidCredentials);
        };
        let tokens = self.open_session(&user, signer, context, now).await?;
        let id = user.id.to_string();
        self.audit(
            now,
            &id,
            "login.success",
            Some(id.clone()),
            context,
            json!({ "session": tokens.session.to_string(), "provider": provider }),
        )
        .await?;
        Ok(tokens)
    }
}
