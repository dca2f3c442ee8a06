//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers too).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// The health routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The body of both probes.
#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
}

/// Alive: answers as long as the process serves requests.
async fn healthz() -> ApiJson<Health> {
    ApiJson(Health { status: "ok" })
}

/// Ready: the database answers a trivial query; 503 problem+json otherwise.
async fn readyz(State(state): State<AppState>) -> Result<ApiJson<Health>, ApiError> {
    state.store().ping().await.map_err(ApiError::unavailable)?;
    Ok(ApiJson(Health { status: "ready" }))
}
