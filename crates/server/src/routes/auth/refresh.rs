//! `POST /auth/refresh`.

use axum::extract::State;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{TokenPair, no_store};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo};
use crate::state::AppState;

/// The refresh request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: SecretString,
}

/// Rotates a refresh token: 200 with a new pair (the same pair again for a double submit
/// within the grace period); 401 `invalid_refresh_token` otherwise, after revoking the whole
/// session if the token was replayed.
pub async fn refresh(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let signer = state.keys().signer();
    let tokens = state
        .auth()
        .refresh(
            request.refresh_token.expose_secret(),
            &signer,
            &client,
            state.now(),
        )
        .await?;
    Ok(no_store(ApiJson(TokenPair::from(tokens))))
}
