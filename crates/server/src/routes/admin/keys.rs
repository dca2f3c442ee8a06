//! `/admin/keys/rotate`: adds a new active signing key (the same as `gatehouse keys rotate`).

use axum::Router;
use axum::routing::post;
use serde::Serialize;

use super::Admin;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/keys/rotate", post(rotate))
}

#[derive(Debug, Serialize)]
struct Rotated {
    kid: String,
}

async fn rotate(Admin(manager): Admin) -> Result<ApiJson<Rotated>, ApiError> {
    let kid = manager.rotate_keys().await?;
    Ok(ApiJson(Rotated {
        kid: kid.as_str().to_owned(),
    }))
}
