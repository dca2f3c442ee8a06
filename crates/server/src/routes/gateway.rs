//! The gateway mounted in the server: the reverse proxy as the fallback for every path the
//! server itself does not serve, `GET /auth/verify` for forward-auth (nginx `auth_request`,
//! Traefik ForwardAuth, Caddy `forward_auth`; `/auth/verify/<path>` for Envoy `ext_authz`),
//! and CORS. This is where the gateway's typed
//! outcomes become HTTP: 401 with an RFC 6750 challenge, 403 `insufficient_scope`, 404, and
//! 502/503/504 problem+json.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts as _, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum_extra::extract::cookie::PrivateCookieJar;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use gatehouse_auth::ClientContext;
use gatehouse_auth::{AccessClaims, Auth, AuthError};
use gatehouse_gateway::jwks::KeyCacheSettings;
use gatehouse_gateway::metrics::Metrics;
use gatehouse_gateway::proxy::{Forwarded, Proxy};
use gatehouse_gateway::route::{RequestPath, Route, Upstream};
use gatehouse_gateway::upstream_token::UpstreamSigner;
use gatehouse_gateway::{
    Decision, Denial, Gateway, IssuerName, LocalToken, LocalTokens, RevocationFeed, Subject,
};
use gatehouse_token::{SigningKey, UnixTime};
use time::OffsetDateTime;
use tower::{Layer as _, ServiceExt as _};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;
use crate::config::gateway::CorsConfig;
use crate::error::{ApiError, ProblemCode};
use crate::extract::ClientInfo;
use crate::keys::KeyRing;
use crate::state::AppState;
use crate::web::session::SessionProblem;
use crate::web::{CSRF_COOKIE, SESSION_COOKIE};

/// The upstream is unreachable (502).
pub const UPSTREAM_UNAVAILABLE: ProblemCode = ProblemCode::new("upstream_unavailable");
/// The upstream did not answer in time (504).
pub const UPSTREAM_TIMEOUT: ProblemCode = ProblemCode::new("upstream_timeout");
/// Forward-auth: no configured route covers the original request (deny by default).
pub const NO_ROUTE: ProblemCode = ProblemCode::new("no_route");
/// A state-changing request authenticated by the session cookie lacked the session's CSRF
/// token (`X-CSRF-Token`).
pub const CSRF_FAILED: ProblemCode = ProblemCode::new("csrf_failed");

/// The header carrying the CSRF token on cookie-authenticated, state-changing requests (the
/// same one the web UI's "Fetch data" sends).
const CSRF_HEADER: &str = "x-csrf-token";

/// The gateway held in the [`AppState`]: the live gateway of the current configuration, which
/// [`GatewayService::replace`] swaps on a reload. A request takes the live gateway once
/// ([`GatewayService::current`]) and keeps it to the end, so requests in flight (a long
/// server-sent-event stream, a WebSocket) finish on the configuration they started with.
pub struct GatewayService {
    live: RwLock<Arc<LiveGateway>>,
    local: Arc<ServerTokens>,
    http: reqwest::Client,
    /// Shared by every live gateway, so counters survive reloads.
    metrics: Arc<Metrics>,
    /// Shared by every live gateway, so a reload keeps what the revocation follower reported
    /// and a revocation reaches gateways still serving requests begun before the reload.
    revocations: Arc<RevocationFeed>,
}

/// One configuration's gateway: route table, authenticators, upstream client and CORS.
pub struct LiveGateway {
    gateway: Gateway,
    proxy: Proxy<Body>,
    cors: Option<CorsLayer>,
}

impl std::fmt::Debug for GatewayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayService")
            .field("gateway", &self.current().gateway)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LiveGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveGateway")
            .field("gateway", &self.gateway)
            .field("cors", &self.cors.is_some())
            .finish_non_exhaustive()
    }
}

impl LiveGateway {
    /// The gateway pipeline.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The CORS layer for `[cors]`, `None` when no origin is configured.
    pub fn cors(&self) -> Option<&CorsLayer> {
        self.cors.as_ref()
    }
}

