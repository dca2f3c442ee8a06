//! The SQL both backends share.
//!
//! The two schemas use the same column types, and `$1`-style placeholders work in both
//! dialects, so every query is written once. [`shared_store_impl!`] stamps the trait
//! implementations out for a backend type, which supplies what genuinely differs:
//! - `self.pool` — its connection pool;
//! - `self.begin_write()` — a write transaction (`BEGIN IMMEDIATE` on SQLite);
//! - `Self::before_revocation(&mut tx)` — PostgreSQL serialises revocation writers so the log's
//!   `seq` order is commit order; SQLite writers are serialised already;
//! - `Self::announce(&mut tx, &event)` — PostgreSQL `NOTIFY`; nothing on SQLite;
//! - `self.subscribe()` — the live revocation feed, if any;
//! - the `for_update` suffix that locks a selected row (`FOR UPDATE` / nothing).

pub(crate) mod rows;

/// Implements every resource trait except [`Store`](crate::Store) itself for `$store`.
macro_rules! shared_store_impl {
    ($store:ident, $db:ident, for_update = $for_update:literal) => {
    /// The queries both backends share, instantiated for this backend.
    mod shared {
        use super::$store;
        use sqlx::$db;

        use async_trait::async_trait;
        use sqlx::Transaction;
        use time::OffsetDateTime;

        use crate::error::StoreError;
        use crate::model::{
            Access, AuditEvent, AuditEventId, AuditQuery, Client, Group, NewAuditEvent, NewClient,
            NewRefreshToken, NewSession, NewSigningKey, NewUser, Page, PageRequest, RefreshToken,
            Reuse, Revocation, RevocationCursor, RevocationEvent, Role, Rotation, Session,
            SessionId, SigningKey, ThrottleState, TokenHash, User, UserId, UserQuery, UserRef,
        };
        use crate::sql::rows::{
            convert, opt_secs, secs, substring_pattern, AuditRow, ClientRow, KeyRow,
            RevocationColumns, RevocationRow, SessionRow, ThrottleRow, TokenRow, UserRow,
        };
        use crate::traits::{
            AuditStore, ClientStore, KeyStore, RbacStore, RevocationStream, RevocationStore,
            SessionStore, StoreResult, ThrottleStore, UserStore,
        };

        /// Revocation-log entries and idle throttle counters older than this are purged. A
        /// follower that falls further behind must reload its state instead of following the
        /// log; access tokens live minutes, so a day of log covers every one still valid.
        const RETENTION: time::Duration = time::Duration::days(1);

        const SESSION_COLUMNS: &str =
            "id, user_id, created_at, last_used_at, user_agent, ip, revoked_at";
        const TOKEN_COLUMNS: &str =
            "hash, session_id, parent_hash, issued_at, expires_at, used_at, replaced_by";
        const KEY_COLUMNS: &str =
            "kid, algorithm, private_pem, created_at, not_after, retired_at";

        impl $store {
            /// Whether a row with `key` exists, for telling "already done" from "no such thing"
            /// after a change that touched no row. `sql` selects `CAST(1 AS BIGINT)` by `$1`
            /// (PostgreSQL's plain `1` is INT4, which does not decode as `i64`).
            async fn exists(&self, sql: &'static str, key: &str) -> StoreResult<bool> {
                let row: Option<(i64,)> =
                    sqlx::query_as(sql).bind(key).fetch_optional(&self.pool).await?;
                Ok(row.is_some())
            }

            async fn user_exists(&self, id: UserId) -> StoreResult<bool> {
                self.exists("SELECT CAST(1 AS BIGINT) FROM users WHERE id = $1", &id.to_string()).await
            }

            async fn role_exists(&self, name: &str) -> StoreResult<bool> {
                self.exists("SELECT CAST(1 AS BIGINT) FROM roles WHERE name = $1", name).await
            }

            async fn group_exists(&self, name: &str) -> StoreResult<bool> {
                self.exists("SELECT CAST(1 AS BIGINT) FROM user_groups WHERE name = $1", name).await
            }

            /// Which side of a two-sided link is missing, after a foreign-key violation.
            async fn missing_user_or(
                &self,
                user: UserId,
                other: &'static str,
            ) -> StoreResult<StoreError> {
                Ok(if self.user_exists(user).await? {
                    StoreError::NotFound { what: other }
                } else {
                    StoreError::NotFound { what: "user" }
                })
            }

            /// Appends to the revocation log inside `tx` and tells listeners when `tx` commits.
            async fn record_revocation(
                tx: &mut Transaction<'static, $db>,
                revocation: Revocation,
                now: OffsetDateTime,
            ) -> StoreResult<RevocationEvent> {
                Self::before_revocation(tx).await?;
                let columns = RevocationColumns::from(&revocation);
                let (seq,): (i64,) = sqlx::query_as(
                    "INSERT INTO revocations \
                     (at, kind, jti, session_id, user_id, expires_at, valid_after, client_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
                )
                .bind(secs(now))
                .bind(columns.kind)
                .bind(columns.jti)
                .bind(columns.session_id)
                .bind(columns.user_id)
                .bind(columns.expires_at)
                .bind(columns.valid_after)
                .bind(columns.client_id)
                .fetch_one(&mut **tx)
                .await?;
                let event = RevocationEvent {
                    cursor: RevocationCursor::from_seq(seq),
                    at: crate::sql::rows::time(secs(now), "revocation")?,
                    revocation,
                };
                Self::announce(tx, &event).await?;
                Ok(event)
            }

            async fn fetch_session(
                tx: &mut Transaction<'static, $db>,
                id: &str,
            ) -> StoreResult<Session> {
                let row: SessionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
                )))
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
                row.try_into()
            }

            async fn client_links(
                &self,
                client_id: &str,
            ) -> StoreResult<(Vec<String>, Vec<String>)> {
                let roles: Vec<(String,)> = sqlx::query_as(
                    "SELECT role FROM client_roles WHERE client_id = $1 ORDER BY role",
                )
                .bind(client_id)
                .fetch_all(&self.pool)
                .await?;
                let scopes: Vec<(String,)> = sqlx::query_as(
                    "SELECT scope FROM client_scopes WHERE client_id = $1 ORDER BY scope",
                )
                .bind(client_id)
                .fetch_all(&self.pool)
                .await?;
                Ok((
                    roles.into_iter().map(|(r,)| r).collect(),
                    scopes.into_iter().map(|(s,)| s).collect(),
                ))
            }

            async fn client_from_row(&self, row: ClientRow) -> StoreResult<Client> {
                let (roles, scopes) = self.client_links(&row.client_id).await?;
                Ok(Client {
                    created_at: crate::sql::rows::time(row.created_at, "client created_at")?,
                    client_id: row.client_id,
                    secret_hash: row.secret_hash,
                    name: row.name,
                    roles,
                    scopes,
                    disabled: row.disabled,
                })
            }

            async fn group_details(&self, name: String, description: String) -> StoreResult<Group> {
                let members: Vec<(String, String)> = sqlx::query_as(
                    "SELECT u.id, u.username FROM group_members m \
                     JOIN users u ON u.id = m.user_id \
                     WHERE m.group_name = $1 ORDER BY u.username_lower",
                )
                .bind(&name)
                .fetch_all(&self.pool)
                .await?;
                let roles: Vec<(String,)> = sqlx::query_as(
                    "SELECT role FROM group_roles WHERE group_name = $1 ORDER BY role",
                )
                .bind(&name)
                .fetch_all(&self.pool)
                .await?;
                Ok(Group {
                    name,
                    description,
                    members: members
                        .into_iter()
                        .map(|(id, username)| {
                            Ok(UserRef { id: crate::sql::rows::id(&id, "member id")?, username })
                        })
                        .collect::<StoreResult<_>>()?,
                    roles: roles.into_iter().map(|(r,)| r).collect(),
                })
            }
        }

        #[async_trait]
        impl UserStore for $store {
            async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User> {
                let id = UserId::new(now);
                let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO users \
                     (id, username, username_lower, email, password_hash, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, FALSE, $6) RETURNING {}",
                    crate::sql::rows::USER_COLUMNS
                )))
                .bind(id.to_string())
                .bind(&user.username)
                .bind(user.username.to_lowercase())
                .bind(&user.email)
                .bind(&user.password_hash)
                .bind(secs(now))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| StoreError::from_write(e, "username", "user"))?;
                row.try_into()
            }

            async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
                let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE id = $1",
                    crate::sql::rows::USER_COLUMNS
                )))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.map(User::try_from).transpose()
            }

            async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
                let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE username_lower = $1",
                    crate::sql::rows::USER_COLUMNS
                )))
                .bind(username.to_lowercase())
                .fetch_optional(&self.pool)
                .await?;
                row.map(User::try_from).transpose()
            }

            async fn list_users(&self, query: &UserQuery) -> StoreResult<Page<User>> {
                const FILTER: &str = "($1 IS NULL OR username_lower LIKE $1 ESCAPE '\\' \
                                      OR lower(email) LIKE $1 ESCAPE '\\')";
                let pattern = query.search.as_deref().map(substring_pattern);
                let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM users WHERE {FILTER} \
                     ORDER BY username_lower LIMIT $2 OFFSET $3",
                    crate::sql::rows::USER_COLUMNS
                )))
                .bind(&pattern)
                .bind(query.page.capped_limit())
                .bind(query.page.offset_i64())
                .fetch_all(&self.pool)
                .await?;
                let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM users WHERE {FILTER}"
                )))
                .bind(&pattern)
                .fetch_one(&self.pool)
                .await?;
                Ok(Page { items: convert(rows)?, total: u64::try_from(total).unwrap_or(0) })
            }

            async fn set_user_disabled(
                &self,
                id: UserId,
                disabled: bool,
                now: OffsetDateTime,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE users SET disabled = $2 WHERE id = $1 AND disabled <> $2",
                )
                .bind(id.to_string())
                .bind(disabled)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    // Already so (nothing to announce), or no such user.
                    drop(tx);
                    return if self.user_exists(id).await? {
                        Ok(())
                    } else {
                        Err(StoreError::NotFound { what: "user" })
                    };
                }
                if disabled {
                    // Whole seconds, like `iat`: the next second covers every token issued
                    // up to now.
                    let valid_after =
                        crate::sql::rows::time(secs(now).saturating_add(1), "revocation")?;
                    Self::record_revocation(
                        &mut tx,
                        Revocation::User { user_id: id, valid_after },
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
                let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(password_hash)
                    .execute(&self.pool)
                    .await?;
                found(done.rows_affected(), "user")
            }

            async fn set_sessions_valid_after(
                &self,
                id: UserId,
                valid_after: OffsetDateTime,
                now: OffsetDateTime,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE users SET sessions_valid_after = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(secs(valid_after))
                    .execute(&mut *tx)
                    .await?;
                found(done.rows_affected(), "user")?;
                Self::record_revocation(&mut tx, Revocation::User { user_id: id, valid_after }, now)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_user(&self, id: UserId, now: OffsetDateTime) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                found(done.rows_affected(), "user")?;
                // Whole seconds, like `iat`: the next second ends every token issued up to now.
                let valid_after = crate::sql::rows::time(secs(now).saturating_add(1), "revocation")?;
                Self::record_revocation(&mut tx, Revocation::User { user_id: id, valid_after }, now)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl RbacStore for $store {
            async fn create_role(&self, name: &str, description: &str) -> StoreResult<Role> {
                sqlx::query("INSERT INTO roles (name, description) VALUES ($1, $2)")
                    .bind(name)
                    .bind(description)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, "role", "role"))?;
                Ok(Role {
                    name: name.to_owned(),
                    description: description.to_owned(),
                    permissions: Vec::new(),
                })
            }

            async fn role(&self, name: &str) -> StoreResult<Option<Role>> {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT name, description FROM roles WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                let Some((name, description)) = row else { return Ok(None) };
                let permissions: Vec<(String,)> = sqlx::query_as(
                    "SELECT permission FROM role_permissions WHERE role = $1 ORDER BY permission",
                )
                .bind(&name)
                .fetch_all(&self.pool)
                .await?;
                Ok(Some(Role {
                    name,
                    description,
                    permissions: permissions.into_iter().map(|(p,)| p).collect(),
                }))
            }

            async fn list_roles(&self) -> StoreResult<Vec<Role>> {
                let roles: Vec<(String, String)> =
                    sqlx::query_as("SELECT name, description FROM roles ORDER BY name")
                        .fetch_all(&self.pool)
                        .await?;
                let grants: Vec<(String, String)> = sqlx::query_as(
                    "SELECT role, permission FROM role_permissions ORDER BY role, permission",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(roles
                    .into_iter()
                    .map(|(name, description)| {
                        let permissions = grants
                            .iter()
                            .filter(|(role, _)| *role == name)
                            .map(|(_, permission)| permission.clone())
                            .collect();
                        Role { name, description, permissions }
                    })
                    .collect())
            }

            async fn delete_role(&self, name: &str) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM roles WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                found(done.rows_affected(), "role")
            }

            async fn grant_permission(&self, role: &str, permission: &str) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO role_permissions (role, permission) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(role)
                .bind(permission)
                .execute(&self.pool)
                .await
                .map_err(|e| StoreError::from_write(e, "permission", "role"))?;
                Ok(())
            }

            async fn revoke_permission(&self, role: &str, permission: &str) -> StoreResult<()> {
                let done =
                    sqlx::query("DELETE FROM role_permissions WHERE role = $1 AND permission = $2")
                        .bind(role)
                        .bind(permission)
                        .execute(&self.pool)
                        .await?;
                if done.rows_affected() == 0 && !self.role_exists(role).await? {
                    return Err(StoreError::NotFound { what: "role" });
                }
                Ok(())
            }

            async fn grant_user_role(&self, user: UserId, role: &str) -> StoreResult<()> {
                let result = sqlx::query(
                    "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(user.to_string())
                .bind(role)
                .execute(&self.pool)
                .await;
                match result.map_err(|e| StoreError::from_write(e, "role grant", "role")) {
                    Ok(_) => Ok(()),
                    Err(StoreError::NotFound { .. }) => Err(self.missing_user_or(user, "role").await?),
                    Err(other) => Err(other),
                }
            }

            async fn revoke_user_role(&self, user: UserId, role: &str) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role = $2")
                    .bind(user.to_string())
                    .bind(role)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    if !self.user_exists(user).await? {
                        return Err(StoreError::NotFound { what: "user" });
                    }
                    if !self.role_exists(role).await? {
                        return Err(StoreError::NotFound { what: "role" });
                    }
                }
                Ok(())
            }

            async fn user_roles(&self, user: UserId) -> StoreResult<Vec<String>> {
                let roles: Vec<(String,)> =
                    sqlx::query_as("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                        .bind(user.to_string())
                        .fetch_all(&self.pool)
                        .await?;
                Ok(roles.into_iter().map(|(r,)| r).collect())
            }

            async fn create_group(&self, name: &str, description: &str) -> StoreResult<Group> {
                sqlx::query("INSERT INTO user_groups (name, description) VALUES ($1, $2)")
                    .bind(name)
                    .bind(description)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| StoreError::from_write(e, "group", "group"))?;
                Ok(Group {
                    name: name.to_owned(),
                    description: description.to_owned(),
                    members: Vec::new(),
                    roles: Vec::new(),
                })
            }

            async fn group(&self, name: &str) -> StoreResult<Option<Group>> {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT name, description FROM user_groups WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                match row {
                    Some((name, description)) => {
                        Ok(Some(self.group_details(name, description).await?))
                    }
                    None => Ok(None),
                }
            }

            async fn list_groups(&self) -> StoreResult<Vec<Group>> {
                let rows: Vec<(String, String)> =
                    sqlx::query_as("SELECT name, description FROM user_groups ORDER BY name")
                        .fetch_all(&self.pool)
                        .await?;
                let mut groups = Vec::with_capacity(rows.len());
                for (name, description) in rows {
                    groups.push(self.group_details(name, description).await?);
                }
                Ok(groups)
            }

            async fn delete_group(&self, name: &str) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM user_groups WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                found(done.rows_affected(), "group")
            }

            async fn add_group_member(&self, group: &str, user: UserId) -> StoreResult<()> {
                let result = sqlx::query(
                    "INSERT INTO group_members (group_name, user_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(group)
                .bind(user.to_string())
                .execute(&self.pool)
                .await;
                match result.map_err(|e| StoreError::from_write(e, "membership", "group")) {
                    Ok(_) => Ok(()),
                    Err(StoreError::NotFound { .. }) => {
                        Err(self.missing_user_or(user, "group").await?)
                    }
                    Err(other) => Err(other),
                }
            }

            async fn remove_group_member(&self, group: &str, user: UserId) -> StoreResult<()> {
                let done =
                    sqlx::query("DELETE FROM group_members WHERE group_name = $1 AND user_id = $2")
                        .bind(group)
                        .bind(user.to_string())
                        .execute(&self.pool)
                        .await?;
                if done.rows_affected() == 0 {
                    if !self.group_exists(group).await? {
                        return Err(StoreError::NotFound { what: "group" });
                    }
                    if !self.user_exists(user).await? {
                        return Err(StoreError::NotFound { what: "user" });
                    }
                }
                Ok(())
            }

            async fn grant_group_role(&self, group: &str, role: &str) -> StoreResult<()> {
                let result = sqlx::query(
                    "INSERT INTO group_roles (group_name, role) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(group)
                .bind(role)
                .execute(&self.pool)
                .await;
                match result.map_err(|e| StoreError::from_write(e, "role grant", "role")) {
                    Ok(_) => Ok(()),
                    Err(StoreError::NotFound { .. }) if !self.group_exists(group).await? => {
                        Err(StoreError::NotFound { what: "group" })
                    }
                    Err(other) => Err(other),
                }
            }

            async fn revoke_group_role(&self, group: &str, role: &str) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM group_roles WHERE group_name = $1 AND role = $2")
                    .bind(group)
                    .bind(role)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    if !self.group_exists(group).await? {
                        return Err(StoreError::NotFound { what: "group" });
                    }
                    if !self.role_exists(role).await? {
                        return Err(StoreError::NotFound { what: "role" });
                    }
                }
                Ok(())
            }

            async fn effective_access(&self, user: UserId) -> StoreResult<Access> {
                // One statement, so roles, groups and permissions come from one snapshot.
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "WITH held AS ( \
                         SELECT role FROM user_roles WHERE user_id = $1 \
                         UNION \
                         SELECT g.role FROM group_members m \
                         JOIN group_roles g ON g.group_name = m.group_name \
                         WHERE m.user_id = $1 \
                     ) \
                     SELECT 'role', role FROM held \
                     UNION ALL \
                     SELECT 'group', group_name FROM group_members WHERE user_id = $1 \
                     UNION ALL \
                     SELECT 'permission', p.permission FROM role_permissions p \
                     WHERE p.role IN (SELECT role FROM held)",
                )
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await?;
                let mut access = Access::default();
                for (kind, name) in rows {
                    match kind.as_str() {
                        "role" => access.roles.push(name),
                        "group" => access.groups.push(name),
                        _ => access.permissions.push(name),
                    }
                }
                // Sorted here rather than in SQL so both databases agree on the order.
                for list in [&mut access.roles, &mut access.groups, &mut access.permissions] {
                    list.sort_unstable();
                    list.dedup();
                }
                Ok(access)
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn create_session(
                &self,
                session: NewSession,
                now: OffsetDateTime,
            ) -> StoreResult<Session> {
                let id = SessionId::new(now);
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, ip) \
                     VALUES ($1, $2, $3, $3, $4, $5)",
                )
                .bind(id.to_string())
                .bind(session.user_id.to_string())
                .bind(secs(now))
                .bind(&session.user_agent)
                .bind(&session.ip)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, "session", "user"))?;
                sqlx::query(
                    "INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(session.token.to_hex())
                .bind(id.to_string())
                .bind(secs(now))
                .bind(secs(session.expires_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, "refresh token", "session"))?;
                let created = Self::fetch_session(&mut tx, &id.to_string()).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn session(&self, id: SessionId) -> StoreResult<Option<Session>> {
                let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
                )))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.map(Session::try_from).transpose()
            }

            async fn rotate_refresh_token(
                &self,
                presented: TokenHash,
                child: NewRefreshToken,
                now: OffsetDateTime,
            ) -> StoreResult<Rotation> {
                let mut tx = self.begin_write().await?;
                // The row lock (PostgreSQL) or the database write lock taken by BEGIN
                // IMMEDIATE (SQLite) makes a concurrent rotation of the same token wait here
                // and then see `used_at` set by the winner.
                let row: Option<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE hash = $1{}",
                    $for_update
                )))
                .bind(presented.to_hex())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(Rotation::Unknown);
                };
                let token = RefreshToken::try_from(row)?;
                let mut session =
                    Self::fetch_session(&mut tx, &token.session_id.to_string()).await?;
                if session.revoked_at.is_some() {
                    return Ok(Rotation::SessionRevoked { session });
                }
                if let Some(child_hash) = token.replaced_by {
                    let child: Option<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE hash = $1"
                    )))
                    .bind(child_hash.to_hex())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let child = child.map(RefreshToken::try_from).transpose()?;
                    return Ok(Rotation::AlreadyUsed(Box::new(Reuse { session, token, child })));
                }
                if token.expires_at <= now {
                    return Ok(Rotation::Expired { session });
                }
                sqlx::query(
                    "UPDATE refresh_tokens SET used_at = $2, replaced_by = $3 WHERE hash = $1",
                )
                .bind(presented.to_hex())
                .bind(secs(now))
                .bind(child.hash.to_hex())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO refresh_tokens \
                     (hash, session_id, parent_hash, issued_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(child.hash.to_hex())
                .bind(session.id.to_string())
                .bind(presented.to_hex())
                .bind(secs(now))
                .bind(secs(child.expires_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, "refresh token", "session"))?;
                sqlx::query("UPDATE sessions SET last_used_at = $2 WHERE id = $1")
                    .bind(session.id.to_string())
                    .bind(secs(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                session.last_used_at = crate::sql::rows::time(secs(now), "session last_used_at")?;
                Ok(Rotation::Rotated { session })
            }

            async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let revoked: Option<(String,)> = sqlx::query_as(
                    "UPDATE sessions SET revoked_at = $2 \
                     WHERE id = $1 AND revoked_at IS NULL RETURNING user_id",
                )
                .bind(id.to_string())
                .bind(secs(now))
                .fetch_optional(&mut *tx)
                .await?;
                match revoked {
                    Some((user_id,)) => {
                        let user_id = crate::sql::rows::id(&user_id, "session user id")?;
                        Self::record_revocation(
                            &mut tx,
                            Revocation::Session { session_id: id, user_id },
                            now,
                        )
                        .await?;
                        tx.commit().await?;
                        Ok(())
                    }
                    None => {
                        drop(tx);
                        if self.session(id).await?.is_some() {
                            Ok(())
                        } else {
                            Err(StoreError::NotFound { what: "session" })
                        }
                    }
                }
            }

            async fn revoke_user_sessions(
                &self,
                user: UserId,
                now: OffsetDateTime,
            ) -> StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let revoked: Vec<(String,)> = sqlx::query_as(
                    "UPDATE sessions SET revoked_at = $2 \
                     WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
                )
                .bind(user.to_string())
                .bind(secs(now))
                .fetch_all(&mut *tx)
                .await?;
                for (session_id,) in &revoked {
                    let session_id = crate::sql::rows::id(session_id, "session id")?;
                    Self::record_revocation(
                        &mut tx,
                        Revocation::Session { session_id, user_id: user },
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(u64::try_from(revoked.len()).unwrap_or(u64::MAX))
            }

            async fn user_sessions(
                &self,
                user: UserId,
                now: OffsetDateTime,
            ) -> StoreResult<Vec<Session>> {
                let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions s \
                     WHERE {LIVE} AND s.user_id = $2 ORDER BY s.created_at DESC, s.id DESC"
                )))
                .bind(secs(now))
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await?;
                convert(rows)
            }

            async fn list_sessions(
                &self,
                page: PageRequest,
                now: OffsetDateTime,
            ) -> StoreResult<Page<Session>> {
                let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions s WHERE {LIVE} \
                     ORDER BY s.created_at DESC, s.id DESC LIMIT $2 OFFSET $3"
                )))
                .bind(secs(now))
                .bind(page.capped_limit())
                .bind(page.offset_i64())
                .fetch_all(&self.pool)
                .await?;
                let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM sessions s WHERE {LIVE}"
                )))
                .bind(secs(now))
                .fetch_one(&self.pool)
                .await?;
                Ok(Page { items: convert(rows)?, total: u64::try_from(total).unwrap_or(0) })
            }
        }

        #[async_trait]
        impl RevocationStore for $store {
            async fn revoke_jti(
                &self,
                jti: &str,
                expires_at: OffsetDateTime,
                now: OffsetDateTime,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO revoked_jtis (jti, expires_at, revoked_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(secs(expires_at))
                .bind(secs(now))
                .execute(&mut *tx)
                .await?;
                // A repeated revocation is not news for the gateways.
                if done.rows_affected() == 1 {
                    Self::record_revocation(
                        &mut tx,
                        Revocation::Token { jti: jti.to_owned(), expires_at },
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
                self.exists("SELECT CAST(1 AS BIGINT) FROM revoked_jtis WHERE jti = $1", jti).await
            }

            async fn revocations_since(
                &self,
                cursor: RevocationCursor,
                limit: u32,
            ) -> StoreResult<Vec<RevocationEvent>> {
                let rows: Vec<RevocationRow> = sqlx::query_as(
                    "SELECT seq, at, kind, jti, session_id, user_id, expires_at, valid_after, \
                     client_id FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(cursor.seq())
                .bind(i64::from(limit.min(PageRequest::MAX_LIMIT)))
                .fetch_all(&self.pool)
                .await?;
                convert(rows)
            }

            async fn revocation_log_end(&self) -> StoreResult<RevocationCursor> {
                let (seq,): (i64,) =
                    sqlx::query_as("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM revocations")
                        .fetch_one(&self.pool)
                        .await?;
                Ok(RevocationCursor::from_seq(seq))
            }

            async fn subscribe_revocations(&self) -> StoreResult<Option<RevocationStream>> {
                self.subscribe().await
            }

            async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let mut deleted = 0;
                for sql in [
                    "DELETE FROM revoked_jtis WHERE expires_at <= $1",
                    "DELETE FROM refresh_tokens WHERE expires_at <= $1",
                ] {
                    deleted += sqlx::query(sql)
                        .bind(secs(now))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                // A session whose every token has expired can never be used again.
                deleted += sqlx::query(
                    "DELETE FROM sessions WHERE NOT EXISTS \
                     (SELECT 1 FROM refresh_tokens t WHERE t.session_id = sessions.id)",
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let retained_since = secs(now - RETENTION);
                deleted += sqlx::query("DELETE FROM revocations WHERE at < $1")
                    .bind(retained_since)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                deleted += sqlx::query(
                    "DELETE FROM login_throttle WHERE window_start < $1 \
                     AND (locked_until IS NULL OR locked_until <= $2)",
                )
                .bind(retained_since)
                .bind(secs(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(deleted)
            }
        }

        #[async_trait]
        impl ClientStore for $store {
            async fn create_client(
                &self,
                client: NewClient,
                now: OffsetDateTime,
            ) -> StoreResult<Client> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO clients (client_id, secret_hash, name, disabled, created_at) \
                     VALUES ($1, $2, $3, FALSE, $4)",
                )
                .bind(&client.client_id)
                .bind(&client.secret_hash)
                .bind(&client.name)
                .bind(secs(now))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, "client", "client"))?;
                for role in &client.roles {
                    sqlx::query(
                        "INSERT INTO client_roles (client_id, role) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(&client.client_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_write(e, "client role", "role"))?;
                }
                for scope in &client.scopes {
                    sqlx::query(
                        "INSERT INTO client_scopes (client_id, scope) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(&client.client_id)
                    .bind(scope)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                self.client(&client.client_id)
                    .await?
                    .ok_or(StoreError::NotFound { what: "client" })
            }

            async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
                let row: Option<ClientRow> = sqlx::query_as(
                    "SELECT client_id, secret_hash, name, disabled, created_at \
                     FROM clients WHERE client_id = $1",
                )
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(row) => Ok(Some(self.client_from_row(row).await?)),
                    None => Ok(None),
                }
            }

            async fn list_clients(&self) -> StoreResult<Vec<Client>> {
                let rows: Vec<ClientRow> = sqlx::query_as(
                    "SELECT client_id, secret_hash, name, disabled, created_at \
                     FROM clients ORDER BY client_id",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut clients = Vec::with_capacity(rows.len());
                for row in rows {
                    clients.push(self.client_from_row(row).await?);
                }
                Ok(clients)
            }

            async fn set_client_disabled(
                &self,
                client_id: &str,
                disabled: bool,
                now: OffsetDateTime,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE clients SET disabled = $2 WHERE client_id = $1 AND disabled <> $2",
                )
                .bind(client_id)
                .bind(disabled)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    // Already so (nothing to announce), or no such client.
                    drop(tx);
                    return if self
                        .exists("SELECT CAST(1 AS BIGINT) FROM clients WHERE client_id = $1", client_id)
                        .await?
                    {
                        Ok(())
                    } else {
                        Err(StoreError::NotFound { what: "client" })
                    };
                }
                if disabled {
                    Self::record_revocation(
                        &mut tx,
                        Revocation::Client { client_id: client_id.to_owned() },
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<()> {
                let done = sqlx::query("UPDATE clients SET secret_hash = $2 WHERE client_id = $1")
                    .bind(client_id)
                    .bind(secret_hash)
                    .execute(&self.pool)
                    .await?;
                found(done.rows_affected(), "client")
            }

            async fn delete_client(&self, client_id: &str, now: OffsetDateTime) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                found(done.rows_affected(), "client")?;
                Self::record_revocation(
                    &mut tx,
                    Revocation::Client { client_id: client_id.to_owned() },
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl KeyStore for $store {
            async fn add_signing_key(
                &self,
                key: NewSigningKey,
                now: OffsetDateTime,
            ) -> StoreResult<SigningKey> {
                let row: KeyRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO signing_keys (kid, algorithm, private_pem, created_at, not_after) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {KEY_COLUMNS}"
                )))
                .bind(&key.kid)
                .bind(&key.algorithm)
                .bind(&key.private_pem)
                .bind(secs(now))
                .bind(opt_secs(key.not_after))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| StoreError::from_write(e, "kid", "kid"))?;
                row.try_into()
            }

            async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
                let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC, seq DESC"
                )))
                .fetch_all(&self.pool)
                .await?;
                convert(rows)
            }

            async fn active_signing_key(&self, now: OffsetDateTime) -> StoreResult<Option<SigningKey>> {
                let row: Option<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {KEY_COLUMNS} FROM signing_keys \
                     WHERE retired_at IS NULL AND (not_after IS NULL OR not_after > $1) \
                     ORDER BY created_at DESC, seq DESC LIMIT 1"
                )))
                .bind(secs(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(SigningKey::try_from).transpose()
            }

            async fn retire_signing_key(&self, kid: &str, now: OffsetDateTime) -> StoreResult<()> {
                // COALESCE keeps the first retirement time if a key is retired twice.
                let done = sqlx::query(
                    "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $2) WHERE kid = $1",
                )
                .bind(kid)
                .bind(secs(now))
                .execute(&self.pool)
                .await?;
                found(done.rows_affected(), "kid")
            }

            async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                    .bind(kid)
                    .execute(&self.pool)
                    .await?;
                found(done.rows_affected(), "kid")
            }
        }

        #[async_trait]
        impl ThrottleStore for $store {
            async fn record_failure(
                &self,
                key: &str,
                window: time::Duration,
                now: OffsetDateTime,
            ) -> StoreResult<ThrottleState> {
                // One upsert, so concurrent failures on several instances are all counted.
                let row: ThrottleRow = sqlx::query_as(
                    "INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2) \
                     ON CONFLICT (key) DO UPDATE SET \
                       failures = CASE WHEN login_throttle.window_start <= $3 THEN 1 \
                                       ELSE login_throttle.failures + 1 END, \
                       window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 \
                                           ELSE login_throttle.window_start END \
                     RETURNING key, failures, window_start, locked_until",
                )
                .bind(key)
                .bind(secs(now))
                .bind(secs(now - window))
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn lock_until(&self, key: &str, until: OffsetDateTime) -> StoreResult<()> {
                let done = sqlx::query("UPDATE login_throttle SET locked_until = $2 WHERE key = $1")
                    .bind(key)
                    .bind(secs(until))
                    .execute(&self.pool)
                    .await?;
                found(done.rows_affected(), "throttle key")
            }

            async fn throttle(&self, key: &str) -> StoreResult<Option<ThrottleState>> {
                let row: Option<ThrottleRow> = sqlx::query_as(
                    "SELECT key, failures, window_start, locked_until \
                     FROM login_throttle WHERE key = $1",
                )
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
                row.map(ThrottleState::try_from).transpose()
            }

            async fn reset_throttle(&self, key: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                    .bind(key)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, event: NewAuditEvent) -> StoreResult<AuditEvent> {
                let id = AuditEventId::new(event.at);
                let details = serde_json::to_string(&event.details)
                    .map_err(|_| StoreError::Corrupt { what: "audit details" })?;
                let row: AuditRow = sqlx::query_as(
                    "INSERT INTO audit_events (id, at, actor, action, target, ip, details) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING id, at, actor, action, target, ip, details",
                )
                .bind(id.to_string())
                .bind(secs(event.at))
                .bind(&event.actor)
                .bind(&event.action)
                .bind(&event.target)
                .bind(&event.ip)
                .bind(details)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn query_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(
                    "SELECT id, at, actor, action, target, ip, details FROM audit_events \
                     WHERE ($1 IS NULL OR action = $1) AND ($2 IS NULL OR actor = $2) \
                       AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) \
                     ORDER BY at DESC, id DESC LIMIT $5",
                )
                .bind(&query.action)
                .bind(&query.actor)
                .bind(opt_secs(query.since))
                .bind(opt_secs(query.until))
                .bind(i64::from(query.limit.min(PageRequest::MAX_LIMIT)))
                .fetch_all(&self.pool)
                .await?;
                convert(rows)
            }
        }

        /// A session is live while not revoked and holding an unused, unexpired token
        /// (`$1` is now).
        const LIVE: &str = "s.revoked_at IS NULL AND EXISTS (SELECT 1 FROM refresh_tokens t \
                            WHERE t.session_id = s.id AND t.used_at IS NULL AND t.expires_at > $1)";

        /// `NotFound` when a change touched no row.
        fn found(rows: u64, what: &'static str) -> StoreResult<()> {
            if rows == 0 { Err(StoreError::NotFound { what }) } else { Ok(()) }
        }
    }
    };
}

pub(crate) use shared_store_impl;
