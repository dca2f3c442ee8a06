//! The gateway's configuration as written in `gatehouse.toml` (`[[routes]]`, `[[issuers]]`,
//! `[identity_headers]`, `[proxy]`). These are plain serde types; [`crate::Gateway`] and the
//! types it is built from validate them once, at load time.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The gateway's part of the server configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Guarded routes; a request matching none of them is refused (deny by default).
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// External token issuers trusted besides Gatehouse itself.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    /// Names and size cap of the identity headers sent upstream.
    #[serde(default)]
    pub identity_headers: IdentityHeadersConfig,
    /// Upstream connection settings.
    #[serde(default)]
    pub proxy: ProxyConfig,
}

impl GatewayConfig {
    /// Runs every load-time check (routes, issuers, identity headers) without any network
    /// access, so a configuration loader can refuse a bad file before anything starts.
    pub fn validate(&self) -> Result<(), crate::Error> {
        crate::gateway::Validated::new(self).map(|_| ())
    }
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Path prefix, matched on whole segments; the longest matching prefix wins.
    pub path: String,
    /// HTTP methods this route applies to; all methods when absent.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// `http://host:port[/base]` to proxy to; a route without one serves forward-auth only.
    #[serde(default)]
    pub upstream: Option<String>,
    /// Remove `path` from the request path before forwarding.
    #[serde(default)]
    pub strip_prefix: bool,
    /// No token needed. Exclusive with `allow`.
    #[serde(default)]
    pub public: bool,
    /// What a token must carry; any valid token when absent.
    #[serde(default)]
    pub allow: Option<AllowConfig>,
    /// Forward the client's own `Authorization` header upstream (default: removed).
    #[serde(default)]
    pub forward_authorization: bool,
    /// Add an `X-Auth-Token` minted by Gatehouse for this upstream (audience = `audience`).
    #[serde(default)]
    pub upstream_token: bool,
    /// Audience of the upstream token; defaults to the upstream origin.
    #[serde(default)]
    pub audience: Option<String>,
    /// Also accept Gatehouse's browser session cookie as the credential (a request without
    /// `Authorization`); state-changing methods then need the session's CSRF token.
    #[serde(default)]
    pub accept_session_cookie: bool,
}

/// The `allow = { … }` table of a route. Every non-empty list is a requirement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowConfig {
    /// At least one of these roles.
    #[serde(default)]
    pub roles_any: Vec<String>,
    /// Every one of these permissions.
    #[serde(default)]
    pub permissions_all: Vec<String>,
    /// At least one of these groups.
    #[serde(default)]
    pub groups_any: Vec<String>,
    /// At least one of these scopes.
    #[serde(default)]
    pub scopes_any: Vec<String>,
    /// Only tokens from these issuers (`gatehouse` or an `[[issuers]]` name); any when empty.
    #[serde(default)]
    pub issuers: Vec<String>,
}

/// One `[[issuers]]` entry: an external OpenID Connect provider whose access tokens are accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Name used in route policies and in `X-Auth-Issuer`.
    pub name: String,
    /// The exact `iss`, or a template containing `{tenantid}`; one or several.
    pub issuer: OneOrMany,
    /// Tenant GUIDs a `{tenantid}` template accepts.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// OpenID discovery document URL (gives `jwks_uri`).
    #[serde(default)]
    pub discovery_url: Option<String>,
    /// JWK Set URL, instead of discovery.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Accepted `aud` values; at least one.
    pub audiences: Vec<String>,
    /// Which claims carry the identity.
    #[serde(default)]
    pub claims: ClaimsConfig,
    /// External role or group → internal role.
    #[serde(default)]
    pub map_roles: BTreeMap<String, String>,
    /// The least time between two fetches of this issuer's keys (default `"30s"`): a flood of
    /// tokens with made-up `kid`s costs the provider at most one request per interval.
    #[serde(
        default = "default_min_refresh_interval",
        deserialize_with = "duration"
    )]
    pub min_refresh_interval: Duration,
}

fn default_min_refresh_interval() -> Duration {
    Duration::from_secs(30)
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one.clone()],
            Self::Many(many) => many.clone(),
        }
    }
}

/// Claim names for an external issuer; the defaults fit Entra ID and most OIDC providers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsConfig {
    /// The stable subject id (`sub`; `oid` for Entra ID).
    pub subject: String,
    /// The display user name.
    pub username: String,
    /// Roles (array of strings).
    pub roles: String,
    /// Groups (array of strings).
    pub groups: String,
    /// Scopes (space-separated string or array).
    pub scopes: String,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            username: "preferred_username".into(),
            roles: "roles".into(),
            groups: "groups".into(),
            scopes: "scp".into(),
        }
    }
}

/// Names of the identity headers and their size cap.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityHeadersConfig {
    /// Subject id header.
    pub subject: String,
    /// User name header.
    pub username: String,
    /// Comma-separated roles header.
    pub roles: String,
    /// Comma-separated groups header.
    pub groups: String,
    /// Comma-separated permissions header.
    pub permissions: String,
    /// Issuer name header.
    pub issuer: String,
    /// Upstream token header.
    pub token: String,
    /// Header naming the lists that were cut to fit `max_value_bytes`.
    pub truncated: String,
    /// Every incoming header starting with this prefix is removed, besides the names above.
    pub strip_prefix: String,
    /// Largest value of one identity header, in bytes; longer lists are cut at an item boundary.
    pub max_value_bytes: usize,
}

impl Default for IdentityHeadersConfig {
    fn default() -> Self {
        Self {
            subject: "X-Auth-Subject".into(),
            username: "X-Auth-Username".into(),
            roles: "X-Auth-Roles".into(),
            groups: "X-Auth-Groups".into(),
            permissions: "X-Auth-Permissions".into(),
            issuer: "X-Auth-Issuer".into(),
            token: "X-Auth-Token".into(),
            truncated: "X-Auth-Truncated".into(),
            strip_prefix: "X-Auth-".into(),
            max_value_bytes: 4096,
        }
    }
}

/// Upstream connection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// Time to establish a TCP connection to an upstream (e.g. `"2s"`).
    #[serde(deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Time from sending the request to receiving response headers (e.g. `"30s"`). Bodies
    /// stream without a deadline, so long server-sent-event streams are not cut.
    #[serde(deserialize_with = "duration")]
    pub read_timeout: Duration,
    /// Idle keep-alive connections kept per upstream host.
    pub max_idle_per_host: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(30),
            max_idle_per_host: 64,
        }
    }
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration like \"2s\" or \"500ms\": {e}"
        ))
    })
}