impl GatewayService {
    /// Builds the gateway from the configuration; Gatehouse's own tokens are verified with
    /// `keys` and checked for revocation by `auth`. Fetches no keys (see
    /// [`Gateway::prefetch_keys`]).
    pub fn build(
        config: &Config,
        issuer: &str,
        keys: Arc<KeyRing>,
        auth: Auth,
    ) -> Result<Self, gatehouse_gateway::Error> {
        let local = Arc::new(ServerTokens {
            issuer: issuer.to_owned(),
            keys,
            auth,
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| gatehouse_gateway::Error::KeyFetch {
                issuer: "*".into(),
                problem: format!("building the HTTP client failed: {e}"),
            })?;
        let metrics = Arc::new(Metrics::default());
        let revocations = Arc::new(crate::revocations::feed(
            config.database.revocation_poll.get(),
        ));
        let live = Arc::new(live_gateway(config, &local, &http, &metrics, &revocations)?);
        Ok(Self {
            live: RwLock::new(live),
            local,
            http,
            metrics,
            revocations,
        })
    }

    /// The live gateway. Hold the returned `Arc` for the whole request.
    pub fn current(&self) -> Arc<LiveGateway> {
        // A poisoned lock still holds a complete `Arc` (the write is a single assignment).
        Arc::clone(&self.live.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The counters of every gateway this service has run (they survive reloads).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// What the follower of the revocation log reports to every gateway of this service
    /// (see [`crate::revocations`]).
    pub fn revocation_feed(&self) -> &Arc<RevocationFeed> {
        &self.revocations
    }

    /// Something was revoked: no gateway of this service (the live one, or one still
    /// finishing requests after a reload) trusts a revocation check made before now.
    pub fn revocations_changed(&self) {
        self.current().gateway.revocations_changed();
    }

    /// Builds a gateway for `config`'s `[[routes]]`, `[[issuers]]`, `[identity_headers]`,
    /// `[proxy]` and `[cors]` and makes it the live one; on error the live gateway stays.
    /// Returns the new gateway (its external keys are not fetched yet).
    pub fn replace(&self, config: &Config) -> Result<Arc<LiveGateway>, gatehouse_gateway::Error> {
        let live = Arc::new(live_gateway(
            config,
            &self.local,
            &self.http,
            &self.metrics,
            &self.revocations,
        )?);
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&live);
        Ok(live)
    }
}

fn live_gateway(
    config: &Config,
    local: &Arc<ServerTokens>,
    http: &reqwest::Client,
    metrics: &Arc<Metrics>,
    revocations: &Arc<RevocationFeed>,
) -> Result<LiveGateway, gatehouse_gateway::Error> {
    let gateway_config = config.gateway();
    let gateway = Gateway::new(
        &gateway_config,
        Some(Arc::clone(local) as Arc<dyn LocalTokens>),
        http.clone(),
        KeyCacheSettings::default(),
    )?
    .with_upstream_signer(Arc::clone(local) as Arc<dyn UpstreamSigner>)
    .with_metrics(Arc::clone(metrics))
    .with_revocation_feed(Arc::clone(revocations));
    Ok(LiveGateway {
        gateway,
        proxy: Proxy::new(&gateway_config.proxy),
        cors: cors_layer(&config.cors),
    })
}

/// Gatehouse's own access tokens, for the gateway: the key ring verifies, the auth service
/// checks revocation (on every request, cached token or not, unless the gateway may re-use a
/// passed check: see [`RevocationFeed`]).
struct ServerTokens {
    issuer: String,
    keys: Arc<KeyRing>,
    auth: Auth,
}

fn to_datetime(at: UnixTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.as_secs()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl UpstreamSigner for ServerTokens {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn signing_key(&self) -> Arc<SigningKey> {
        self.keys.signer()
    }
}

impl LocalTokens for ServerTokens {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn verify<'a>(
        &'a self,
        token: &'a str,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<LocalToken, Denial>> {
        async move {
            let verified = self
                .keys
                .verify(token, to_datetime(now))
                .await
                .map_err(Denial::Token)?;
            let claims = AccessClaims::from_verified(verified.claims.as_map())
                .map_err(|_| Denial::NotAnAccessToken)?;
            claims.subject().ok_or(Denial::NotAnAccessToken)?;
            let mut subject = Subject::new(claims.sub.clone(), IssuerName::gatehouse());
            subject.username = claims.preferred_username.clone();
            subject.roles = claims.roles.iter().cloned().collect();
            subject.groups = claims.groups.iter().cloned().collect();
            subject.permissions = claims.permissions.iter().cloned().collect();
            subject.scopes = claims
                .scope
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            Ok(LocalToken {
                subject,
                expires_at: UnixTime::from_secs(claims.exp),
                token_id: Some(claims.jti.clone()),
                issued_at: Some(UnixTime::from_secs(claims.iat)),
                claims: verified.claims,
            })
        }
        .boxed()
    }

    fn check_revocation<'a>(
        &'a self,
        token: &'a LocalToken,
        _now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Denial>> {
        async move {
            let claims = AccessClaims::from_verified(token.claims.as_map())
                .map_err(|_| Denial::NotAnAccessToken)?;
            match self.auth.check_access_token(&claims).await {
                Ok(_) => Ok(()),
                Err(AuthError::SessionEnded) => Err(Denial::Revoked),
                Err(error) => {
                    tracing::error!(%error, "revocation check failed; refusing the token");
                    Err(Denial::RevocationUnavailable)
                }
            }
        }
        .boxed()
    }
}

/// Middleware on the server's own routes: after any request that may have changed state
/// (logout, password change, admin actions, token revocation), the gateway re-asks the store
/// whether each token is revoked, so a revocation through this instance applies to the very
/// next request, without waiting for the revocation log. Other instances learn it from the
/// log (see [`crate::revocations`]).
pub async fn after_own_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let may_write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if may_write {
        state.gateway().revocations_changed();
    }
    response
}

/// Forward-auth: `GET /auth/verify` (the original request in headers: nginx, Traefik, Caddy)
/// and `/auth/verify/<original path>` with any method (the original request on the request
/// line: Envoy `ext_authz`); and `GET /metrics`. Other gateway traffic arrives through
/// [`proxy`], the server's fallback.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(VERIFY_PATH, get(verify).head(verify))
        .route("/auth/verify/", any(verify))
        .route("/auth/verify/{*original}", any(verify))
        .route("/metrics", get(metrics))
}

