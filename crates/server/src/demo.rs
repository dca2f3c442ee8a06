//! The demo upstream of `gatehouse demo`: a tiny service that answers every request with the
//! identity the gateway forwarded to it, so a new user sees what a protected service receives.
//!
//! It trusts the `X-Auth-*` headers blindly, which is only sound behind the gateway (the gateway
//! strips any such header a client sends). It listens on loopback only.

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::any;
use serde::Serialize;
use tokio::net::TcpListener;

use crate::extract::ApiJson;

/// What the demo upstream answers.
#[derive(Debug, Serialize)]
pub struct Echo {
    /// Always `gatehouse-demo-upstream`.
    pub service: &'static str,
    /// The request method.
    pub method: String,
    /// The path (and query) the upstream received.
    pub path: String,
    /// Every `X-Auth-*` header, by lowercase name.
    pub identity: std::collections::BTreeMap<String, String>,
    /// Whether an `Authorization` header arrived (its value is never echoed).
    pub authorization_forwarded: bool,
}

/// The demo upstream's router.
pub fn router() -> Router {
    Router::new().fallback(any(echo))
}

async fn echo(method: Method, uri: Uri, headers: HeaderMap) -> ApiJson<Echo> {
    let identity = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-auth-") && name.as_str() != "x-auth-token")
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    ApiJson(Echo {
        service: "gatehouse-demo-upstream",
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        identity,
        authorization_forwarded: headers.contains_key(axum::http::header::AUTHORIZATION)
            || headers.contains_key("x-auth-token"),
    })
}

/// Serves the demo upstream on `listener` until the task is dropped.
pub async fn serve_upstream(listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router()).await
}
