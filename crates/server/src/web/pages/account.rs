//! `/ui/account`: profile, password change, and the user's sessions with sign-out for one or
//! all.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar};
use gatehouse_auth::AuthError;
use gatehouse_store::SessionId;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::see_other;
use super::sign_in::EmptyForm;
use crate::state::AppState;
use crate::web::SESSION_COOKIE;
use crate::web::error::PageError;
use crate::web::extract::{CsrfForm, Member};
use crate::web::view::{AccountPage, Nav, SessionRow, readable, render};

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "password" => "Your password was changed. Your other sessions have ended.",
        "session" => "That session has been signed out.",
        _ => return None,
    };
    Some(text.to_owned())
}

async fn account_view(
    state: &AppState,
    member: &Member,
    notice: Option<String>,
    error: Option<String>,
) -> Result<AccountPage, PageError> {
    let account = state.auth().account(member.me.user_id).await?;
    let sessions = state
        .store()
        .user_sessions(member.me.user_id, state.now())
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            device: s
                .user_agent
                .as_deref()
                .map(describe_device)
                .unwrap_or_else(|| String::from("unknown device")),
            address: s.ip.unwrap_or_default(),
            created: readable(s.created_at),
            last_used: readable(s.last_used_at),
            current: s.id == member.me.session,
        })
        .collect();
    Ok(AccountPage {
        nav: Nav::new(&member.visitor, "account")
            .notice(notice)
            .error(error),
        username: account.username,
        email: account.email.unwrap_or_default(),
        created: readable(account.created_at),
        sessions,
    })
}

/// A short name for a user agent: browser and platform.
fn describe_device(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    let platform = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    match (browser, platform) {
        (Some(b), Some(p)) => format!("{b} on {p}"),
        (Some(b), None) => b.to_owned(),
        _ => user_agent.chars().take(40).collect(),
    }
}

/// `GET /ui/account`.
pub async fn account(
    State(state): State<AppState>,
    member: Member,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let page = account_view(&state, &member, notice(done.done.as_deref()), None).await?;
    Ok(render(&page).into_response())
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current: SecretString,
    new: SecretString,
}

/// `POST /ui/account/password`: needs the current password; ends the other sessions.
pub async fn change_password(
    State(state): State<AppState>,
    member: Member,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let result = state
        .auth()
        .change_password(
            &member.me.claims,
            &form.current,
            form.new,
            &member.visitor.client,
            state.now(),
        )
        .await;
    let (status, message) = match result {
        Ok(()) => return Ok(see_other("/ui/account?done=password")),
        Err(AuthError::WrongCurrentPassword) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            String::from("The current password is wrong."),
        ),
        Err(AuthError::WeakPassword(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("New password: {e}."),
        ),
        Err(AuthError::Throttled { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many attempts. Try again in {} seconds.",
                retry_after.as_secs().max(1)
            ),
        ),
        Err(other) => return Err(other.into()),
    };
    let page = account_view(&state, &member, None, Some(message)).await?;
    Ok((status, render(&page)).into_response())
}

/// The form naming one session.
#[derive(Debug, Deserialize)]
pub struct SessionForm {
    session: String,
}

/// `POST /ui/account/sessions/revoke`: signs one of the user's own sessions out.
pub async fn revoke_session(
    State(state): State<AppState>,
    member: Member,
    CsrfForm(form): CsrfForm<SessionForm>,
) -> Result<Response, PageError> {
    let id: SessionId = form
        .session
        .parse()
        .map_err(|_| PageError::BadRequest(String::from("not a session id")))?;
    let owned = state
        .store()
        .session(id)
        .await?
        .is_some_and(|s| s.user_id == member.me.user_id);
    if !owned {
        return Err(PageError::NotFound(String::from("No such session.")));
    }
    state.store().revoke_session(id, state.now()).await?;
    let actor = member.me.user_id.to_string();
    state
        .audit(
            &actor,
            "session.revoked",
            Some(actor.clone()),
            member.visitor.client.ip.clone(),
            json!({ "session": id.to_string(), "by": "owner" }),
        )
        .await?;
    if id == member.me.session {
        return Ok(see_other("/ui/login"));
    }
    Ok(see_other("/ui/account?done=session"))
}

/// `POST /ui/account/sessions/revoke-all`: ends every session of the user, this one too.
pub async fn revoke_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    member: Member,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let actor = member.me.user_id.to_string();
    state
        .auth()
        .logout_all(
            member.me.user_id,
            &actor,
            &member.visitor.client,
            state.now(),
        )
        .await?;
    let web = state.web();
    web.sessions()
        .end(&state, &member.me, &member.visitor.client)
        .await?;
    let jar = PrivateCookieJar::from_headers(&headers, web.keys().cookie().clone())
        .remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, see_other("/ui/login")).into_response())
}
