//! The router: one module per resource, assembled by [`app`], plus the layers every request to
//! the server's own routes passes through (request id, tracing, body limit, timeout, CORS,
//! problem+json fallbacks). Gateway traffic (the fallback) skips those layers: see
//! [`with_layers`].

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, ProblemCode};
use crate::state::AppState;

pub mod admin;
pub mod auth;
pub mod gateway;
pub mod health;
pub mod oauth;
pub mod well_known;

/// Header carrying the request id (generated unless the client sent one).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A fresh request id: a random (version 4) UUID from the thread's user-space CSPRNG.
/// tower-http's `MakeRequestUuid` asks the kernel (`getrandom`) for each one, a system call
/// per request on the gateway's hot path.
pub fn new_request_id() -> Option<HeaderValue> {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    HeaderValue::from_str(
        id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    )
    .ok()
}

/// The request's id: the client's `X-Request-Id` if it sent one, otherwise a new one, which is
/// added to `headers` so that it travels on (to an upstream, into the log).
pub fn ensure_request_id(headers: &mut HeaderMap) -> Option<HeaderValue> {
    if let Some(id) = headers.get(REQUEST_ID) {
        return Some(id.clone());
    }
    let id = new_request_id()?;
    headers.insert(REQUEST_ID, id.clone());
    Some(id)
}

/// [`new_request_id`] for tower-http's request-id layer.
#[derive(Clone, Copy, Debug, Default)]
struct RequestIds;

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        new_request_id().map(RequestId::new)
    }
}

/// The application's routes, without the cross-cutting layers: every resource's router merged.
/// Route groups owned elsewhere (`/auth`, `/oauth`) are merged here as well; the gateway's
/// own routes (forward-auth, metrics) are added by [`app`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(well_known::routes())
        .nest("/admin", admin::routes())
        .nest("/auth", auth::routes())
        .nest("/oauth", oauth::routes())
}

/// The complete application: [`routes`], the web UI ([`crate::web::routes`]) and the
/// gateway's routes ([`gateway::routes`]) with fallbacks and layers, bound to `state`.
pub fn app(state: AppState) -> Router {
    let web = crate::web::routes(&state);
    // The server's own routes (not the gateway fallback) may revoke tokens. The gateway's
    // routes only read: outside the layer, so an Envoy forward-auth check for a POST
    // (`POST /auth/verify/…`) does not make the gateway forget its passed revocation checks.
    let own = routes()
        .merge(web)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            gateway::after_own_writes,
        ))
        .merge(gateway::routes());
    with_layers(own, state)
}

/// Adds the problem+json fallbacks and the cross-cutting layers to `router` and binds it to
/// `state`. Used by [`app`], and by callers that merge extra routes (e.g. the gateway).
///
/// The gateway fallback ([`gateway::proxy`]) is added after the layers, so they do not wrap
/// it: proxied requests are the hot path (nginx is the yardstick, see `bench/proxy.sh`), and
/// each layer costs an allocation or a timer per request that the proxy does not need. It does
/// what it needs itself: a request id, CORS, its own upstream timeout, and a streamed body
/// that no body limit applies to anyway.
pub fn with_layers(router: Router<AppState>, state: AppState) -> Router {
    let body_limit = state.config().server.body_limit_bytes;
    let timeout = state.config().server.request_timeout.get();
    router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds))
        // Outermost, so a CORS preflight is answered before anything asks for a token. The
        // layer comes from the live gateway, so a configuration reload changes it too.
        .layer(middleware::from_fn_with_state(state.clone(), gateway::cors))
        // Paths the server does not serve go through the gateway (deny by default: 404).
        .fallback(gateway::proxy)
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        ProblemCode::METHOD_NOT_ALLOWED,
        "this method is not allowed on this resource",
    )
}

/// Answers 503 problem+json when a handler has not produced its response head in time. The
/// body is not covered, so streamed responses (the gateway's proxy) are not cut off.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => axum::response::IntoResponse::into_response(ApiError::with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::TIMEOUT,
            "the request took too long",
        )),
    }
}
