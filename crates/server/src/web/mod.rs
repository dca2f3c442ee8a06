//! The browser UI: server-rendered pages, browser sessions, CSRF, security headers and
//! single sign-on. Everything it serves is compiled into the binary (askama templates,
//! embedded CSS and one small script), so it works offline and needs no CDN.
//!
//! - [`session`]: the session cookie and the server-side token store with single-flight
//!   refresh.
//! - [`secrets`]: the cookie key and the keys derived from it (sealing, CSRF).
//! - [`extract`]: [`extract::Visitor`] (anyone, with a CSRF token), [`extract::Member`]
//!   (signed in), [`extract::Admin`] (holds `gatehouse:admin`) and [`extract::CsrfForm`].
//! - [`headers`]: CSP, frame, referrer and HSTS headers on every page.
//! - `pages/…`: one module per page group; [`oidc`]: the "Sign in with …" flow.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::config::Config;
use crate::state::AppState;

pub mod error;
pub mod extract;
pub mod headers;
pub mod oidc;
pub(crate) mod pages;
pub mod secrets;
pub mod session;
mod view;

pub use error::PageError;
pub use secrets::{WebKeyError, WebKeys};
pub use session::WebSessions;

/// Name of the cookie holding the session id.
pub const SESSION_COOKIE: &str = "gatehouse_session";
/// Name of the cookie holding the browser's CSRF nonce.
pub const CSRF_COOKIE: &str = "gatehouse_csrf";
/// Name of the form field (and `X-CSRF-Token` header) carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// What the UI keeps for the life of the process. Part of [`AppState`].
#[derive(Debug)]
pub struct WebContext {
    keys: WebKeys,
    sessions: WebSessions,
    providers: oidc::Providers,
    http: reqwest::Client,
}

impl WebContext {
    /// Loads (or generates) the cookie key and reads the OIDC providers' metadata. A provider
    /// that cannot be reached now is retried when someone clicks its button.
    pub async fn build(
        config: &Config,
        store: &dyn gatehouse_store::Store,
    ) -> Result<Arc<Self>, WebKeyError> {
        let keys = WebKeys::load(config.web.cookie_key_bytes(), store).await?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let providers = oidc::Providers::new(&config.web.providers, http.clone());
        Ok(Arc::new(Self {
            keys,
            sessions: WebSessions::default(),
            providers,
            http,
        }))
    }

    /// The cookie key and the keys derived from it.
    pub fn keys(&self) -> &WebKeys {
        &self.keys
    }

    /// The browser sessions of this instance.
    pub fn sessions(&self) -> &WebSessions {
        &self.sessions
    }

    /// The configured OIDC providers.
    pub fn providers(&self) -> &oidc::Providers {
        &self.providers
    }

    /// The outbound HTTP client (no redirects, 10 s timeout).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// The UI's routes: `/` and `/ui/…`, with the security headers and the CSRF cookie. Empty
/// when `web.enabled` is off.
pub fn routes(state: &AppState) -> Router<AppState> {
    if !state.config().web.enabled {
        return Router::new();
    }
    Router::new()
        .route("/", get(pages::home::home))
        .route("/ui/fetch", post(pages::home::fetch))
        .route("/ui/token", get(pages::token::token))
        .route(
            "/ui/login",
            get(pages::sign_in::login_page).post(pages::sign_in::login),
        )
        .route(
            "/ui/signup",
            get(pages::sign_in::signup_page).post(pages::sign_in::signup),
        )
        .route("/ui/logout", post(pages::sign_in::logout))
        .route("/ui/account", get(pages::account::account))
        .route(
            "/ui/account/password",
            post(pages::account::change_password),
        )
        .route(
            "/ui/account/sessions/revoke",
            post(pages::account::revoke_session),
        )
        .route(
            "/ui/account/sessions/revoke-all",
            post(pages::account::revoke_all),
        )
        .route("/ui/admin", get(pages::admin::users))
        .route("/ui/admin/users", post(pages::admin::create_user))
        .route("/ui/admin/users/{id}", get(pages::admin::user))
        .route(
            "/ui/admin/users/{id}/disable",
            post(pages::admin::set_disabled),
        )
        .route(
            "/ui/admin/users/{id}/password",
            post(pages::admin::reset_password),
        )
        .route("/ui/admin/users/{id}/roles", post(pages::admin::user_roles))
        .route(
            "/ui/admin/roles",
            get(pages::admin::roles).post(pages::admin::change_role),
        )
        .route(
            "/ui/admin/groups",
            get(pages::admin::groups).post(pages::admin::change_group),
        )
        .route("/ui/admin/audit", get(pages::admin::audit))
        .route("/ui/sso/{provider}", get(oidc::start))
        .route("/ui/sso/{provider}/callback", get(oidc::callback))
        .route("/ui/assets/{file}", get(pages::assets::asset))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::web_layer,
        ))
}