/// `GET /metrics`: the gateway's counters (decisions by outcome, token verifications, cache
/// hits) in the Prometheus text format; they survive configuration reloads. When `[metrics]`
/// is off the path is not special: it goes through the gateway like any other.
async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    if !state
        .config()
        .metrics
        .is_enabled(state.config().server.listen)
    {
        return proxy(State(state), request).await;
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.gateway().metrics().prometheus_text(),
    )
        .into_response()
}

/// Middleware answering CORS (preflights and response headers) with the live gateway's
/// `[cors]`, so a reload applies to it too: outermost on the server's own routes, so a
/// preflight never needs a token. The gateway fallback ([`proxy`]) applies the same layer
/// itself.
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let live = state.gateway().current();
    match live.cors() {
        Some(layer) => match layer.layer(next).oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => next.run(request).await,
    }
}

/// The CORS layer for `[cors]`, or `None` when no origin is configured.
pub fn cors_layer(config: &CorsConfig) -> Option<CorsLayer> {
    if config.allowed_origins.is_empty() {
        return None;
    }
    let origins = if config.allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_credentials(config.allow_credentials)
            .allow_methods(
                config
                    .allowed_methods
                    .iter()
                    .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                    .collect::<Vec<_>>(),
            )
            .allow_headers(
                config
                    .allowed_headers
                    .iter()
                    .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok())
                    .collect::<Vec<_>>(),
            )
            .max_age(config.max_age.get()),
    )
}

fn now(state: &AppState) -> UnixTime {
    UnixTime::from_secs(state.now().unix_timestamp())
}

