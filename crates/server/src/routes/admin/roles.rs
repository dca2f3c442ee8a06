//! `/admin/roles`: roles and their permissions.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use gatehouse_store::Role;
use serde::{Deserialize, Serialize};

use super::manager;
use crate::error::ApiError;
use crate::extract::{AdminUser, ApiJson, ApiPath, ClientInfo};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list).post(create))
        .route("/roles/{role}", get(show).delete(delete))
        .route(
            "/roles/{role}/permissions/{permission}",
            put(grant).delete(revoke),
        )
}

/// A role as the API shows it.
#[derive(Debug, Serialize)]
struct RoleView {
    name: String,
    description: String,
    permissions: Vec<String>,
}

impl From<Role> for RoleView {
    fn from(role: Role) -> Self {
        Self {
            name: role.name,
            description: role.description,
            permissions: role.permissions,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
) -> Result<ApiJson<Vec<RoleView>>, ApiError> {
    let roles = manager(&state, &admin, client).list_roles().await?;
    Ok(ApiJson(roles.into_iter().map(RoleView::from).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRole {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    permissions: Vec<String>,
}

async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<CreateRole>,
) -> Result<(StatusCode, ApiJson<RoleView>), ApiError> {
    let role = manager(&state, &admin, client)
        .create_role(&body.name, &body.description, &body.permissions)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(role.into())))
}

async fn show(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
    ApiPath(role): ApiPath<String>,
) -> Result<ApiJson<RoleView>, ApiError> {
    Ok(ApiJson(
        manager(&state, &admin, client).role(&role).await?.into(),
    ))
}

async fn delete(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
    ApiPath(role): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    manager(&state, &admin, client).delete_role(&role).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn grant(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
    ApiPath((role, permission)): ApiPath<(String, String)>,
) -> Result<ApiJson<RoleView>, ApiError> {
    Ok(ApiJson(
        manager(&state, &admin, client)
            .grant_permission(&role, &permission)
            .await?
            .into(),
    ))
}

async fn revoke(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
    ApiPath((role, permission)): ApiPath<(String, String)>,
) -> Result<ApiJson<RoleView>, ApiError> {
    Ok(ApiJson(
        manager(&state, &admin, client)
            .revoke_permission(&role, &permission)
            .await?
            .into(),
    ))
}
