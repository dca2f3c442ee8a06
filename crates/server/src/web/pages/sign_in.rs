//! Sign in, sign up and sign out.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar};
use gatehouse_auth::{AuthError, IssuedTokens, NewAccount};
use secrecy::SecretString;
use serde::Deserialize;

use super::see_other;
use crate::config::SignupMode;
use crate::state::AppState;
use crate::web::SESSION_COOKIE;
use crate::web::error::PageError;
use crate::web::extract::{CsrfForm, Member, Visitor};
use crate::web::headers::cookie;
use crate::web::view::{LoginPage, Nav, ProviderButton, SignupPage, render};

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: SecretString,
}

/// The sign-up form.
#[derive(Debug, Deserialize)]
pub struct SignupForm {
    username: String,
    password: SecretString,
    #[serde(default)]
    email: String,
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

fn login_view(
    state: &AppState,
    visitor: &Visitor,
    username: String,
    error: Option<String>,
) -> LoginPage {
    LoginPage {
        nav: Nav::new(visitor, "").error(error),
        username,
        signup_open: state.config().signup.mode == SignupMode::Open,
        providers: state
            .config()
            .web
            .providers
            .iter()
            .map(|p| ProviderButton {
                name: p.name.clone(),
                label: p.label().to_owned(),
            })
            .collect(),
    }
}

/// `GET /ui/login`.
pub async fn login_page(State(state): State<AppState>, visitor: Visitor) -> Response {
    if visitor.signed_in.is_some() {
        return see_other("/");
    }
    render(&login_view(&state, &visitor, String::new(), None)).into_response()
}

/// `POST /ui/login`: password sign-in; on success the session cookie is set.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let signer = state.keys().signer();
    let result = state
        .auth()
        .login(
            &form.username,
            &form.password,
            &signer,
            &visitor.client,
            state.now(),
        )
        .await;
    match result {
        Ok(tokens) => start_session(&state, &headers, tokens, None).await,
        Err(error) => {
            let (status, message) = match error {
                AuthError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    String::from("Wrong username or password."),
                ),
                AuthError::Throttled { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "Too many failed attempts. Try again in {} seconds.",
                        retry_after.as_secs().max(1)
                    ),
                ),
                other => return Err(other.into()),
            };
            let page = login_view(&state, &visitor, form.username, Some(message));
            Ok((status, render(&page)).into_response())
        }
    }
}

/// Opens the browser session for fresh tokens, sets its cookie and goes home.
pub async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    tokens: IssuedTokens,
    provider: Option<(String, Option<String>)>,
) -> Result<Response, PageError> {
    let web = state.web();
    let id = web
        .sessions()
        .start(state, web.keys(), tokens, provider, state.now())
        .await?;
    let jar = PrivateCookieJar::from_headers(headers, web.keys().cookie().clone()).add(cookie(
        SESSION_COOKIE,
        id,
        state.public_url().is_https(),
    ));
    Ok((jar, see_other("/")).into_response())
}

/// `GET /ui/signup` (404 when sign-up is closed).
pub async fn signup_page(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    if state.config().signup.mode != SignupMode::Open {
        return Err(PageError::NotFound(String::from(
            "Sign-up is closed; ask an administrator for an account.",
        )));
    }
    let page = SignupPage {
        nav: Nav::new(&visitor, ""),
        username: String::new(),
        email: String::new(),
    };
    Ok(render(&page).into_response())
}

/// `POST /ui/signup`: creates the account and signs it in.
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, PageError> {
    let email = Some(form.email.trim().to_owned()).filter(|e| !e.is_empty());
    let request = NewAccount {
        username: form.username.clone(),
        password: form.password.clone(),
        email: email.clone(),
    };
    let refused = |message: String| {
        let page = SignupPage {
            nav: Nav::new(&visitor, "").error(Some(message)),
            username: form.username.clone(),
            email: email.clone().unwrap_or_default(),
        };
        Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
    };
    match state
        .auth()
        .signup(request, &visitor.client, state.now())
        .await
    {
        Ok(_) => {}
        Err(AuthError::UsernameTaken) => return refused(String::from("That username is taken.")),
        Err(AuthError::InvalidUsername(e)) => return refused(format!("Username: {e}.")),
        Err(AuthError::WeakPassword(e)) => return refused(format!("Password: {e}.")),
        Err(AuthError::InvalidEmail(e)) => return refused(format!("E-mail: {e}.")),
        Err(AuthError::SignupClosed) => {
            return Err(PageError::NotFound(String::from("Sign-up is closed.")));
        }
        Err(other) => return Err(other.into()),
    }
    let signer = state.keys().signer();
    let tokens = state
        .auth()
        .login(
            &form.username,
            &form.password,
            &signer,
            &visitor.client,
            state.now(),
        )
        .await?;
    start_session(&state, &headers, tokens, None).await
}

/// `POST /ui/logout`: ends the session (in every tab) and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    member: Member,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let web = state.web();
    web.sessions()
        .end(&state, &member.me, &member.visitor.client)
        .await?;
    let jar = PrivateCookieJar::from_headers(&headers, web.keys().cookie().clone())
        .remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, see_other("/ui/login")).into_response())
}