/// On a route with `accept_session_cookie` and a request without `Authorization`: resolves
/// Gatehouse's browser session cookie through the web UI's sessions (refreshing its access
/// token when due) and puts that access token into `headers` as a Bearer token, so the
/// pipeline authenticates it like any other. Returns whether it did. A missing or ended
/// session leaves `headers` alone (the route then answers 401, never a redirect); a
/// state-changing method needs the session's CSRF token in `X-CSRF-Token` (403 otherwise),
/// because a browser sends the cookie on cross-site requests too.
async fn session_credential(
    state: &AppState,
    live: &LiveGateway,
    method: &Method,
    path: &str,
    headers: &mut HeaderMap,
    client: &ClientContext,
) -> Result<bool, ApiError> {
    if headers.contains_key(AUTHORIZATION) {
        return Ok(false);
    }
    let accepts = RequestPath::parse(path).ok().is_some_and(|path| {
        live.gateway
            .routes()
            .find(method, &path)
            .is_some_and(|route| route.accept_session_cookie)
    });
    if !accepts {
        return Ok(false);
    }
    let web = state.web();
    let jar = PrivateCookieJar::from_headers(headers, web.keys().cookie().clone());
    let Some(session) = jar.get(SESSION_COOKIE) else {
        return Ok(false);
    };
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let nonce = jar.get(CSRF_COOKIE);
        let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let valid = nonce.zip(presented).is_some_and(|(nonce, presented)| {
            web.keys()
                .csrf_matches(presented, nonce.value(), session.value())
        });
        if !valid {
            return Err(ApiError::forbidden_with(
                CSRF_FAILED,
                "a request authenticated by the session cookie that changes state needs the X-CSRF-Token header",
            ));
        }
    }
    match web
        .sessions()
        .current(state, web.keys(), session.value(), client)
        .await
    {
        Ok(signed_in) => {
            let bearer = HeaderValue::from_str(&format!("Bearer {}", signed_in.token))
                .map_err(ApiError::internal)?;
            headers.insert(AUTHORIZATION, bearer);
            Ok(true)
        }
        Err(SessionProblem::SignedOut) => Ok(false),
        Err(SessionProblem::Failed(error)) => Err(error),
    }
}

/// Removes Gatehouse's own browser cookies from the `Cookie` headers sent upstream: the
/// session cookie is a credential no upstream needs.
fn drop_gatehouse_cookies(headers: &mut HeaderMap) {
    if !headers.contains_key(COOKIE) {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && name != SESSION_COOKIE && name != CSRF_COOKIE
        })
        .map(str::to_owned)
        .collect();
    headers.remove(COOKIE);
    if !kept.is_empty()
        && let Ok(value) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(COOKIE, value);
    }
}

