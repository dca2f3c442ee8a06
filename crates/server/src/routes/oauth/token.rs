//! `POST /oauth/token` (RFC 6749 §4.4 `client_credentials`, §6 `refresh_token`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::{OAuthError, OAuthForm, client_credentials, no_store};
use crate::extract::{ApiJson, ClientInfo};
use crate::state::AppState;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// Issues tokens for the `refresh_token` and `client_credentials` grants.
pub async fn token(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let credentials = client_credentials(&headers, &form)?;
    let now = state.now();
    let signer = state.keys().signer();
    let auth = state.auth();
    let response = match form.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some("refresh_token") => {
            // Public clients (browsers, apps) refresh without credentials; a client that sends
            // credentials must send valid ones.
            if let Some(credentials) = &credentials {
                auth.authenticate_client(&credentials.client_id, &credentials.secret, &client, now)
                    .await?;
            }
            let presented = form
                .get("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            let tokens = auth.refresh(presented, &signer, &client, now).await?;
            TokenResponse {
                access_token: tokens.access_token,
                token_type: "Bearer",
                expires_in: tokens.expires_in,
                refresh_token: Some(tokens.refresh_token.expose().to_owned()),
                refresh_expires_in: Some(tokens.refresh_expires_in),
                scope: None,
            }
        }
        Some("client_credentials") => {
            let credentials = credentials.ok_or_else(OAuthError::invalid_client)?;
            let issued = auth
                .client_credentials(
                    &credentials.client_id,
                    &credentials.secret,
                    form.get("scope"),
                    &signer,
                    &client,
                    now,
                )
                .await?;
            TokenResponse {
                access_token: issued.access_token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
                refresh_token: None,
                refresh_expires_in: None,
                scope: issued.scope,
            }
        }
        Some(_) => return Err(OAuthError::unsupported_grant_type()),
    };
    Ok(no_store(ApiJson(response)))
}
