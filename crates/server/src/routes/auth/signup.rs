//! `POST /auth/signup`.

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_auth::NewAccount;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo};
use crate::state::AppState;

/// The signup request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    username: String,
    password: SecretString,
    #[serde(default)]
    email: Option<String>,
}

/// The created account.
#[derive(Debug, Serialize)]
pub struct SignupResponse {
    id: String,
    username: String,
    roles: Vec<String>,
}

/// Creates an account: 201, 409 when the username is taken, 422 for an invalid username, a
/// weak password or a bad e-mail, 403 when signup is closed.
pub async fn signup(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(request): ApiJson<SignupRequest>,
) -> Result<(StatusCode, ApiJson<SignupResponse>), ApiError> {
    let account = state
        .auth()
        .signup(
            NewAccount {
                username: request.username,
                password: request.password,
                email: request.email,
            },
            &client,
            state.now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(SignupResponse {
            id: account.id.to_string(),
            username: account.username,
            roles: account.access.roles,
        }),
    ))
}
