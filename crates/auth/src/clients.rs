//! Service clients: authentication with a client secret and the `client_credentials` grant.

use std::collections::BTreeSet;

use gatehouse_store::Client;
use gatehouse_token::SigningKey;
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;

use crate::access::AccessClaims;
use crate::{Auth, AuthError, ClientContext, IssuedAccessToken, Verdict};

/// The audit actor for a service client.
pub fn client_actor(client_id: &str) -> String {
    format!("client:{client_id}")
}

impl Auth {
    /// Checks a client's secret against its stored hash. Unknown clients are checked against
    /// the dummy hash, so the answer takes as long; unknown, wrong and disabled are all
    /// [`AuthError::InvalidClient`].
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &SecretString,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<Client, AuthError> {
        let client = self.store.client(client_id).await?;
        let verdict = self
            .hasher
            .verify(secret, client.as_ref().map(|c| c.secret_hash.as_str()))
            .await?;
        match client {
            Some(client) if !client.disabled && matches!(verdict, Verdict::Match { .. }) => {
                Ok(client)
            }
            client => {
                let reason = match (&client, verdict) {
                    (None, _) => "unknown_client",
                    (Some(_), Verdict::Match { .. }) => "disabled",
                    (Some(_), Verdict::Mismatch) => "wrong_secret",
                };
                // Only a client id that exists is named: an unknown one could be anything the
                // caller typed, a secret included.
                let actor = client
                    .as_ref()
                    .map_or_else(|| "anonymous".to_owned(), |c| client_actor(&c.client_id));
                self.audit(
                    now,
                    &actor,
                    "client.auth_failure",
                    None,
                    context,
                    json!({ "reason": reason }),
                )
                .await?;
                Err(AuthError::InvalidClient)
            }
        }
    }

    /// The `client_credentials` grant (RFC 6749 §4.4): an access token whose `sub` and
    /// `client_id` are the client, carrying its roles, their permissions and the granted
    /// scopes. `scope` (space-separated) must be a subset of the client's scopes; without it
    /// all of them are granted.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        secret: &SecretString,
        scope: Option<&str>,
        signer: &SigningKey,
        context: &ClientContext,
        now: OffsetDateTime,
    ) -> Result<IssuedAccessToken, AuthError> {
        let client = self
            .authenticate_client(client_id, secret, context, now)
            .await?;
        let granted: Vec<String> = match scope {
            Some(requested) => {
                let requested: BTreeSet<&str> =
                    requested.split(' ').filter(|s| !s.is_empty()).collect();
                if requested
                    .iter()
                    .any(|s| !client.scopes.iter().any(|c| c == s))
                {
                    return Err(AuthError::InvalidScope);
                }
                requested.into_iter().map(str::to_owned).collect()
            }
            None => client.scopes.clone(),
        };
        let mut permissions = BTreeSet::new();
        for name in &client.roles {
            if let Some(role) = self.store.role(name).await? {
                permissions.extend(role.permissions);
            }
        }
        let scope = (!granted.is_empty()).then(|| granted.join(" "));
        let claims = AccessClaims {
            sub: client.client_id.clone(),
            client_id: client.client_id.clone(),
            roles: client.roles.clone(),
            permissions: permissions.into_iter().collect(),
            scope: scope.clone(),
            ..self.base_claims(now)
        };
        let access_token = claims.sign(signer)?;
        self.audit(
            now,
            &client_actor(&client.client_id),
            "token.client_credentials",
            Some(client.client_id.clone()),
            context,
            json!({ "scope": scope, "jti": claims.jti }),
        )
        .await?;
        Ok(IssuedAccessToken {
            access_token,
            expires_in: self.config.access_token_ttl.as_secs(),
            scope,
            claims,
        })
    }
}
