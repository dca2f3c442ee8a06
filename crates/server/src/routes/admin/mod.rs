//! `/admin/…`: user, role, group, session, client and audit management. Every handler takes
//! an [`AdminUser`](crate::extract::AdminUser) (permission `gatehouse:admin`) and every change
//! writes an audit event.

use axum::Router;

use crate::state::AppState;

/// The admin routes, relative to `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
