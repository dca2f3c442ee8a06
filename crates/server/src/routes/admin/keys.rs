//! `/admin/keys/rotate`: adds a new active signing key (the same as `gatehouse keys rotate`).

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Serialize;

use super::manager;
use crate::error::ApiError;
use crate::extract::{AdminUser, ApiJson, ClientInfo};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/keys/rotate", post(rotate))
}

#[derive(Debug, Serialize)]
struct Rotated {
    kid: String,
}

async fn rotate(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
) -> Result<ApiJson<Rotated>, ApiError> {
    let kid = manager(&state, &admin, client).rotate_keys().await?;
    Ok(ApiJson(Rotated {
        kid: kid.as_str().to_owned(),
    }))
}
