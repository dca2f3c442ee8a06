//! `/admin/audit`: the audit log, newest first, filtered by action, actor and time.

use axum::Router;
use axum::routing::get;
use gatehouse_store::{AuditEvent, AuditQuery, PageRequest};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Admin, rfc3339};
use crate::error::{ApiError, ProblemCode};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(query))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filters {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    actor: Option<String>,
    /// RFC 3339, inclusive.
    #[serde(default)]
    since: Option<String>,
    /// RFC 3339, exclusive.
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

/// An audit event as the API shows it.
#[derive(Debug, Serialize)]
struct EventView {
    id: String,
    at: String,
    actor: String,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    details: serde_json::Value,
}

impl From<AuditEvent> for EventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            at: rfc3339(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            ip: e.ip,
            details: e.details,
        }
    }
}

#[derive(Debug, Serialize)]
struct Events {
    items: Vec<EventView>,
}

fn timestamp(name: &str, value: Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|text| {
            OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
                ApiError::bad_request(
                    ProblemCode::INVALID_REQUEST,
                    format!("query parameter `{name}` must be an RFC 3339 time such as 2026-01-31T09:00:00Z"),
                )
            })
        })
        .transpose()
}

async fn query(
    Admin(manager): Admin,
    ApiQuery(filters): ApiQuery<Filters>,
) -> Result<ApiJson<Events>, ApiError> {
    let query = AuditQuery {
        action: filters.action.filter(|s| !s.is_empty()),
        actor: filters.actor.filter(|s| !s.is_empty()),
        since: timestamp("since", filters.since)?,
        until: timestamp("until", filters.until)?,
        limit: filters
            .limit
            .unwrap_or(100)
            .clamp(1, PageRequest::MAX_LIMIT),
    };
    let events = manager.audit_log(&query).await?;
    Ok(ApiJson(Events {
        items: events.into_iter().map(EventView::from).collect(),
    }))
}
