//! Administration: the operations behind the `/admin` API and the operator CLI (`gatehouse user
//! add`, `role add`, …), in one place so both validate and audit alike.
//!
//! A [`Manager`] acts for one actor (an administrator's user id, or `cli:<name>` for the CLI).
//! Every change it makes appends an audit event (`admin.<resource>.<change>`). It knows no
//! HTTP: failures are [`ManageError`]s, which the server turns into problem responses and the
//! CLI prints.

mod import;
mod names;

use gatehouse_auth::{AuthError, ClientContext, NewAccount, Password, Username, WeakPassword};
use gatehouse_store::{
    ADMIN_PERMISSION, ADMIN_ROLE, Access, AuditEvent, AuditQuery, Client, Group, NewClient, Page,
    PageRequest, Role, Session, SessionId, StoreError, User, UserId, UserQuery,
};
use gatehouse_token::KeyId;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::keys::{self, KeyRingError};
use crate::state::AppState;

pub use import::{ImportFormat, ImportRecord, ImportReport, parse_import};
pub use names::{ClientId, GroupName, InvalidName, PermissionName, RoleName, Scope};

/// Why an administrative operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// The named thing does not exist.
    #[error("{what} \"{name}\" was not found")]
    NotFound {
        /// `user`, `role`, `group`, `client`, `session`.
        what: &'static str,
        /// The name or id asked for.
        name: String,
    },
    /// The name is taken.
    #[error("{what} \"{name}\" already exists")]
    Conflict {
        /// `user`, `role`, `group`, `client`.
        what: &'static str,
        /// The taken name.
        name: String,
    },
    /// A value is not acceptable (bad name, bad e-mail, bad hash in an import).
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The new password fails the policy.
    #[error("password: {0}")]
    WeakPassword(WeakPassword),
    /// The change would lock administrators out or break a built-in.
    #[error("{0}")]
    Protected(&'static str),
    /// The store failed.
    #[error("storage error")]
    Store(#[source] StoreError),
    /// The auth service failed (hashing, storage).
    #[error("auth service error")]
    Auth(#[source] AuthError),
    /// Key rotation failed.
    #[error(transparent)]
    Keys(#[from] KeyRingError),
}

impl From<InvalidName> for ManageError {
    fn from(error: InvalidName) -> Self {
        let field = match error.kind {
            "role name" => "role",
            "group name" => "group",
            "client id" => "client_id",
            "permission" => "permission",
            _ => "scope",
        };
        Self::Invalid {
            field,
            message: error.to_string(),
        }
    }
}

impl From<StoreError> for ManageError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<AuthError> for ManageError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidUsername(e) => Self::Invalid {
                field: "username",
                message: e.to_string(),
            },
            AuthError::WeakPassword(e) => Self::WeakPassword(e),
            AuthError::InvalidEmail(e) => Self::Invalid {
                field: "email",
                message: e.to_string(),
            },
            AuthError::Store(e) => Self::Store(e),
            other => Self::Auth(other),
        }
    }
}

/// Maps a store `NotFound` on a write to the thing the caller named.
fn missing(what: &'static str, name: &str) -> impl FnOnce(StoreError) -> ManageError {
    let name = name.to_owned();
    move |error| match error {
        StoreError::NotFound { what: found } => {
            // The store names which row was missing (the role of a grant, the user, …).
            let what =
                if found == "user" || found == "role" || found == "group" || found == "client" {
                    found
                } else {
                    what
                };
            ManageError::NotFound { what, name }
        }
        StoreError::Conflict { .. } => ManageError::Conflict { what, name },
        other => ManageError::Store(other),
    }
}

/// A user with what they may do, as the admin API and CLI show it.
#[derive(Debug, Clone)]
pub struct UserDetails {
    /// The account.
    pub user: User,
    /// Roles granted directly.
    pub direct_roles: Vec<String>,
    /// Effective roles, groups and permissions.
    pub access: Access,
}

/// A newly registered service client and its secret, which is shown this once.
#[derive(Debug)]
pub struct NewClientCredentials {
    /// The stored client.
    pub client: Client,
    /// The plaintext secret; only its hash is stored.
    pub secret: SecretString,
}

