//! `POST /oauth/introspect` (RFC 7662).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::{OAuthError, OAuthForm, client_credentials, no_store};
use crate::extract::{ApiJson, ClientInfo, TokenError};
use crate::state::AppState;

/// An introspection answer. An inactive token gets `{"active": false}` and nothing else
/// (RFC 7662 §2.2), whatever the reason.
#[derive(Debug, Serialize)]
pub struct Introspection {
    active: bool,
    #[serde(flatten)]
    details: Option<ActiveToken>,
}

/// What is said about an active token.
#[derive(Debug, Serialize)]
struct ActiveToken {
    token_type: &'static str,
    iss: String,
    sub: String,
    aud: Vec<String>,
    client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    roles: Vec<String>,
    groups: Vec<String>,
    permissions: Vec<String>,
}

/// Tells an authenticated client whether an access token is active: signature, expiry,
/// issuer, audience, and revocation (logout, logout-all, revoked session, disabled account).
/// Refresh tokens are not introspectable and answer `active: false`.
pub async fn introspect(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let credentials =
        client_credentials(&headers, &form)?.ok_or_else(OAuthError::invalid_client)?;
    state
        .auth()
        .authenticate_client(
            &credentials.client_id,
            &credentials.secret,
            &client,
            state.now(),
        )
        .await?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;

    let details = match state.authenticate(token).await {
        Ok(caller) => {
            let c = caller.claims;
            Some(ActiveToken {
                token_type: "Bearer",
                iss: c.iss,
                sub: c.sub,
                aud: c.aud,
                client_id: c.client_id,
                username: c.preferred_username,
                scope: c.scope,
                exp: c.exp,
                iat: c.iat,
                nbf: c.nbf,
                jti: c.jti,
                roles: c.roles,
                groups: c.groups,
                permissions: c.permissions,
            })
        }
        Err(TokenError::Unavailable(source)) => return Err(OAuthError::from(source)),
        Err(_) => None,
    };
    Ok(no_store(ApiJson(Introspection {
        active: details.is_some(),
        details,
    })))
}
