//! `/ui/admin/…` (permission `gatehouse:admin`): users, roles and permissions, groups and
//! members, the audit log. Every change goes through [`Manager`], which validates and audits
//! exactly as the `/admin` API does.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use gatehouse_store::{AuditQuery, PageRequest, User};
use secrecy::SecretString;
use serde::Deserialize;

use super::see_other;
use crate::manage::Manager;
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::extract::{Admin, CsrfForm};
use crate::web::view::{
    AdminAuditPage, AdminGroupsPage, AdminRolesPage, AdminUserPage, AdminUsersPage, AuditRow,
    GroupView, Nav, RoleChoice, RoleView, UserRow, readable, render,
};

fn manager(state: &AppState, admin: &Admin) -> Manager {
    Manager::new(
        state,
        admin.0.me.user_id.to_string(),
        admin.0.visitor.client.clone(),
    )
}

fn nav(admin: &Admin, done: Option<&str>) -> Nav {
    let notice = match done {
        Some("created") => Some("The user was created."),
        Some("saved") => Some("Saved."),
        Some("password") => Some("The password was set; the user's sessions have ended."),
        _ => None,
    };
    Nav::new(&admin.0.visitor, "admin").notice(notice.map(str::to_owned))
}

fn user_row(user: &User) -> UserRow {
    UserRow {
        id: user.id.to_string(),
        username: user.username.clone(),
        email: user.email.clone().unwrap_or_default(),
        disabled: user.disabled,
        created: readable(user.created_at),
    }
}

/// `?q=&done=` of the user list.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: Option<String>,
}

/// `GET /ui/admin`: the user list with search.
pub async fn users(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<UsersQuery>,
) -> Result<Response, PageError> {
    let manager = manager(&state, &admin);
    let page = manager
        .list_users(Some(query.q.clone()), PageRequest::first(100))
        .await?;
    let roles = manager
        .list_roles()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let view = AdminUsersPage {
        nav: nav(&admin, query.done.as_deref()),
        search: query.q,
        users: page.items.iter().map(user_row).collect(),
        total: page.total,
        roles,
    };
    Ok(render(&view).into_response())
}

/// The create-user form.
#[derive(Debug, Deserialize)]
pub struct CreateUserForm {
    username: String,
    password: SecretString,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /ui/admin/users`.
pub async fn create_user(
    State(state): State<AppState>,
    admin: Admin,
    CsrfForm(form): CsrfForm<CreateUserForm>,
) -> Result<Response, PageError> {
    let email = Some(form.email.trim().to_owned()).filter(|e| !e.is_empty());
    let roles: Vec<String> = Some(form.role)
        .filter(|r| !r.is_empty())
        .into_iter()
        .collect();
    let created = manager(&state, &admin)
        .create_user(&form.username, form.password, email, &roles)
        .await?;
    Ok(see_other(&format!(
        "/ui/admin/users/{}?done=created",
        created.user.id
    )))
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /ui/admin/users/{id}`.
pub async fn user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let manager = manager(&state, &admin);
    let details = manager.user_details(manager.find_user(&id).await?).await?;
    let roles = manager
        .list_roles()
        .await?
        .into_iter()
        .map(|r| RoleChoice {
            held: details.direct_roles.contains(&r.name),
            name: r.name,
        })
        .collect();
    let view = AdminUserPage {
        nav: nav(&admin, query.done.as_deref()),
        user: user_row(&details.user),
        roles,
        effective_roles: details.access.roles,
        groups: details.access.groups,
        permissions: details.access.permissions,
    };
    Ok(render(&view).into_response())
}

/// The enable/disable form.
#[derive(Debug, Deserialize)]
pub struct DisableForm {
    disabled: String,
}

/// `POST /ui/admin/users/{id}/disable`.
pub async fn set_disabled(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<DisableForm>,
) -> Result<Response, PageError> {
    let user = manager(&state, &admin)
        .set_user_disabled(&id, form.disabled == "true")
        .await?;
    Ok(see_other(&format!(
        "/ui/admin/users/{}?done=saved",
        user.id
    )))
}

/// The reset-password form.
#[derive(Debug, Deserialize)]
pub struct ResetForm {
    password: SecretString,
}

