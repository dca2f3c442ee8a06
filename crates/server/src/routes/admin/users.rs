//! `/admin/users`: create, list (paging and search), show, disable/enable, delete, reset the
//! password, grant/revoke roles, list and end sessions. `{user}` is a user id or a username.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use gatehouse_store::{Session, User};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{Admin, PageBody, PageQuery, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::manage::UserDetails;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{user}", get(show).delete(delete))
        .route("/users/{user}/disable", post(disable))
        .route("/users/{user}/enable", post(enable))
        .route("/users/{user}/password", post(reset_password))
        .route(
            "/users/{user}/roles/{role}",
            put(grant_role).delete(revoke_role),
        )
        .route("/users/{user}/sessions", get(sessions))
        .route("/users/{user}/sessions/revoke", post(revoke_sessions))
}

/// A user in a listing.
#[derive(Debug, Serialize)]
pub(super) struct UserView {
    id: String,
    username: String,
    email: Option<String>,
    disabled: bool,
    created_at: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            username: user.username.clone(),
            email: user.email.clone(),
            disabled: user.disabled,
            created_at: rfc3339(user.created_at),
        }
    }
}

/// A user with roles and effective access.
#[derive(Debug, Serialize)]
struct UserDetailsView {
    #[serde(flatten)]
    user: UserView,
    /// Roles granted directly.
    roles: Vec<String>,
    /// Effective roles (direct and through groups), groups and permissions.
    access: gatehouse_store::Access,
}

impl From<UserDetails> for UserDetailsView {
    fn from(details: UserDetails) -> Self {
        Self {
            user: UserView::from(&details.user),
            roles: details.direct_roles,
            access: details.access,
        }
    }
}

/// A session in a listing.
#[derive(Debug, Serialize)]
pub(super) struct SessionView {
    id: String,
    user_id: String,
    created_at: String,
    last_used_at: String,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id.to_string(),
            user_id: s.user_id.to_string(),
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    limit: Option<u32>,
}

async fn list(
    Admin(manager): Admin,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageBody<UserView>>, ApiError> {
    let page = PageQuery {
        offset: query.offset,
        limit: query.limit,
    }
    .page();
    let users = manager.list_users(query.search, page).await?;
    Ok(ApiJson(PageBody {
        items: users.items.iter().map(UserView::from).collect(),
        total: users.total,
        offset: page.offset,
        limit: page.limit,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    username: String,
    password: SecretString,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

async fn create(
    Admin(manager): Admin,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, ApiJson<UserDetailsView>), ApiError> {
    let details = manager
        .create_user(&body.username, body.password, body.email, &body.roles)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(details.into())))
}

async fn show(
    Admin(manager): Admin,
    ApiPath(user): ApiPath<String>,
) -> Result<ApiJson<UserDetailsView>, ApiError> {
    let manager = manager;
    let found = manager.find_user(&user).await?;
    Ok(ApiJson(manager.user_details(found).await?.into()))
}

async fn delete(
    Admin(manager): Admin,
    ApiPath(user): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    manager.delete_user(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable(
    Admin(manager): Admin,
    ApiPath(user): ApiPath<String>,
) -> Result<ApiJson<UserView>, ApiError> {
    let user = manager.set_user_disabled(&user, true).await?;
    Ok(ApiJson(UserView::from(&user)))
}

async fn enable(
    Admin(manager): Admin,
    ApiPath(user): ApiPath<String>,
) -> Result<ApiJson<UserView>, ApiError> {
    let user = manager.set_user_disabled(&user, false).await?;
    Ok(ApiJson(UserView::from(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetPassword {
    password: SecretString,
}

async fn reset_password(
    Admin(manager): Admin,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<ResetPassword>,
) -> Result<StatusCode, ApiError> {
    manager.reset_password(&user, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn grant_role(
    Admin(manager): Admin,
    ApiPath((user, role)): ApiPath<(String, String)>,
) -> Result<ApiJson<UserDetailsView>, ApiError> {
    Ok(ApiJson(manager.grant_user_role(&user, &role).await?.into()))
}

async fn revoke_role(
    Admin(manager): Admin,
    ApiPath((user, role)): ApiPath<(String, String)>,
) -> Result<ApiJson<UserDetailsView>, ApiError> {
    Ok(ApiJson(
        manager.revoke_user_role(&user, &role).await?.into(),
    ))
}

async fn sessions(
    Admin(manager): Admin,
    ApiPath(user): ApiPath<String>,
) -> Result<ApiJson<Vec<SessionView>>, ApiError> {
    let sessions = manager.user_sessions(&user).await?;
    Ok(ApiJson(sessions.iter().map(SessionView::from).collect()))
}

#[derive(Debug, Serialize)]
struct Revoked {
    revoked: u64,
}

async fn revoke_sessions(
    Admin(manager): Admin,
    ApiPath(user): ApiPath<String>,
) -> Result<ApiJson<Revoked>, ApiError> {
    let revoked = manager.revoke_user_sessions(&user).await?;
    Ok(ApiJson(Revoked { revoked }))
}
