//! The router: one module per resource, assembled by [`app`], plus the layers every request to
//! the server's own routes passes through (request id, tracing, body limit, timeout, CORS,
//! problem+json fallbacks). Gateway traffic (the fallback) skips those layers: see
//! [`with_layers`]. In front of it all, [`Entry`] sends requests for paths the server does not
//! serve straight to the gateway.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::future::RouteFuture;
use futures_util::future::{BoxFuture, Either};
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

/// Where the server's own endpoints live: these exact paths, and everything under these
/// prefixes. Every other path belongs to the gateway.
const OWN_PATHS: &[&str] = &["/", "/healthz", "/readyz", "/metrics"];
/// See [`OWN_PATHS`]. A prefix also covers longer names (`/authx`); that is harmless.
const OWN_PREFIXES: &[&str] = &["/.well-known/", "/admin", "/auth", "/oauth", "/ui"];

/// Whether `path` may be one of the server's own endpoints. Saying yes for a path the server
/// does not serve costs only the router's work (its fallback is the gateway too); saying no
/// for one of its endpoints would hand it to the gateway, which the test
/// `every_route_of_the_server_is_an_own_path` guards against.
fn is_own_path(path: &str) -> bool {
    OWN_PATHS.contains(&path) || OWN_PREFIXES.iter().any(|prefix| path.starts_with(prefix))
}

/// The service a worker runs for each connection: requests for the server's own paths go to
/// the router ([`app`]); every other request goes straight to [`gateway::proxy`], the handler
/// the router would fall back to anyway. Proxied requests are the hot path, and the router's
/// per-request machinery (matching, a boxed handler future, extensions) was about 8 % of a
/// proxied request's instructions under callgrind.
#[derive(Clone)]
pub struct Entry {
    router: Router,
    state: AppState,
}

impl Entry {
    /// The entry for [`app`] bound to `state`.
    pub fn new(state: AppState) -> Self {
        Self {
            router: app(state.clone()),
            state,
        }
    }
}

impl tower::Service<Request> for Entry {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<RouteFuture<Infallible>, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both the router and the gateway are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if is_own_path(request.uri().path()) {
            return Either::Left(self.router.call(request));
        }
        let state = self.state.clone();
        Either::Right(Box::pin(async move {
            Ok(gateway::proxy(State(state), request).await)
        }))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The route groups [`routes`] and [`app`] merge at the top level, with the source that
    /// registers their paths.
    const MERGED: &[(&str, &str)] = &[
        ("health", include_str!("health.rs")),
        ("well_known", include_str!("well_known.rs")),
        ("web", include_str!("../web/mod.rs")),
        ("gateway", include_str!("gateway.rs")),
    ];

    /// The first argument of every call to `method` in `source` (its code before any test
    /// module), as written: a string literal with its quotes, or an expression.
    fn first_arguments<'a>(source: &'a str, method: &str) -> Vec<&'a str> {
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        code.match_indices(method)
            .map(|(at, _)| {
                let rest = code[at + method.len()..].trim_start();
                let end = match rest.strip_prefix('"') {
                    Some(literal) => literal.find('"').map(|end| end + 2),
                    None => rest.find([',', ')']),
                };
                rest[..end.expect("an argument")].trim()
            })
            .collect()
    }

    fn unquoted(argument: &str) -> Option<&str> {
        argument.strip_prefix('"')?.strip_suffix('"')
    }

    #[test]
    fn every_route_of_the_server_is_an_own_path() {
        let top_level = include_str!("mod.rs");
        let merged: Vec<&str> = first_arguments(top_level, ".merge(")
            .into_iter()
            .map(|group| group.trim_end_matches("::routes("))
            .collect();
        let known: Vec<&str> = MERGED.iter().map(|(group, _)| *group).collect();
        assert_eq!(
            merged, known,
            "a new top-level route group must be listed in MERGED"
        );
        for nest in first_arguments(top_level, ".nest(") {
            let path = unquoted(nest).expect("nested at a literal path");
            assert!(is_own_path(path), "{path} is not in OWN_PATHS/OWN_PREFIXES");
        }
        let mut routes = first_arguments(top_level, ".route(");
        for (_, source) in MERGED {
            routes.extend(first_arguments(source, ".route("));
        }
        assert!(routes.len() > 20, "the scan found the routes: {routes:?}");
        for route in routes {
            let path = match route {
                "VERIFY_PATH" => gateway::VERIFY_PATH,
                literal => unquoted(literal).expect("a literal path or a known constant"),
            };
            assert!(is_own_path(path), "{path} is not in OWN_PATHS/OWN_PREFIXES");
        }
    }

    #[test]
    fn paths_outside_the_servers_own_go_to_the_gateway() {
        for path in [
            "/api/reports",
            "/",
            "/healthz",
            "/auth/login",
            "/ui/admin",
            "/.well-known/jwks.json",
        ] {
            let own = !path.starts_with("/api");
            assert_eq!(is_own_path(path), own, "{path}");
        }
        assert!(!is_own_path("/healthz/x"), "exact paths are exact");
        assert!(
            !is_own_path("/.well-known"),
            "only what is under /.well-known/"
        );
    }
}