/// Administrative operations on behalf of one actor. Cheap to create per request.
#[derive(Debug, Clone)]
pub struct Manager {
    state: AppState,
    actor: String,
    context: ClientContext,
}

impl Manager {
    /// A manager acting as `actor` (a user id, `client:<id>`, or `cli:<name>`), from `context`.
    pub fn new(state: &AppState, actor: impl Into<String>, context: ClientContext) -> Self {
        Self {
            state: state.clone(),
            actor: actor.into(),
            context,
        }
    }

    async fn audit(
        &self,
        action: &str,
        target: Option<String>,
        details: Value,
    ) -> Result<(), ManageError> {
        self.state
            .audit(
                &self.actor,
                action,
                target,
                self.context.ip.clone(),
                details,
            )
            .await
            .map_err(ManageError::Store)
    }

    // -----------------------------------------------------------------------------------------
    // Users

    /// Looks a user up by id (a UUID) or, failing that, by username.
    pub async fn find_user(&self, key: &str) -> Result<User, ManageError> {
        let store = self.state.store();
        let found = match key.parse::<UserId>() {
            Ok(id) => store.user(id).await?,
            Err(_) => store.user_by_username(key).await?,
        };
        found.ok_or_else(|| ManageError::NotFound {
            what: "user",
            name: key.to_owned(),
        })
    }

    /// The user with their direct roles and effective access.
    pub async fn user_details(&self, user: User) -> Result<UserDetails, ManageError> {
        let store = self.state.store();
        let direct_roles = store.user_roles(user.id).await?;
        let access = store.effective_access(user.id).await?;
        Ok(UserDetails {
            user,
            direct_roles,
            access,
        })
    }

    /// Creates an account with `roles` (which must exist), checking username, password policy
    /// and e-mail. Audited as `signup` with `by_admin: true`.
    pub async fn create_user(
        &self,
        username: &str,
        password: SecretString,
        email: Option<String>,
        roles: &[String],
    ) -> Result<UserDetails, ManageError> {
        let roles = self.existing_roles(roles).await?;
        let account = self
            .state
            .auth()
            .create_account(
                NewAccount {
                    username: username.to_owned(),
                    password,
                    email,
                },
                &roles,
                Some(&self.actor),
                &self.context,
                self.state.now(),
            )
            .await
            .map_err(|e| match e {
                AuthError::UsernameTaken => ManageError::Conflict {
                    what: "user",
                    name: username.to_owned(),
                },
                other => other.into(),
            })?;
        let user = self.find_user(&account.id.to_string()).await?;
        self.user_details(user).await
    }

    async fn existing_roles(&self, roles: &[String]) -> Result<Vec<String>, ManageError> {
        let mut out = Vec::with_capacity(roles.len());
        for role in roles {
            let name = RoleName::parse(role)?;
            if self.state.store().role(name.as_str()).await?.is_none() {
                return Err(ManageError::NotFound {
                    what: "role",
                    name: role.clone(),
                });
            }
            out.push(name.as_str().to_owned());
        }
        Ok(out)
    }

    /// Users ordered by username, filtered by a substring of username or e-mail.
    pub async fn list_users(
        &self,
        search: Option<String>,
        page: PageRequest,
    ) -> Result<Page<User>, ManageError> {
        let search = search.filter(|s| !s.trim().is_empty());
        Ok(self
            .state
            .store()
            .list_users(&UserQuery { search, page })
            .await?)
    }

    /// Disables or enables an account. Disabling also ends every session, so its tokens stop
    /// working at once. Refuses to disable the last enabled administrator.
    pub async fn set_user_disabled(&self, key: &str, disabled: bool) -> Result<User, ManageError> {
        let user = self.find_user(key).await?;
        if disabled {
            self.ensure_not_last_admin(&user).await?;
        }
        let store = self.state.store();
        store
            .set_user_disabled(user.id, disabled, self.state.now())
            .await
            .map_err(missing("user", key))?;
        if disabled {
            self.end_sessions(user.id).await?;
        }
        let action = if disabled {
            "admin.user.disable"
        } else {
            "admin.user.enable"
        };
        self.audit(
            action,
            Some(user.id.to_string()),
            json!({ "username": user.username }),
        )
        .await?;
        self.find_user(&user.id.to_string()).await
    }

