//! `/admin/…`: user, role, group, session, client, audit and key management, one file per
//! resource. Every handler takes the `Admin` extractor (permission `gatehouse:admin`), which
//! hands it a [`Manager`] that validates and audits; this module only translates between HTTP
//! and that API.

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{ApiError, ProblemCode};
use crate::extract::{AdminUser, ClientInfo};
use crate::manage::{ManageError, Manager};
use crate::state::AppState;

mod audit;
mod clients;
mod groups;
mod keys;
mod roles;
mod sessions;
mod users;

/// Problem codes of the `/admin` API.
pub mod codes {
    use crate::error::ProblemCode;

    /// The change would lock administrators out or break a built-in (last admin, `admin` role).
    pub const PROTECTED: ProblemCode = ProblemCode::new("protected");
    /// A name is taken.
    pub const ALREADY_EXISTS: ProblemCode = ProblemCode::new("already_exists");
}

/// The admin routes, relative to `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(users::routes())
        .merge(roles::routes())
        .merge(groups::routes())
        .merge(sessions::routes())
        .merge(clients::routes())
        .merge(audit::routes())
        .merge(keys::routes())
}

impl From<ManageError> for ApiError {
    fn from(error: ManageError) -> Self {
        match error {
            ManageError::NotFound { what, name } => {
                ApiError::not_found(format!("{what} \"{name}\""))
            }
            ManageError::Conflict { what, name } => ApiError::conflict(
                codes::ALREADY_EXISTS,
                format!("{what} \"{name}\" already exists"),
            ),
            ManageError::Invalid { field, message } => ApiError::unprocessable(
                ProblemCode::VALIDATION_FAILED,
                format!("{field}: {message}"),
            ),
            ManageError::WeakPassword(weak) => {
                ApiError::unprocessable(crate::routes::auth::codes::WEAK_PASSWORD, weak.to_string())
            }
            ManageError::Protected(detail) => ApiError::conflict(codes::PROTECTED, detail),
            other => ApiError::internal(other),
        }
    }
}

/// The [`Manager`] of an admin request: the caller's token must carry `gatehouse:admin`
/// (401/403 otherwise), and the caller and its address go into every audit event it writes.
struct Admin(Manager);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let admin = AdminUser::from_request_parts(parts, state).await?;
        let Ok(ClientInfo(client)) = ClientInfo::from_request_parts(parts, state).await;
        Ok(Self(Manager::new(state, admin.user.actor(), client)))
    }
}

/// `?offset=&limit=` of a listing.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    limit: Option<u32>,
}

impl PageQuery {
    fn page(self) -> gatehouse_store::PageRequest {
        gatehouse_store::PageRequest {
            offset: self.offset,
            limit: self
                .limit
                .unwrap_or(50)
                .clamp(1, gatehouse_store::PageRequest::MAX_LIMIT),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Serialize)]
struct PageBody<T> {
    items: Vec<T>,
    total: u64,
    offset: u64,
    limit: u32,
}

/// RFC 3339 text of a timestamp.
fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}
