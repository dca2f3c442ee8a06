//! `/admin/sessions`: every live session, and revoking one.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use gatehouse_store::SessionId;

use super::users::SessionView;
use super::{Admin, PageBody, PageQuery};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list))
        .route("/sessions/{id}", delete(revoke))
}

async fn list(
    Admin(manager): Admin,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<PageBody<SessionView>>, ApiError> {
    let page = query.page();
    let sessions = manager.list_sessions(page).await?;
    Ok(ApiJson(PageBody {
        items: sessions.items.iter().map(SessionView::from).collect(),
        total: sessions.total,
        offset: page.offset,
        limit: page.limit,
    }))
}

async fn revoke(
    Admin(manager): Admin,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<StatusCode, ApiError> {
    manager.revoke_session(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