    /// Deletes an account with its sessions and grants. Refuses the last administrator.
    pub async fn delete_user(&self, key: &str) -> Result<(), ManageError> {
        let user = self.find_user(key).await?;
        self.ensure_not_last_admin(&user).await?;
        self.state
            .store()
            .delete_user(user.id, self.state.now())
            .await
            .map_err(missing("user", key))?;
        self.audit(
            "admin.user.delete",
            Some(user.id.to_string()),
            json!({ "username": user.username }),
        )
        .await
    }

    /// Sets a new password (policy-checked) and ends every session of the user.
    pub async fn reset_password(
        &self,
        key: &str,
        password: SecretString,
    ) -> Result<(), ManageError> {
        let user = self.find_user(key).await?;
        let username = Username::parse(&user.username).map_err(|e| ManageError::Invalid {
            field: "username",
            message: e.to_string(),
        })?;
        let password = Password::new(password, &username).map_err(ManageError::WeakPassword)?;
        let hash = self.state.auth().hasher().hash(&password).await?;
        self.state
            .store()
            .set_password_hash(user.id, &hash)
            .await
            .map_err(missing("user", key))?;
        self.end_sessions(user.id).await?;
        self.audit(
            "admin.user.password_reset",
            Some(user.id.to_string()),
            json!({ "username": user.username }),
        )
        .await
    }

    /// Grants a role directly.
    pub async fn grant_user_role(&self, key: &str, role: &str) -> Result<UserDetails, ManageError> {
        let user = self.find_user(key).await?;
        let role = RoleName::parse(role)?;
        self.state
            .store()
            .grant_user_role(user.id, role.as_str())
            .await
            .map_err(missing("role", role.as_str()))?;
        self.audit(
            "admin.user.role_grant",
            Some(user.id.to_string()),
            json!({ "username": user.username, "role": role.as_str() }),
        )
        .await?;
        self.user_details(user).await
    }

    /// Revokes a directly granted role. Refuses to take `admin` from the last administrator.
    pub async fn revoke_user_role(
        &self,
        key: &str,
        role: &str,
    ) -> Result<UserDetails, ManageError> {
        let user = self.find_user(key).await?;
        let role = RoleName::parse(role)?;
        if role.as_str() == ADMIN_ROLE {
            self.ensure_not_last_admin(&user).await?;
        }
        self.state
            .store()
            .revoke_user_role(user.id, role.as_str())
            .await
            .map_err(missing("role", role.as_str()))?;
        self.audit(
            "admin.user.role_revoke",
            Some(user.id.to_string()),
            json!({ "username": user.username, "role": role.as_str() }),
        )
        .await?;
        self.user_details(user).await
    }

    /// Ends every session of the user: refresh families revoked and outstanding access tokens
    /// refused from now on. Returns how many sessions were live.
    pub async fn revoke_user_sessions(&self, key: &str) -> Result<u64, ManageError> {
        let user = self.find_user(key).await?;
        let ended = self.end_sessions(user.id).await?;
        self.audit(
            "admin.user.sessions_revoke",
            Some(user.id.to_string()),
            json!({ "username": user.username, "sessions": ended }),
        )
        .await?;
        Ok(ended)
    }

    async fn end_sessions(&self, user: UserId) -> Result<u64, ManageError> {
        Ok(self
            .state
            .auth()
            .logout_all(user, &self.actor, &self.context, self.state.now())
            .await?)
    }

    /// The live sessions of one user.
    pub async fn user_sessions(&self, key: &str) -> Result<Vec<Session>, ManageError> {
        let user = self.find_user(key).await?;
        Ok(self
            .state
            .store()
            .user_sessions(user.id, self.state.now())
            .await?)
    }

