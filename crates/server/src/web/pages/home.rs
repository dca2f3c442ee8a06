//! `/`: who you are, and "Fetch data" (`POST /ui/fetch`), which calls the configured protected
//! route server-side with the session's access token and hands back the answer.

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::extract::{Member, Visitor, csrf_ok};
use crate::web::view::{HomePage, Nav, readable, render};

/// Largest upstream answer shown on the page.
const ANSWER_LIMIT: usize = 256 * 1024;

/// The home page; visitors who are not signed in go to the sign-in page.
pub async fn home(State(state): State<AppState>, member: Member) -> Response {
    let claims = &member.me.claims;
    let page = HomePage {
        nav: Nav::new(&member.visitor, "home"),
        username: member.me.username().to_owned(),
        user_id: member.me.user_id.to_string(),
        roles: claims.roles.clone(),
        groups: claims.groups.clone(),
        permissions: claims.permissions.clone(),
        fetch_path: state.config().web.fetch_path.clone(),
        token_expires: readable(claims.expires_at()),
    };
    render(&page).into_response()
}

/// `POST /ui/fetch` (header `X-CSRF-Token`): `{"status": <upstream status>, "body": <JSON or
/// text>}`. A browser that is no longer signed in gets 401 with `X-Gatehouse-Signed-Out`.
pub async fn fetch(State(state): State<AppState>, request: Request) -> Result<Response, PageError> {
    let (mut parts, _) = request.into_parts();
    let visitor = Visitor::from_request_parts(&mut parts, &state).await?;
    let presented = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if !csrf_ok(&parts, &state, &visitor, presented)? {
        return Err(PageError::Csrf);
    }
    let Some(me) = visitor.signed_in else {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "signed_in": false })),
        )
            .into_response();
        response
            .headers_mut()
            .insert("x-gatehouse-signed-out", HeaderValue::from_static("1"));
        return Ok(response);
    };
    let web = &state.config().web;
    let base = web
        .fetch_base_url
        .as_ref()
        .unwrap_or_else(|| state.public_url())
        .issuer()
        .to_owned();
    let url = format!("{base}{}", web.fetch_path);
    let answer = state
        .web()
        .http()
        .get(&url)
        .bearer_auth(&me.token)
        .header(header::ACCEPT, "application/json")
        .send()
        .await;
    let body = match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            let bytes = response.bytes().await.unwrap_or_default();
            let shown = &bytes[..bytes.len().min(ANSWER_LIMIT)];
            let body = serde_json::from_slice::<Value>(shown)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(shown).into_owned()));
            json!({ "status": status, "body": body })
        }
        Err(error) => {
            tracing::warn!(error = %error, url, "fetch data: the route could not be reached");
            json!({ "status": 502, "body": { "error": "the protected route could not be reached" } })
        }
    };
    Ok(Json(body).into_response())
}