/// `POST /ui/admin/users/{id}/password`.
pub async fn reset_password(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, PageError> {
    manager(&state, &admin)
        .reset_password(&id, form.password)
        .await?;
    Ok(see_other(&format!("/ui/admin/users/{id}?done=password")))
}

/// `POST /ui/admin/users/{id}/roles`: the checked `role:<name>` boxes become the user's
/// direct roles.
pub async fn user_roles(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let manager = manager(&state, &admin);
    let details = manager.user_details(manager.find_user(&id).await?).await?;
    let wanted: Vec<&str> = form
        .keys()
        .filter_map(|key| key.strip_prefix("role:"))
        .collect();
    for role in &wanted {
        if !details.direct_roles.iter().any(|r| r == role) {
            manager.grant_user_role(&id, role).await?;
        }
    }
    for role in &details.direct_roles {
        if !wanted.contains(&role.as_str()) {
            manager.revoke_user_role(&id, role).await?;
        }
    }
    Ok(see_other(&format!("/ui/admin/users/{id}?done=saved")))
}

/// `GET /ui/admin/roles`.
pub async fn roles(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let roles = manager(&state, &admin)
        .list_roles()
        .await?
        .into_iter()
        .map(|r| RoleView {
            name: r.name,
            description: r.description,
            permissions: r.permissions,
        })
        .collect();
    let view = AdminRolesPage {
        nav: nav(&admin, query.done.as_deref()),
        roles,
    };
    Ok(render(&view).into_response())
}

/// The roles form: `action` is `create`, `grant` or `revoke`.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    action: String,
    role: String,
    #[serde(default)]
    permission: String,
    #[serde(default)]
    description: String,
}

/// `POST /ui/admin/roles`.
pub async fn change_role(
    State(state): State<AppState>,
    admin: Admin,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, PageError> {
    let manager = manager(&state, &admin);
    match form.action.as_str() {
        "create" => {
            manager
                .create_role(&form.role, &form.description, &[])
                .await?;
        }
        "grant" => {
            manager
                .grant_permission(&form.role, &form.permission)
                .await?;
        }
        "revoke" => {
            manager
                .revoke_permission(&form.role, &form.permission)
                .await?;
        }
        _ => return Err(PageError::BadRequest(String::from("unknown action"))),
    }
    Ok(see_other("/ui/admin/roles?done=saved"))
}

/// `GET /ui/admin/groups`.
pub async fn groups(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let groups = manager(&state, &admin)
        .list_groups()
        .await?
        .into_iter()
        .map(|g| GroupView {
            name: g.name,
            description: g.description,
            members: g.members.into_iter().map(|m| m.username).collect(),
            roles: g.roles,
        })
        .collect();
    let view = AdminGroupsPage {
        nav: nav(&admin, query.done.as_deref()),
        groups,
    };
    Ok(render(&view).into_response())
}

/// The groups form: `action` is `create`, `add_member`, `remove_member`, `grant_role` or
/// `revoke_role`; `value` is the user, role or (for `create`) description.
#[derive(Debug, Deserialize)]
pub struct GroupForm {
    action: String,
    group: String,
    #[serde(default)]
    value: String,
}

/// `POST /ui/admin/groups`.
pub async fn change_group(
    State(state): State<AppState>,
    admin: Admin,
    CsrfForm(form): CsrfForm<GroupForm>,
) -> Result<Response, PageError> {
    let manager = manager(&state, &admin);
    let (group, value) = (form.group.as_str(), form.value.trim());
    match form.action.as_str() {
        "create" => drop(manager.create_group(group, value).await?),
        "add_member" => drop(manager.add_group_member(group, value).await?),
        "remove_member" => drop(manager.remove_group_member(group, value).await?),
        "grant_role" => drop(manager.grant_group_role(group, value).await?),
        "revoke_role" => drop(manager.revoke_group_role(group, value).await?),
        _ => return Err(PageError::BadRequest(String::from("unknown action"))),
    }
    Ok(see_other("/ui/admin/groups?done=saved"))
}

/// Audit filters.
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
}

/// `GET /ui/admin/audit`: the newest 200 events matching the filters.
pub async fn audit(
    State(state): State<AppState>,
    admin: Admin,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, PageError> {
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let query = AuditQuery {
        action: non_empty(&filter.action),
        actor: non_empty(&filter.actor),
        limit: 200,
        ..AuditQuery::default()
    };
    let target = filter.target.trim().to_lowercase();
    let events = manager(&state, &admin)
        .audit_log(&query)
        .await?
        .into_iter()
        .filter(|e| {
            target.is_empty()
                || e.target
                    .as_deref()
                    .is_some_and(|t| t.to_lowercase().contains(&target))
        })
        .map(|e| AuditRow {
            at: readable(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            details: e.details.to_string(),
        })
        .collect();
    let view = AdminAuditPage {
        nav: nav(&admin, None),
        actor: filter.actor,
        action: filter.action,
        target: filter.target,
        events,
    };
    Ok(render(&view).into_response())
}