/// The fallback: requests no server route matched go through the gateway. It runs outside the
/// server's layers (see [`crate::routes::with_layers`]), so it gives the request its id and
/// answers CORS itself.
pub async fn proxy(State(state): State<AppState>, mut request: Request) -> Response {
    let request_id = crate::routes::ensure_request_id(request.headers_mut());
    let live = state.gateway().current();
    let mut response = match live.cors().cloned() {
        None => gateway_request(state, live, request).await,
        Some(cors) => {
            let inner = tower::service_fn(move |request| {
                gateway_request(state.clone(), Arc::clone(&live), request)
                    .map(Ok::<_, std::convert::Infallible>)
            });
            // Boxed, so that the future of a request without CORS stays small.
            match Box::pin(cors.layer(inner).oneshot(request)).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    };
    if let Some(id) = request_id {
        response.headers_mut().insert(crate::routes::REQUEST_ID, id);
    }
    response
}

/// Authenticates, authorizes and forwards one request (the gateway pipeline for the fallback).
async fn gateway_request(state: AppState, service: Arc<LiveGateway>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    // Only a request with cookies and without `Authorization` can use the session cookie;
    // others (Bearer requests and public routes, the hot path) skip the lookup entirely.
    let via_cookie = if parts.headers.contains_key(AUTHORIZATION)
        || !parts.headers.contains_key(COOKIE)
    {
        false
    } else {
        // Boxed: the session lookup's future is several kilobytes, and inline it would
        // make every proxied request's future that large (and futures are moved, so
        // copied, on their way to the connection's task).
        let credential = Box::pin(async {
            let Ok(ClientInfo(client)) = ClientInfo::from_request_parts(&mut parts, &state).await;
            session_credential(
                &state,
                &service,
                &parts.method,
                parts.uri.path(),
                &mut parts.headers,
                &client,
            )
            .await
        });
        match credential.await {
            Ok(via_cookie) => via_cookie,
            Err(error) => return error.into_response(),
        }
    };
    let request = Request::from_parts(parts, body);
    let now = now(&state);
    let decision = service
        .gateway
        .decide(
            request.method(),
            request.uri().path(),
            request.headers(),
            now,
        )
        .await;
    let (route, subject) = match decision {
        Decision::Allow { route, subject } => (route, subject),
        Decision::NoRoute => return ApiError::not_found("this resource").into_response(),
        other => return refusal(other).into_response(),
    };
    let Some(upstream) = &route.upstream else {
        // A forward-auth-only route: nothing to proxy to.
        return ApiError::not_found("this resource").into_response();
    };
    let path_and_query = match upstream_path_and_query(route, upstream, &request) {
        Ok(path_and_query) => path_and_query,
        Err(error) => return ApiError::internal(error).into_response(),
    };
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = Forwarded {
        client_ip,
        proto: if state.public_url().is_https() {
            "https"
        } else {
            "http"
        },
    };
    let (mut parts, body) = request.into_parts();
    if via_cookie {
        // The session's access token is the server's, not the client's: never forwarded.
        parts.headers.remove(AUTHORIZATION);
    }
    drop_gatehouse_cookies(&mut parts.headers);
    let prepared =
        service
            .gateway
            .prepare_upstream(route, subject.as_deref(), &mut parts.headers, now);
    if let Err(error) = prepared {
        return ApiError::internal(error).into_response();
    }
    // No request span on this path (it skips the server's layers): the id goes into the log
    // line itself.
    let request_id = parts.headers.get(crate::routes::REQUEST_ID).cloned();
    let request = Request::from_parts(parts, body);
    let forwarding = service
        .proxy
        .forward(request, upstream, path_and_query, &forwarded);
    match forwarding.await {
        Ok(response) => response.map(Body::new),
        Err(error) => upstream_error(&error, request_id.as_ref()).into_response(),
    }
}

/// The path and query `request` goes upstream with, after the route's `strip_prefix`.
fn upstream_path_and_query(
    route: &Route,
    upstream: &Upstream,
    request: &Request,
) -> Result<PathAndQuery, gatehouse_gateway::Error> {
    // `decide` already accepted this path, so it parses again.
    let path = RequestPath::parse(request.uri().path())
        .map_err(|e| gatehouse_gateway::Error::BadForward(e.to_string()))?;
    let original = request
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    upstream.path_and_query_for(&route.upstream_path(&path), &original)
}

fn upstream_error(error: &gatehouse_gateway::Error, request_id: Option<&HeaderValue>) -> ApiError {
    let request_id = request_id
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::warn!(%error, request_id, "upstream request failed");
    match error {
        gatehouse_gateway::Error::UpstreamTimeout { .. } => ApiError::with_status(
            StatusCode::GATEWAY_TIMEOUT,
            UPSTREAM_TIMEOUT,
            "the upstream service did not answer in time",
        ),
        _ => ApiError::with_status(
            StatusCode::BAD_GATEWAY,
            UPSTREAM_UNAVAILABLE,
            "the upstream service is unavailable",
        ),
    }
}

/// The HTTP answer to a refusal (everything but `Allow`).
fn refusal(decision: Decision<'_>) -> ApiError {
    match decision {
        Decision::Allow { .. } | Decision::NoRoute => ApiError::not_found("this resource"),
        Decision::UnsafePath(why) => {
            ApiError::bad_request(ProblemCode::INVALID_REQUEST, why.to_string())
        }
        Decision::Unauthenticated(Denial::NoCredentials) => ApiError::missing_token(),
        Decision::Unauthenticated(denial) if denial.is_unavailable() => {
            ApiError::unavailable(DenialError(denial))
        }
        Decision::Unauthenticated(denial) => ApiError::invalid_token(denial.description()),
        Decision::Forbidden { missing, .. } => {
            let mut detail = format!("missing: {}", missing.describe());
            if missing.groups_overage {
                detail.push_str(
                    " (the token lists no groups because of a groups overage; have the provider emit app roles instead)",
                );
            }
            ApiError::forbidden(detail)
        }
    }
}

/// A denial as an error source, for the 503 log line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DenialError(Denial);

/// The forward-auth endpoint; `/auth/verify/<original path>` is its Envoy form.
pub(crate) const VERIFY_PATH: &str = "/auth/verify";

/// Envoy's `ext_authz` HTTP service: the answer header listing request headers Envoy removes
/// before forwarding an allowed request.
const ENVOY_HEADERS_TO_REMOVE: HeaderName =
    HeaderName::from_static("x-envoy-auth-headers-to-remove");

/// The request a forward-auth check asks about.
#[derive(Debug, PartialEq, Eq)]
struct OriginalRequest {
    method: Method,
    /// Without the query: policies depend on the path only.
    path: String,
    /// Envoy's shape: the original method and path on the check's own request line.
    on_request_line: bool,
}

/// The original request of a forward-auth check, or why it cannot be told.
///
/// `/auth/verify/<path>` (Envoy `ext_authz`: `path_prefix` + the original path, sent with the
/// original method) takes method and path from the request line only, never from headers:
/// Envoy passes client headers it is allowed to, so a header there could be the client's.
///
/// `/auth/verify` takes them from `X-Forwarded-Method` + `X-Forwarded-Uri` (Traefik, Caddy)
/// or `X-Original-Method` + `X-Original-URI` (nginx), a whole pair each. A proxy sets its own
/// pair but passes the client's headers on, so a client can add the other pair: when both
/// pairs are present they must describe the same request, and a half pair or a repeated header
/// is refused — otherwise a client could pick the path its token is checked against.
fn original_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<OriginalRequest, &'static str> {
    if let Some(path) = uri.path().strip_prefix(VERIFY_PATH)
        && path.starts_with('/')
    {
        return Ok(OriginalRequest {
            method: method.clone(),
            path: path.to_owned(),
            on_request_line: true,
        });
    }
    let one = |name: &str| -> Result<Option<&str>, &'static str> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(value), None) => value
                .to_str()
                .map(Some)
                .map_err(|_| "a forward-auth header is not visible ASCII"),
            (Some(_), Some(_)) => Err("a forward-auth header is repeated"),
        }
    };
    let pair = |method_name: &str,
                uri_name: &str|
     -> Result<Option<(Method, String)>, &'static str> {
        match (one(method_name)?, one(uri_name)?) {
            (None, None) => Ok(None),
            (Some(method), Some(uri)) => {
                let method = Method::from_bytes(method.as_bytes())
                    .map_err(|_| "the forwarded method is not an HTTP method")?;
                let path = uri.split(['?', '#']).next().unwrap_or_default().to_owned();
                Ok(Some((method, path)))
            }
            _ => Err("a forward-auth method header needs its URI header and the other way round"),
        }
    };
    let forwarded = pair("x-forwarded-method", "x-forwarded-uri")?;
    let original = pair("x-original-method", "x-original-uri")?;
    let (method, path) = match (forwarded, original) {
        (Some(forwarded), Some(original)) if forwarded != original => {
            return Err(
                "X-Forwarded-Method/-Uri and X-Original-Method/-URI describe different requests",
            );
        }
        (Some(request), _) | (None, Some(request)) => request,
        (None, None) => {
            return Err(
                "forward-auth needs X-Forwarded-Method and X-Forwarded-Uri (or X-Original-Method and X-Original-URI), or the original path after /auth/verify",
            );
        }
    };
    Ok(OriginalRequest {
        method,
        path,
        on_request_line: false,
    })
}

