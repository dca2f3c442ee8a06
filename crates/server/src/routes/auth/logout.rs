//! `POST /auth/logout` and `POST /auth/logout-all`.

use axum::extract::State;
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::extract::{AuthenticatedUser, ClientInfo};
use crate::state::AppState;

/// Ends the caller's session: its refresh family and this access token. 204.
pub async fn logout(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    caller: AuthenticatedUser,
) -> Result<StatusCode, ApiError> {
    if caller.user_id().is_none() {
        return Err(ApiError::forbidden(
            "a user session (service clients have none)",
        ));
    }
    state
        .auth()
        .logout(&caller.claims, &client, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the caller and revokes every access token issued to them so far. 204.
pub async fn logout_all(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    caller: AuthenticatedUser,
) -> Result<StatusCode, ApiError> {
    let Some(user) = caller.user_id() else {
        return Err(ApiError::forbidden(
            "a user session (service clients have none)",
        ));
    };
    state
        .auth()
        .logout_all(user, &caller.actor(), &client, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
