//! Who is looking at a page: [`Visitor`] (anyone), [`Member`] (signed in), [`Admin`]
//! (signed in with `gatehouse:admin`); and [`CsrfForm`], the only way a UI handler reads a
//! form, which refuses it before parsing unless it carries this browser's CSRF token.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use gatehouse_auth::ClientContext;
use gatehouse_store::ADMIN_PERMISSION;
use serde::de::DeserializeOwned;

use crate::extract::ClientInfo;
use crate::state::AppState;
use crate::web::CSRF_FIELD;
use crate::web::error::PageError;
use crate::web::headers::BrowserCookies;
use crate::web::session::{SessionProblem, SignedIn};

/// Largest UI form accepted.
const FORM_LIMIT: usize = 64 * 1024;

/// Any visitor of a page: their client facts, their CSRF token, and their session if signed
/// in.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// Address and user agent.
    pub client: ClientContext,
    /// The CSRF token to put into this page's forms.
    pub csrf: String,
    /// The session, when signed in.
    pub signed_in: Option<SignedIn>,
}

fn cookies(parts: &Parts) -> Result<BrowserCookies, PageError> {
    parts
        .extensions
        .get::<BrowserCookies>()
        .cloned()
        .ok_or_else(|| PageError::BadRequest(String::from("not a UI route")))
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(visitor) = parts.extensions.get::<Visitor>() {
            return Ok(visitor.clone());
        }
        let cookies = cookies(parts)?;
        let Ok(ClientInfo(client)) = ClientInfo::from_request_parts(parts, state).await;
        let web = state.web();
        let signed_in = match &cookies.session {
            None => None,
            Some(id) => match web.sessions().current(state, web.keys(), id, &client).await {
                Ok(signed_in) => Some(signed_in),
                Err(SessionProblem::SignedOut) => {
                    cookies
                        .session_ended
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    None
                }
                Err(SessionProblem::Failed(error)) => return Err(error.into()),
            },
        };
        let session_binding = signed_in
            .as_ref()
            .and(cookies.session.as_deref())
            .unwrap_or("");
        let csrf = web.keys().csrf_token(&cookies.nonce, session_binding);
        let visitor = Self {
            client,
            csrf,
            signed_in,
        };
        parts.extensions.insert(visitor.clone());
        Ok(visitor)
    }
}

/// A signed-in visitor; anyone else is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Member {
    /// The visitor.
    pub visitor: Visitor,
    /// Their session.
    pub me: SignedIn,
}

impl FromRequestParts<AppState> for Member {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        let me = visitor.signed_in.clone().ok_or(PageError::SignedOut)?;
        Ok(Self { visitor, me })
    }
}

/// A signed-in visitor whose access token carries `gatehouse:admin`.
#[derive(Debug, Clone)]
pub struct Admin(pub Member);

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let member = Member::from_request_parts(parts, state).await?;
        if !member.me.has_permission(ADMIN_PERMISSION) {
            return Err(PageError::Forbidden(format!(
                "This page needs the permission \"{ADMIN_PERMISSION}\"."
            )));
        }
        Ok(Self(member))
    }
}

/// A URL-encoded form that carried this browser's CSRF token (field `csrf`). The token is
/// checked, in constant time, before the rest of the form is read.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| PageError::BadRequest(String::from("the form is too large")))?;
        let mut fields = serde_json::Map::new();
        let mut presented = None;
        for (key, value) in url::form_urlencoded::parse(&bytes) {
            if key == CSRF_FIELD {
                presented = Some(value.into_owned());
            } else {
                fields.insert(
                    key.into_owned(),
                    serde_json::Value::String(value.into_owned()),
                );
            }
        }
        if !csrf_ok(&parts, state, &visitor, presented.as_deref())? {
            return Err(PageError::Csrf);
        }
        serde_json::from_value(serde_json::Value::Object(fields))
            .map(CsrfForm)
            .map_err(|e| PageError::BadRequest(format!("the form is incomplete: {e}")))
    }
}

/// Whether `presented` is the visitor's CSRF token.
pub fn csrf_ok(
    parts: &Parts,
    state: &AppState,
    visitor: &Visitor,
    presented: Option<&str>,
) -> Result<bool, PageError> {
    let cookies = cookies(parts)?;
    let binding = visitor
        .signed_in
        .as_ref()
        .and(cookies.session.as_deref())
        .unwrap_or("");
    Ok(presented.is_some_and(|token| {
        state
            .web()
            .keys()
            .csrf_matches(token, &cookies.nonce, binding)
    }))
}
