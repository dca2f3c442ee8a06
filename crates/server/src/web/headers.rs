//! The layer in front of every UI route: makes sure the browser has a CSRF nonce cookie, hands
//! the decrypted cookies to the extractors, and adds the security headers to every answer.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};

use crate::state::AppState;
use crate::web::secrets::random_token;
use crate::web::{CSRF_COOKIE, SESSION_COOKIE};

/// No inline script or style, nothing from other origins, no framing, forms post only here.
/// `form-action` also governs where a form's redirects may go, so SSO starts with a link, not
/// a form.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The decrypted cookies of a UI request, put into the request's extensions by
/// [`web_layer`].
#[derive(Debug, Clone)]
pub struct BrowserCookies {
    /// The browser's CSRF nonce (fresh if it had none).
    pub nonce: String,
    /// The session id, if the browser holds one.
    pub session: Option<String>,
    /// Set by the extractors when that session has ended, so the answer clears the cookie.
    pub session_ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Builds a cookie the way every UI cookie is built: HttpOnly, SameSite=Lax, path `/`,
/// `Secure` when the public URL is https.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

/// The middleware of the UI routes.
pub async fn web_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let https = state.public_url().is_https();
    let jar =
        PrivateCookieJar::from_headers(request.headers(), state.web().keys().cookie().clone());
    let existing = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned());
    let nonce = existing.clone().unwrap_or_else(random_token);
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    let session_ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    request.extensions_mut().insert(BrowserCookies {
        nonce: nonce.clone(),
        session,
        session_ended: std::sync::Arc::clone(&session_ended),
    });

    let mut response = next.run(request).await;
    let clear_session = session_ended.load(std::sync::atomic::Ordering::Relaxed)
        && !response.headers().contains_key(header::SET_COOKIE);
    if existing.is_none() || clear_session {
        let jar = if clear_session {
            jar.remove(Cookie::build(SESSION_COOKIE).path("/"))
        } else {
            jar
        };
        let jar = if existing.is_none() {
            jar.add(cookie(CSRF_COOKIE, nonce, https))
        } else {
            jar
        };
        let with_cookie = (jar, ()).into_response();
        for value in with_cookie.headers().get_all(header::SET_COOKIE) {
            response
                .headers_mut()
                .append(header::SET_COOKIE, value.clone());
        }
    }
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if https {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}
