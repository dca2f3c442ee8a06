//! The gateway mounted in the server: the reverse proxy as the fallback for every path the
//! server itself does not serve, `GET /auth/verify` for forward-auth (nginx `auth_request`,
//! Traefik ForwardAuth, Caddy `forward_auth`), and CORS. This is where the gateway's typed
//! outcomes become HTTP: 401 with an RFC 6750 challenge, 403 `insufficient_scope`, 404, and
//! 502/503/504 problem+json.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts as _, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::PrivateCookieJar;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use gatehouse_auth::ClientContext;
use gatehouse_auth::{AccessClaims, Auth, AuthError};
use gatehouse_gateway::jwks::KeyCacheSettings;
use gatehouse_gateway::metrics::Metrics;
use gatehouse_gateway::proxy::{Forwarded, Proxy};
use gatehouse_gateway::route::{RequestPath, Route};
use gatehouse_gateway::upstream_token::UpstreamSigner;
use gatehouse_gateway::{Decision, Denial, Gateway, IssuerName, LocalToken, LocalTokens, Subject};
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
        let live = Arc::new(live_gateway(config, &local, &http, &metrics)?);
        Ok(Self {
            live: RwLock::new(live),
            local,
            http,
            metrics,
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

    /// Builds a gateway for `config`'s `[[routes]]`, `[[issuers]]`, `[identity_headers]`,
    /// `[proxy]` and `[cors]` and makes it the live one; on error the live gateway stays.
    /// Returns the new gateway (its external keys are not fetched yet).
    pub fn replace(&self, config: &Config) -> Result<Arc<LiveGateway>, gatehouse_gateway::Error> {
        let live = Arc::new(live_gateway(
            config,
            &self.local,
            &self.http,
            &self.metrics,
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
) -> Result<LiveGateway, gatehouse_gateway::Error> {
    let gateway_config = config.gateway();
    let gateway = Gateway::new(
        &gateway_config,
        Some(Arc::clone(local) as Arc<dyn LocalTokens>),
        http.clone(),
        KeyCacheSettings::default(),
    )?
    .with_upstream_signer(Arc::clone(local) as Arc<dyn UpstreamSigner>)
    .with_metrics(Arc::clone(metrics));
    Ok(LiveGateway {
        gateway,
        proxy: Proxy::new(&gateway_config.proxy),
        cors: cors_layer(&config.cors),
    })
}

/// Gatehouse's own access tokens, for the gateway: the key ring verifies, the auth service
/// checks revocation (on every request, cached token or not).
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
/// next request. Other instances see it within [`gatehouse_gateway::gateway::REVOCATION_RECHECK`].
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
        state.gateway().current().gateway.revocations_changed();
    }
    response
}

/// `GET /auth/verify` (forward-auth). Other gateway traffic arrives through [`proxy`], the
/// server's fallback.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/verify", get(verify).head(verify))
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
/// `[cors]`, so a reload applies to it too. Outermost, so a preflight never needs a token.
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
            match cors.layer(inner).oneshot(request).await {
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
        let Ok(ClientInfo(client)) = ClientInfo::from_request_parts(&mut parts, &state).await;
        let credential = session_credential(
            &state,
            &service,
            &parts.method,
            parts.uri.path(),
            &mut parts.headers,
            &client,
        );
        match credential.await {
            Ok(via_cookie) => via_cookie,
            Err(error) => return error.into_response(),
        }
    };
    let request = Request::from_parts(parts, body);
    let decision = service
        .gateway
        .decide(
            request.method(),
            request.uri().path(),
            request.headers(),
            now(&state),
        )
        .await;
    let (route, subject) = match decision {
        Decision::Allow { route, subject } => (route, subject),
        Decision::NoRoute => return ApiError::not_found("this resource").into_response(),
        other => return refusal(other).into_response(),
    };
    if route.upstream.is_none() {
        // A forward-auth-only route: nothing to proxy to.
        return ApiError::not_found("this resource").into_response();
    }
    let target = match upstream_target(route, &request) {
        Ok(target) => target,
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
    let prepared = service
        .gateway
        .prepare_upstream(route, subject.as_deref(), &mut parts.headers, now(&state))
        .await;
    if let Err(error) = prepared {
        return ApiError::internal(error).into_response();
    }
    let request = Request::from_parts(parts, body);
    match service.proxy.forward(request, target, &forwarded).await {
        Ok(response) => response.map(Body::new),
        Err(error) => upstream_error(&error).into_response(),
    }
}

fn upstream_target(
    route: &Route,
    request: &Request,
) -> Result<http::Uri, gatehouse_gateway::Error> {
    let upstream = route
        .upstream
        .as_ref()
        .ok_or_else(|| gatehouse_gateway::Error::BadForward("the route has no upstream".into()))?;
    // `decide` already accepted this path, so it parses again.
    let path = RequestPath::parse(request.uri().path())
        .map_err(|e| gatehouse_gateway::Error::BadForward(e.to_string()))?;
    upstream.uri_for(&route.upstream_path(&path), request.uri().query())
}

fn upstream_error(error: &gatehouse_gateway::Error) -> ApiError {
    tracing::warn!(%error, "upstream request failed");
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

/// The original method and path of a forward-auth request.
fn original_request(headers: &HeaderMap) -> Option<(Method, String)> {
    let header = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
    };
    let method = header(["x-forwarded-method", "x-original-method"])?;
    let uri = header(["x-forwarded-uri", "x-original-uri"])?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let path = uri.split(['?', '#']).next().unwrap_or_default().to_owned();
    Some((method, path))
}

/// `GET /auth/verify`: applies the route policies to the request described by
/// `X-Forwarded-Method`/`X-Forwarded-Uri` (or `X-Original-Method`/`X-Original-URI`) and answers
/// 200 with the identity headers, 401 or 403. No matching route is 403 here (deny by default):
/// nginx's `auth_request` treats any other status as a server error.
async fn verify(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    mut headers: HeaderMap,
) -> Response {
    let Some((method, path)) = original_request(&headers) else {
        return ApiError::bad_request(
            ProblemCode::INVALID_REQUEST,
            "forward-auth needs X-Forwarded-Method and X-Forwarded-Uri (or X-Original-Method and X-Original-URI)",
        )
        .into_response();
    };
    let service = state.gateway().current();
    if let Err(error) =
        session_credential(&state, &service, &method, &path, &mut headers, &client).await
    {
        return error.into_response();
    }
    let decision = service
        .gateway
        .decide(&method, &path, &headers, now(&state))
        .await;
    match decision {
        Decision::Allow { subject, .. } => {
            let mut response = StatusCode::OK.into_response();
            if let Some(subject) = subject {
                service
                    .gateway
                    .identity_headers()
                    .apply(&subject, response.headers_mut());
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

    #[test]
    fn the_original_request_comes_from_either_header_pair() {
        let mut headers = HeaderMap::new();
        headers.insert("x-original-method", HeaderValue::from_static("POST"));
        headers.insert("x-original-uri", HeaderValue::from_static("/api/x?y=1"));
        assert_eq!(
            original_request(&headers),
            Some((Method::POST, "/api/x".to_owned()))
        );
        headers.insert("x-forwarded-method", HeaderValue::from_static("GET"));
        headers.insert("x-forwarded-uri", HeaderValue::from_static("/other"));
        assert_eq!(
            original_request(&headers),
            Some((Method::GET, "/other".to_owned()))
        );
        assert_eq!(original_request(&HeaderMap::new()), None);
    }
}
