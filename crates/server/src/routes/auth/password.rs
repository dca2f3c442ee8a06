//! `POST /auth/password`.

use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{ApiJson, AuthenticatedUser, ClientInfo};
use crate::state::AppState;

/// The password-change request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: SecretString,
    new_password: SecretString,
}

/// Changes the caller's password and ends their other sessions: 204; 403 `wrong_password`;
/// 422 `weak_password`; 429 while throttled.
pub async fn change_password(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    caller: AuthenticatedUser,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    if caller.user_id().is_none() {
        return Err(ApiError::forbidden(
            "a user session (service clients have no password)",
        ));
    }
    state
        .auth()
        .change_password(
            &caller.claims,
            &request.current_password,
            request.new_password,
            &client,
            state.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
