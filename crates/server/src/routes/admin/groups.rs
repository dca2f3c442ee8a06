//! `/admin/groups`: groups, their members and the roles they confer. `{user}` is a user id or
//! a username.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, put};
use gatehouse_store::Group;
use serde::{Deserialize, Serialize};

use super::Admin;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list).post(create))
        .route("/groups/{group}", get(show).delete(delete))
        .route(
            "/groups/{group}/members/{user}",
            put(add_member).delete(remove_member),
        )
        .route(
            "/groups/{group}/roles/{role}",
            put(grant_role).delete(revoke_role),
        )
}

#[derive(Debug, Serialize)]
struct MemberView {
    id: String,
    username: String,
}

/// A group as the API shows it.
#[derive(Debug, Serialize)]
struct GroupView {
    name: String,
    description: String,
    members: Vec<MemberView>,
    roles: Vec<String>,
}

impl From<Group> for GroupView {
    fn from(group: Group) -> Self {
        Self {
            name: group.name,
            description: group.description,
            members: group
                .members
                .into_iter()
                .map(|m| MemberView {
                    id: m.id.to_string(),
                    username: m.username,
                })
                .collect(),
            roles: group.roles,
        }
    }
}

async fn list(Admin(manager): Admin) -> Result<ApiJson<Vec<GroupView>>, ApiError> {
    let groups = manager.list_groups().await?;
    Ok(ApiJson(groups.into_iter().map(GroupView::from).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateGroup {
    name: String,
    #[serde(default)]
    description: String,
}

async fn create(
    Admin(manager): Admin,
    ApiJson(body): ApiJson<CreateGroup>,
) -> Result<(StatusCode, ApiJson<GroupView>), ApiError> {
    let group = manager.create_group(&body.name, &body.description).await?;
    Ok((StatusCode::CREATED, ApiJson(group.into())))
}

async fn show(
    Admin(manager): Admin,
    ApiPath(group): ApiPath<String>,
) -> Result<ApiJson<GroupView>, ApiError> {
    Ok(ApiJson(manager.group(&group).await?.into()))
}

async fn delete(
    Admin(manager): Admin,
    ApiPath(group): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    manager.delete_group(&group).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_member(
    Admin(manager): Admin,
    ApiPath((group, user)): ApiPath<(String, String)>,
) -> Result<ApiJson<GroupView>, ApiError> {
    Ok(ApiJson(
        manager.add_group_member(&group, &user).await?.into(),
    ))
}

async fn remove_member(
    Admin(manager): Admin,
    ApiPath((group, user)): ApiPath<(String, String)>,
) -> Result<ApiJson<GroupView>, ApiError> {
    Ok(ApiJson(
        manager.remove_group_member(&group, &user).await?.into(),
    ))
}

async fn grant_role(
    Admin(manager): Admin,
    ApiPath((group, role)): ApiPath<(String, String)>,
) -> Result<ApiJson<GroupView>, ApiError> {
    Ok(ApiJson(
        manager.grant_group_role(&group, &role).await?.into(),
    ))
}

async fn revoke_role(
    Admin(manager): Admin,
    ApiPath((group, role)): ApiPath<(String, String)>,
) -> Result<ApiJson<GroupView>, ApiError> {
    Ok(ApiJson(
        manager.revoke_group_role(&group, &role).await?.into(),
    ))
}
