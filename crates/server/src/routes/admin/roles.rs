//! `/admin/roles`: roles and their permissions.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, put};
use gatehouse_store::Role;
use serde::{Deserialize, Serialize};

use super::Admin;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
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

async fn list(Admin(manager): Admin) -> Result<ApiJson<Vec<RoleView>>, ApiError> {
    let roles = manager.list_roles().await?;
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
    Admin(manager): Admin,
    ApiJson(body): ApiJson<CreateRole>,
) -> Result<(StatusCode, ApiJson<RoleView>), ApiError> {
    let role = manager
        .create_role(&body.name, &body.description, &body.permissions)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(role.into())))
}

async fn show(
    Admin(manager): Admin,
    ApiPath(role): ApiPath<String>,
) -> Result<ApiJson<RoleView>, ApiError> {
    Ok(ApiJson(manager.role(&role).await?.into()))
}

async fn delete(
    Admin(manager): Admin,
    ApiPath(role): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    manager.delete_role(&role).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn grant(
    Admin(manager): Admin,
    ApiPath((role, permission)): ApiPath<(String, String)>,
) -> Result<ApiJson<RoleView>, ApiError> {
    Ok(ApiJson(
        manager.grant_permission(&role, &permission).await?.into(),
    ))
}

async fn revoke(
    Admin(manager): Admin,
    ApiPath((role, permission)): ApiPath<(String, String)>,
) -> Result<ApiJson<RoleView>, ApiError> {
    Ok(ApiJson(
        manager.revoke_permission(&role, &permission).await?.into(),
    ))
}
