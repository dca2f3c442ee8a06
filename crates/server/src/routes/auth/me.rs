//! `GET /auth/me`.

use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::extract::{ApiJson, AuthenticatedUser};
use crate::state::AppState;

/// The caller's account with its current roles, groups and permissions (from the store, so a
/// grant made after the token was issued already shows here).
#[derive(Debug, Serialize)]
pub struct MeResponse {
    id: String,
    username: String,
    email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    roles: Vec<String>,
    groups: Vec<String>,
    permissions: Vec<String>,
}

/// The caller's account; 401 without a valid token, 403 for a service-client token.
pub async fn me(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<ApiJson<MeResponse>, ApiError> {
    let Some(user) = caller.user_id() else {
        return Err(ApiError::forbidden(
            "a user session (service clients have no account)",
        ));
    };
    let account = state.auth().account(user).await?;
    Ok(ApiJson(MeResponse {
        id: account.id.to_string(),
        username: account.username,
        email: account.email,
        created_at: account.created_at,
        roles: account.access.roles,
        groups: account.access.groups,
        permissions: account.access.permissions,
    }))
}
