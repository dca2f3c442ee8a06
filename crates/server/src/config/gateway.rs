//! The gateway's sections of `gatehouse.toml`: `[[routes]]`, `[[issuers]]`,
//! `[identity_headers]` and `[proxy]` (types from `gatehouse-gateway`, validated there), and
//! `[cors]` (answered by the server before any authentication).

use serde::Deserialize;

pub use gatehouse_gateway::config::{
    AllowConfig, ClaimsConfig, GatewayConfig, IdentityHeadersConfig, IssuerConfig, OneOrMany,
    ProxyConfig, RouteConfig,
};

use super::{Config, ConfigDuration};

/// `[cors]`: cross-origin access for browser clients (a single-page app on another origin).
/// Off while `allowed_origins` is empty. Preflight requests are answered here, so they never
/// need a token.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CorsConfig {
    /// Exact origins allowed, e.g. `["https://app.example.com"]`; `"*"` is refused together
    /// with `allow_credentials`.
    pub allowed_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true` (cookies, Authorization from the browser).
    pub allow_credentials: bool,
    /// Methods allowed cross-origin.
    pub allowed_methods: Vec<String>,
    /// Request headers allowed cross-origin.
    pub allowed_headers: Vec<String>,
    /// How long browsers may cache a preflight answer (`Access-Control-Max-Age`).
    pub max_age: ConfigDuration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allow_credentials: false,
            allowed_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allowed_headers: ["authorization", "content-type"].map(String::from).to_vec(),
            max_age: ConfigDuration::from_secs(600),
        }
    }
}

/// `[metrics]`: `GET /metrics` in the Prometheus text format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Serve `/metrics`. Default: only when `server.listen` is a loopback address, because
    /// the endpoint has no authentication (scrape through a local agent, or set `true` on a
    /// listener only the scraper can reach).
    pub enabled: Option<bool>,
}

impl MetricsConfig {
    /// Whether `/metrics` is served on a server listening on `listen`.
    pub fn is_enabled(&self, listen: std::net::SocketAddr) -> bool {
        self.enabled.unwrap_or_else(|| listen.ip().is_loopback())
    }
}

impl Config {
    /// The gateway's view of the configuration.
    pub fn gateway(&self) -> GatewayConfig {
        GatewayConfig {
            routes: self.routes.clone(),
            issuers: self.issuers.clone(),
            identity_headers: self.identity_headers.clone(),
            proxy: self.proxy.clone(),
        }
    }
}

/// The load-time checks of the gateway sections, as `(key, message)`.
pub(super) fn validate(config: &Config) -> Result<(), (&'static str, String)> {
    config
        .gateway()
        .validate()
        .map_err(|e| (e.config_key().unwrap_or("routes"), e.to_string()))?;
    let cors = &config.cors;
    for origin in &cors.allowed_origins {
        if origin == "*" {
            if cors.allow_credentials {
                return Err((
                    "cors.allowed_origins",
                    "\"*\" cannot be combined with allow_credentials = true; list the origins"
                        .into(),
                ));
            }
            continue;
        }
        let valid = url::Url::parse(origin).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.path() == "/" && !origin.ends_with('/')
        });
        if !valid {
            return Err((
                "cors.allowed_origins",
                format!(
                    "`{origin}` is not an origin like \"https://app.example.com\" (no path, no trailing slash)"
                ),
            ));
        }
    }
    for method in &cors.allowed_methods {
        if http::Method::from_bytes(method.as_bytes()).is_err() {
            return Err((
                "cors.allowed_methods",
                format!("`{method}` is not an HTTP method"),
            ));
        }
    }
    for header in &cors.allowed_headers {
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err((
                "cors.allowed_headers",
                format!("`{header}` is not a header name"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_on_by_default_only_on_a_loopback_listener() {
        let default = MetricsConfig::default();
        assert!(default.is_enabled("127.0.0.1:8080".parse().unwrap()));
        assert!(default.is_enabled("[::1]:8080".parse().unwrap()));
        assert!(!default.is_enabled("0.0.0.0:8080".parse().unwrap()));
        assert!(!default.is_enabled("10.1.2.3:8080".parse().unwrap()));
        let on = Config::from_toml_str("[metrics]\nenabled = true\n").unwrap();
        assert!(on.metrics.is_enabled("0.0.0.0:8080".parse().unwrap()));
        let off = Config::from_toml_str("[metrics]\nenabled = false\n").unwrap();
        assert!(!off.metrics.is_enabled("127.0.0.1:8080".parse().unwrap()));
    }
}
