//! A stand-in OpenID Connect provider shaped like Microsoft Entra ID, started by a test on
//! `127.0.0.1:0`: a discovery document, a JWK Set (with Entra's per-key `issuer` member),
//! key rotation, an outage switch, and Entra-shaped v1 and v2 access tokens.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_server::config::gateway::{ClaimsConfig, IssuerConfig, OneOrMany};
use gatehouse_token::{Algorithm, JwkSet, SigningKey};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;

/// The tenant the provider's tokens belong to.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// A second, also well-formed tenant (not allowed by [`OidcProvider::issuer_config`]).
pub const OTHER_TENANT: &str = "11111111-2222-3333-4444-555555555555";
/// The API's application (client) id, the `aud` of v2 tokens.
pub const API_CLIENT_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// The API's application id URI, the `aud` of v1 tokens.
pub const API_APP_ID_URI: &str = "api://gatehouse-tests";
/// The `oid` of the user the tokens are issued to.
pub const USER_OID: &str = "12345678-1234-1234-1234-123456789abc";

struct Keys {
    /// Published, newest last; the last one signs.
    published: Vec<SigningKey>,
}

struct ProviderState {
    keys: Mutex<Keys>,
    down: AtomicBool,
    jwks_requests: AtomicU64,
}

/// A running stand-in provider. Dropping it does not stop the listener task; each test starts
/// its own on a fresh port.
#[derive(Clone)]
pub struct OidcProvider {
    addr: SocketAddr,
    state: Arc<ProviderState>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Starts the provider with one RS256 key.
    ///
    /// # Panics
    /// When no port can be bound or no key generated.
    pub async fn start() -> Self {
        let state = Arc::new(ProviderState {
            keys: Mutex::new(Keys {
                published: vec![new_key()],
            }),
            down: AtomicBool::new(false),
            jwks_requests: AtomicU64::new(0),
        });
        let router = Router::new()
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/common/discovery/v2.0/keys", get(jwks))
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the provider");
        let addr = listener.local_addr().expect("provider address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, state }
    }

    /// The discovery document URL (`…/{tenant}/v2.0/.well-known/openid-configuration`).
    pub fn discovery_url(&self) -> String {
        format!(
            "http://{}/{TENANT}/v2.0/.well-known/openid-configuration",
            self.addr
        )
    }

    /// The JWK Set URL.
    pub fn jwks_uri(&self) -> String {
        format!("http://{}/common/discovery/v2.0/keys", self.addr)
    }

    /// An `[[issuers]]` entry named `entra` trusting this provider the way an Entra-protected
    /// API would: v1 and v2 issuer templates, [`TENANT`] allowed, `oid` as the subject, and
    /// group `group-admins` mapped to the role `Admin`.
    pub fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig {
            name: "entra".into(),
            issuer: OneOrMany::Many(vec![
                "https://login.microsoftonline.com/{tenantid}/v2.0".into(),
                "https://sts.windows.net/{tenantid}/".into(),
            ]),
            tenants: vec![TENANT.into()],
            discovery_url: Some(self.discovery_url()),
            jwks_uri: None,
            audiences: vec![API_CLIENT_ID.into(), API_APP_ID_URI.into()],
            claims: ClaimsConfig {
                subject: "oid".into(),
                ..ClaimsConfig::default()
            },
            map_roles: [("group-admins".to_owned(), "Admin".to_owned())].into(),
            // Tests rotate keys right after start-up; production keeps the 30 s default.
            min_refresh_interval: std::time::Duration::ZERO,
        }
    }

    /// Publishes a new signing key (the old ones stay published) and signs with it from now on.
    pub fn rotate(&self) {
        self.keys().published.push(new_key());
    }

    /// Unpublishes every key but the current signing key.
    pub fn retire_old_keys(&self) {
        let mut keys = self.keys();
        let keep = keys.published.len().saturating_sub(1);
        keys.published.drain(..keep);
    }

    /// Makes every endpoint answer 503 (`true`) or work again (`false`).
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// How many times the JWK Set was requested.
    pub fn jwks_requests(&self) -> u64 {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    /// An Entra v2 access token for [`USER_OID`] in [`TENANT`], valid for an hour from `now`;
    /// `overrides` replaces or adds claims (a `null` removes one).
    pub fn v2_token(&self, now: OffsetDateTime, overrides: Value) -> String {
        let iat = now.unix_timestamp();
        let claims = json!({
            "aud": API_CLIENT_ID,
            "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            "iat": iat, "nbf": iat, "exp": iat + 3600,
            "aio": "AXQAi/8TAAAA",
            "azp": "0b1f4a3e-2222-4444-8888-000000000001",
            "name": "John Doe",
            "oid": USER_OID,
            "preferred_username": "john.doe@example.com",
            "roles": ["Reader"],
            "groups": ["group-admins", "group-staff"],
            "scp": "access_as_user reports.read",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "tid": TENANT,
            "uti": "fqiBqXLPj0eQa82S-IYFAA",
            "ver": "2.0",
        });
        self.sign(merge(claims, overrides))
    }

    /// An Entra v1 access token (`iss` `https://sts.windows.net/{tid}/`, `aud` the app id URI).
    pub fn v1_token(&self, now: OffsetDateTime, overrides: Value) -> String {
        let v1 = json!({
            "aud": API_APP_ID_URI,
            "iss": format!("https://sts.windows.net/{TENANT}/"),
            "ver": "1.0",
            "unique_name": "john.doe@example.com",
        });
        self.v2_token(now, Value::Object(merge(v1, overrides)))
    }

    /// Signs arbitrary claims with the current key (header `typ: JWT`, `alg: RS256`, `kid`).
    pub fn sign(&self, claims: Map<String, Value>) -> String {
        let keys = self.keys();
        let key = keys
            .published
            .last()
            .expect("the provider always has a key");
        key.sign(Some("JWT"), &claims).expect("signing works")
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.state
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn new_key() -> SigningKey {
    SigningKey::generate(Algorithm::Rs256).expect("RSA key generation")
}

/// `base` with `overrides` applied: members replaced, `null` members removed.
fn merge(base: Value, overrides: Value) -> Map<String, Value> {
    let mut map = match base {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Value::Object(overrides) = overrides {
        for (name, value) in overrides {
            if value.is_null() {
                map.remove(&name);
            } else {
                map.insert(name, value);
            }
        }
    }
    map
}

async fn discovery(
    State(state): State<Arc<ProviderState>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    axum::Json(json!({
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
        "jwks_uri": format!("http://{host}/common/discovery/v2.0/keys"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint": format!("http://{host}/common/oauth2/v2.0/token"),
    }))
    .into_response()
}

async fn jwks(State(state): State<Arc<ProviderState>>) -> Response {
    state.jwks_requests.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = state
        .keys
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Entra publishes RSA keys without `alg`, with `x5t` and the common-endpoint `issuer`.
    let set = JwkSet {
        keys: keys
            .published
            .iter()
            .filter_map(|key| {
                let mut jwk = key.public_jwk()?;
                jwk.alg = None;
                jwk.key_use = Some("sig".into());
                jwk.other.insert(
                    "issuer".into(),
                    "https://login.microsoftonline.com/{tenantid}/v2.0".into(),
                );
                Some(jwk)
            })
            .collect(),
    };
    let mut response = axum::Json(set).into_response();
    response.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("max-age=86400, private"),
    );
    response
}
