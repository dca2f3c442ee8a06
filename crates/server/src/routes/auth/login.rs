//! `POST /auth/login`.

use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;

use super::{TokenPair, no_store};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo};
use crate::state::AppState;

/// The login request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: SecretString,
}

/// Password login: 200 with a token pair; 401 with one body for an unknown user, a wrong
/// password or a disabled account; 429 with `Retry-After` while throttled.
pub async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let signer = state.keys().signer();
    let tokens = state
        .auth()
        .login(
            &request.username,
            &request.password,
            &signer,
            &client,
            state.now(),
        )
        .await?;
    Ok(no_store(ApiJson(TokenPair::from(tokens))))
}
