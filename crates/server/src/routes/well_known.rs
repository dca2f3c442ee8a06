//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`: what a resource
//! server (a Python backend with PyJWT, another gateway) needs to verify Gatehouse's tokens.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::extract::ApiJson;
use crate::state::AppState;

/// The discovery routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
}

/// Every public key that may have signed a still-valid token (active and recently retired).
async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = ApiJson(state.keys().jwks()).into_response();
    // Verifiers cache the set; a short max-age bounds how long a new key stays unknown to
    // them, and they refetch on an unknown kid anyway.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// OpenID Provider Metadata (the subset that applies to Gatehouse).
#[derive(Debug, Serialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    grant_types_supported: [&'static str; 2],
    response_types_supported: [&'static str; 0],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: [&'static str; 2],
    claims_supported: [&'static str; 12],
}

async fn openid_configuration(State(state): State<AppState>) -> ApiJson<Discovery> {
    let url = state.public_url();
    ApiJson(Discovery {
        issuer: url.issuer().to_owned(),
        jwks_uri: url.join("/.well-known/jwks.json"),
        token_endpoint: url.join("/oauth/token"),
        revocation_endpoint: url.join("/oauth/revoke"),
        introspection_endpoint: url.join("/oauth/introspect"),
        grant_types_supported: ["refresh_token", "client_credentials"],
        response_types_supported: [],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: [state.config().tokens.algorithm.as_str()],
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
        claims_supported: [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "nbf",
            "jti",
            "preferred_username",
            "roles",
            "groups",
            "permissions",
            "scope",
        ],
    })
}