    /// Refuses a change that would leave no enabled account holding `gatehouse:admin`.
    async fn ensure_not_last_admin(&self, user: &User) -> Result<(), ManageError> {
        let store = self.state.store();
        if user.disabled
            || !store
                .effective_access(user.id)
                .await?
                .permissions
                .iter()
                .any(|p| p == ADMIN_PERMISSION)
        {
            return Ok(());
        }
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let users = store.list_users(&UserQuery { search: None, page }).await?;
            for other in users
                .items
                .iter()
                .filter(|u| u.id != user.id && !u.disabled)
            {
                let access = store.effective_access(other.id).await?;
                if access.permissions.iter().any(|p| p == ADMIN_PERMISSION) {
                    return Ok(());
                }
            }
            let seen = page.offset + users.items.len() as u64;
            if users.items.is_empty() || seen >= users.total {
                break;
            }
            page.offset = seen;
        }
        Err(ManageError::Protected(
            "this is the last enabled administrator; make another administrator first",
        ))
    }

    /// Imports accounts with existing password hashes (bcrypt from the Flask app, or Argon2id
    /// PHC strings). Each record is checked and created on its own: a taken username or a bad
    /// record is reported and skipped, the rest are imported. Imported bcrypt hashes are
    /// upgraded to Argon2id at the user's next login.
    pub async fn import_users(
        &self,
        records: Vec<ImportRecord>,
    ) -> Result<ImportReport, ManageError> {
        import::run(self, records).await
    }

    // -----------------------------------------------------------------------------------------
    // Roles

    /// Every role with its permissions.
    pub async fn list_roles(&self) -> Result<Vec<Role>, ManageError> {
        Ok(self.state.store().list_roles().await?)
    }

    /// One role.
    pub async fn role(&self, name: &str) -> Result<Role, ManageError> {
        self.state
            .store()
            .role(name)
            .await?
            .ok_or_else(|| ManageError::NotFound {
                what: "role",
                name: name.to_owned(),
            })
    }

    /// Creates a role with `permissions`.
    pub async fn create_role(
        &self,
        name: &str,
        description: &str,
        permissions: &[String],
    ) -> Result<Role, ManageError> {
        let role = RoleName::parse(name)?;
        let permissions = permissions
            .iter()
            .map(|p| PermissionName::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        let store = self.state.store();
        store
            .create_role(role.as_str(), description)
            .await
            .map_err(missing("role", name))?;
        for permission in &permissions {
            store
                .grant_permission(role.as_str(), permission.as_str())
                .await?;
        }
        let names: Vec<&str> = permissions.iter().map(PermissionName::as_str).collect();
        self.audit(
            "admin.role.create",
            Some(role.to_string()),
            json!({ "permissions": names }),
        )
        .await?;
        self.role(role.as_str()).await
    }

    /// Deletes a role and every grant of it. The built-in `admin` role cannot be deleted.
    pub async fn delete_role(&self, name: &str) -> Result<(), ManageError> {
        if name == ADMIN_ROLE {
            return Err(ManageError::Protected(
                "the built-in admin role cannot be deleted",
            ));
        }
        self.state
            .store()
            .delete_role(name)
            .await
            .map_err(missing("role", name))?;
        self.audit("admin.role.delete", Some(name.to_owned()), json!({}))
            .await
    }

    /// Adds a permission to a role.
    pub async fn grant_permission(
        &self,
        role: &str,
        permission: &str,
    ) -> Result<Role, ManageError> {
        let permission = PermissionName::parse(permission)?;
        self.state
            .store()
            .grant_permission(role, permission.as_str())
            .await
            .map_err(missing("role", role))?;
        self.audit(
            "admin.role.permission_grant",
            Some(role.to_owned()),
            json!({ "permission": permission.as_str() }),
        )
        .await?;
        self.role(role).await
    }

    /// Removes a permission from a role. `gatehouse:admin` stays on the `admin` role.
    pub async fn revoke_permission(
        &self,
        role: &str,
        permission: &str,
    ) -> Result<Role, ManageError> {
        if role == ADMIN_ROLE && permission == ADMIN_PERMISSION {
            return Err(ManageError::Protected(
                "the admin role keeps the gatehouse:admin permission",
            ));
        }
        self.state
            .store()
            .revoke_permission(role, permission)
            .await
            .map_err(missing("role", role))?;
        self.audit(
            "admin.role.permission_revoke",
            Some(role.to_owned()),
            json!({ "permission": permission }),
        )
        .await?;
        self.role(role).await
    }

    // -----------------------------------------------------------------------------------------
    // Groups

    /// Every group with members and roles.
    pub async fn list_groups(&self) -> Result<Vec<Group>, ManageError> {
        Ok(self.state.store().list_groups().await?)
    }

    /// One group.
    pub async fn group(&self, name: &str) -> Result<Group, ManageError> {
        self.state
            .store()
            .group(name)
            .await?
            .ok_or_else(|| ManageError::NotFound {
                what: "group",
                name: name.to_owned(),
            })
    }

    /// Creates an empty group.
    pub async fn create_group(&self, name: &str, description: &str) -> Result<Group, ManageError> {
        let group = GroupName::parse(name)?;
        self.state
            .store()
            .create_group(group.as_str(), description)
            .await
            .map_err(missing("group", name))?;
        self.audit("admin.group.create", Some(group.to_string()), json!({}))
            .await?;
        self.group(group.as_str()).await
    }

    /// Deletes a group (members keep their accounts and direct roles).
    pub async fn delete_group(&self, name: &str) -> Result<(), ManageError> {
        self.state
            .store()
            .delete_group(name)
            .await
            .map_err(missing("group", name))?;
        self.audit("admin.group.delete", Some(name.to_owned()), json!({}))
            .await
    }

    /// Adds a user (id or username) to a group.
    pub async fn add_group_member(&self, group: &str, user: &str) -> Result<Group, ManageError> {
        let member = self.find_user(user).await?;
        self.state
            .store()
            .add_group_member(group, member.id)
            .await
            .map_err(missing("group", group))?;
        self.audit(
            "admin.group.member_add",
            Some(group.to_owned()),
            json!({ "user": member.id, "username": member.username }),
        )
        .await?;
        self.group(group).await
    }

    /// Removes a user from a group.
    pub async fn remove_group_member(&self, group: &str, user: &str) -> Result<Group, ManageError> {
        let member = self.find_user(user).await?;
        self.state
            .store()
            .remove_group_member(group, member.id)
            .await
            .map_err(missing("group", group))?;
        self.audit(
            "admin.group.member_remove",
            Some(group.to_owned()),
            json!({ "user": member.id, "username": member.username }),
        )
        .await?;
        self.group(group).await
    }

    /// Lets every member of the group hold `role`.
    pub async fn grant_group_role(&self, group: &str, role: &str) -> Result<Group, ManageError> {
        let role = RoleName::parse(role)?;
        if self.state.store().role(role.as_str()).await?.is_none() {
            return Err(ManageError::NotFound {
                what: "role",
                name: role.to_string(),
            });
        }
        self.state
            .store()
            .grant_group_role(group, role.as_str())
            .await
            .map_err(missing("group", group))?;
        self.audit(
            "admin.group.role_grant",
            Some(group.to_owned()),
            json!({ "role": role.as_str() }),
        )
        .await?;
        self.group(group).await
    }

    /// Stops the group conferring `role`.
    pub async fn revoke_group_role(&self, group: &str, role: &str) -> Result<Group, ManageError> {
        self.state
            .store()
            .revoke_group_role(group, role)
            .await
            .map_err(missing("group", group))?;
        self.audit(
            "admin.group.role_revoke",
            Some(group.to_owned()),
            json!({ "role": role }),
        )
        .await?;
        self.group(group).await
    }

    // -----------------------------------------------------------------------------------------
    // Sessions

    /// Every live session, newest first.
    pub async fn list_sessions(&self, page: PageRequest) -> Result<Page<Session>, ManageError> {
        Ok(self
            .state
            .store()
            .list_sessions(page, self.state.now())
            .await?)
    }

    /// Revokes one session: its refresh tokens stop working, and so do access tokens carrying
    /// its id.
    pub async fn revoke_session(&self, id: SessionId) -> Result<(), ManageError> {
        let store = self.state.store();
        let session = store
            .session(id)
            .await?
            .ok_or_else(|| ManageError::NotFound {
                what: "session",
                name: id.to_string(),
            })?;
        store
            .revoke_session(id, self.state.now())
            .await
            .map_err(missing("session", &id.to_string()))?;
        self.audit(
            "admin.session.revoke",
            Some(id.to_string()),
            json!({ "user": session.user_id }),
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Service clients

    /// Every service client.
    pub async fn list_clients(&self) -> Result<Vec<Client>, ManageError> {
        Ok(self.state.store().list_clients().await?)
    }

    /// Registers a service client with a generated secret (returned once, stored hashed).
    pub async fn create_client(
        &self,
        client_id: &str,
        name: Option<&str>,
        roles: &[String],
        scopes: &[String],
    ) -> Result<NewClientCredentials, ManageError> {
        let id = ClientId::parse(client_id)?;
        let roles = self.existing_roles(roles).await?;
        let scopes = scopes
            .iter()
            .map(|s| Scope::parse(s).map(|s| s.as_str().to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        let secret = generate_secret();
        let secret_hash = self.state.auth().hasher().hash_secret(&secret).await?;
        let client = self
            .state
            .store()
            .create_client(
                NewClient {
                    client_id: id.as_str().to_owned(),
                    secret_hash,
                    name: name.unwrap_or(id.as_str()).to_owned(),
                    roles: roles.clone(),
                    scopes: scopes.clone(),
                },
                self.state.now(),
            )
            .await
            .map_err(missing("client", client_id))?;
        self.audit(
            "admin.client.create",
            Some(client.client_id.clone()),
            json!({ "roles": roles, "scopes": scopes }),
        )
        .await?;
        Ok(NewClientCredentials { client, secret })
    }

    /// Disables or enables a client. A disabled client gets no tokens, and its outstanding
    /// tokens are refused.
    pub async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
    ) -> Result<Client, ManageError> {
        let store = self.state.store();
        store
            .set_client_disabled(client_id, disabled, self.state.now())
            .await
            .map_err(missing("client", client_id))?;
        let action = if disabled {
            "admin.client.disable"
        } else {
            "admin.client.enable"
        };
        self.audit(action, Some(client_id.to_owned()), json!({}))
            .await?;
        store
            .client(client_id)
            .await?
            .ok_or_else(|| ManageError::NotFound {
                what: "client",
                name: client_id.to_owned(),
            })
    }

    /// Deletes a client.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), ManageError> {
        self.state
            .store()
            .delete_client(client_id, self.state.now())
            .await
            .map_err(missing("client", client_id))?;
        self.audit("admin.client.delete", Some(client_id.to_owned()), json!({}))
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Audit log and keys

    /// Audit events matching `query`, newest first.
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, ManageError> {
        Ok(self.state.store().query_audit(query).await?)
    }

    /// Adds a new active signing key and retires the others (they keep verifying for the
    /// retention period). Instances pick it up at their next reload or on the first token
    /// that names it.
    pub async fn rotate_keys(&self) -> Result<KeyId, ManageError> {
        let algorithm = self.state.config().tokens.algorithm;
        let kid = keys::rotate(self.state.store().as_ref(), algorithm, self.state.now()).await?;
        self.state.keys().reload(self.state.now()).await?;
        self.audit(
            "admin.keys.rotate",
            Some(kid.as_str().to_owned()),
            json!({ "algorithm": algorithm.as_str() }),
        )
        .await?;
        Ok(kid)
    }
}

/// A random 256-bit secret, base64url without padding (43 characters).
fn generate_secret() -> SecretString {
    use base64::Engine as _;
    let bytes: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(rand::random());
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// Lets callers show a secret exactly once without importing `secrecy`.
pub fn reveal(secret: &SecretString) -> &str {
    secret.expose_secret()
}