/// Forward-auth: applies the route policies to the original request (see
/// [`original_request`]) and answers 200 with the identity headers (every one present, empty
/// where there is no value — see `IdentityHeaders::apply_forward_auth`), 401 or 403. No
/// matching route is 403 here (deny by default): nginx's `auth_request` treats any other
/// status as a server error. Envoy-shaped checks also get `x-envoy-auth-headers-to-remove`.
async fn verify(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    method: Method,
    uri: Uri,
    mut headers: HeaderMap,
) -> Response {
    let original = match original_request(&method, &uri, &headers) {
        Ok(original) => original,
        Err(problem) => {
            return ApiError::bad_request(ProblemCode::INVALID_REQUEST, problem).into_response();
        }
    };
    let (method, path) = (&original.method, original.path.as_str());
    let service = state.gateway().current();
    if let Err(error) =
        session_credential(&state, &service, method, path, &mut headers, &client).await
    {
        return error.into_response();
    }
    let decision = service
        .gateway
        .decide(method, path, &headers, now(&state))
        .await;
    match decision {
        Decision::Allow { subject, .. } => {
            let mut response = StatusCode::OK.into_response();
            let identity = service.gateway.identity_headers();
            identity.apply_forward_auth(subject.as_deref(), response.headers_mut());
            if original.on_request_line {
                let removals = identity.forward_auth_removals(&headers, response.headers());
                let removals: Vec<&str> = removals.iter().map(HeaderName::as_str).collect();
                if let Ok(value) = HeaderValue::from_str(&removals.join(", ")) {
                    response
                        .headers_mut()
                        .insert(ENVOY_HEADERS_TO_REMOVE, value);
                }
            }
            response
        }
        Decision::NoRoute | Decision::UnsafePath(_) => {
            ApiError::forbidden_with(NO_ROUTE, "no gateway route covers this request")
                .into_response()
        }
        other => refusal(other).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn original(
        method: Method,
        uri: &str,
        pairs: &[(&'static str, &'static str)],
    ) -> Result<OriginalRequest, &'static str> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        original_request(&method, &uri.parse().unwrap(), &headers)
    }

    fn header_form(method: Method, path: &str) -> Result<OriginalRequest, &'static str> {
        Ok(OriginalRequest {
            method,
            path: path.to_owned(),
            on_request_line: false,
        })
    }

    #[test]
    fn the_original_request_comes_from_either_header_pair() {
        let nginx = [
            ("x-original-method", "POST"),
            ("x-original-uri", "/api/x?y=1"),
        ];
        assert_eq!(
            original(Method::GET, "/auth/verify", &nginx),
            header_form(Method::POST, "/api/x")
        );
        let traefik = [("x-forwarded-method", "GET"), ("x-forwarded-uri", "/other")];
        assert_eq!(
            original(Method::GET, "/auth/verify?q=1", &traefik),
            header_form(Method::GET, "/other")
        );
        let both = [
            ("x-forwarded-method", "POST"),
            ("x-forwarded-uri", "/api/x"),
        ];
        let both = [&nginx[..], &both[..]].concat();
        assert_eq!(
            original(Method::GET, "/auth/verify", &both),
            header_form(Method::POST, "/api/x"),
            "two pairs describing the same request"
        );
        assert!(original(Method::GET, "/auth/verify", &[]).is_err());
    }

    #[test]
    fn a_client_cannot_choose_the_original_request_with_the_other_pair_or_half_a_pair() {
        // nginx sets X-Original-*, and passes the client's X-Forwarded-* along.
        let forged = [
            ("x-original-method", "GET"),
            ("x-original-uri", "/api/reports"),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/public/x"),
        ];
        assert!(original(Method::GET, "/auth/verify", &forged).is_err());
        let half = [
            ("x-original-method", "GET"),
            ("x-original-uri", "/api/reports"),
            ("x-forwarded-uri", "/public/x"),
        ];
        assert!(original(Method::GET, "/auth/verify", &half).is_err());
        let repeated = [
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/public/x"),
            ("x-forwarded-uri", "/api/reports"),
        ];
        assert!(original(Method::GET, "/auth/verify", &repeated).is_err());
        let not_a_method = [("x-forwarded-method", "G T"), ("x-forwarded-uri", "/x")];
        assert!(original(Method::GET, "/auth/verify", &not_a_method).is_err());
    }

    #[test]
    fn envoy_puts_the_original_request_on_the_request_line() {
        let on_line = |method: Method, path: &str| {
            Ok(OriginalRequest {
                method,
                path: path.to_owned(),
                on_request_line: true,
            })
        };
        assert_eq!(
            original(Method::DELETE, "/auth/verify/api/items/7?force=1", &[]),
            on_line(Method::DELETE, "/api/items/7")
        );
        assert_eq!(
            original(Method::GET, "/auth/verify/", &[]),
            on_line(Method::GET, "/")
        );
        // Headers never override the request line there: Envoy may pass client headers.
        let forged = [
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/public/x"),
        ];
        assert_eq!(
            original(Method::POST, "/auth/verify/api/reports", &forged),
            on_line(Method::POST, "/api/reports")
        );
        // Not the Envoy form: a longer name that merely starts with /auth/verify.
        assert!(original(Method::GET, "/auth/verifyx", &[]).is_err());
    }
}
