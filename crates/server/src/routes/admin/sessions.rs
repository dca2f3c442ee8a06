//! `/admin/sessions`: every live session, and revoking one.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use gatehouse_store::SessionId;

use super::users::SessionView;
use super::{PageBody, PageQuery, manager};
use crate::error::ApiError;
use crate::extract::{AdminUser, ApiJson, ApiPath, ApiQuery, ClientInfo};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list))
        .route("/sessions/{id}", delete(revoke))
}

async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<PageBody<SessionView>>, ApiError> {
    let page = query.page();
    let sessions = manager(&state, &admin, client).list_sessions(page).await?;
    Ok(ApiJson(PageBody {
        items: sessions.items.iter().map(SessionView::from).collect(),
        total: sessions.total,
        offset: page.offset,
        limit: page.limit,
    }))
}

async fn revoke(
    State(state): State<AppState>,
    admin: AdminUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<StatusCode, ApiError> {
    manager(&state, &admin, client).revoke_session(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
