//! A stand-in OpenID Connect provider for browser sign-in, started by a test on `127.0.0.1:0`:
//! discovery, an authorization endpoint that signs the configured person in at once (no login
//! form), a token endpoint for the code (checking PKCE S256, `redirect_uri` and the client) and
//! refresh grants, and its JWK Set. ID tokens are ES256 and carry the `nonce` the client sent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_token::{Algorithm, JwkSet, KeyId, SigningKey};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The client id the provider accepts.
pub const SSO_CLIENT_ID: &str = "gatehouse-web";
/// The client secret the provider accepts.
pub const SSO_CLIENT_SECRET: &str = "stand-in-client-secret";

struct Grant {
    nonce: Option<String>,
    challenge: String,
    redirect_uri: String,
}

struct Inner {
    key: SigningKey,
    issuer: String,
    person: Mutex<Map<String, Value>>,
    codes: Mutex<HashMap<String, Grant>>,
    refresh_tokens: Mutex<HashMap<String, ()>>,
    refuse_refresh: AtomicBool,
    refreshes: AtomicU64,
    now: Mutex<i64>,
}

/// A running stand-in provider.
#[derive(Clone)]
pub struct SsoProvider {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SsoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoProvider")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

impl SsoProvider {
    /// Starts the provider. `person` holds the claims of whoever signs in (`sub`,
    /// `preferred_username`, `email`, `roles`, `groups`, …); `now` is the time its tokens are
    /// issued at (the test's clock).
    ///
    /// # Panics
    /// When no port can be bound.
    #[allow(
        clippy::expect_used,
        reason = "test support: a failed set-up fails the test"
    )]
    pub async fn start(person: Value, now: i64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stand-in provider");
        let addr: SocketAddr = listener.local_addr().expect("local address");
        let key = SigningKey::generate(Algorithm::Es256)
            .expect("generate an ES256 key")
            .with_kid(KeyId::new("sso-key-1").expect("a valid kid"));
        let inner = Arc::new(Inner {
            key,
            issuer: format!("http://{addr}"),
            person: Mutex::new(person.as_object().cloned().unwrap_or_default()),
            codes: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            refuse_refresh: AtomicBool::new(false),
            refreshes: AtomicU64::new(0),
            now: Mutex::new(now),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(Arc::clone(&inner));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { inner }
    }

    /// The issuer URL (`http://127.0.0.1:<port>`).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// From now on, refresh grants are refused (the account was disabled at the provider).
    pub fn refuse_refresh(&self) {
        self.inner.refuse_refresh.store(true, Ordering::SeqCst);
    }

    /// How many refresh grants were answered.
    pub fn refreshes(&self) -> u64 {
        self.inner.refreshes.load(Ordering::SeqCst)
    }

    /// Sets the time new tokens are issued at.
    pub fn set_now(&self, now: i64) {
        if let Ok(mut slot) = self.inner.now.lock() {
            *slot = now;
        }
    }
}

async fn discovery(State(inner): State<Arc<Inner>>) -> Json<Value> {
    let issuer = &inner.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(inner): State<Arc<Inner>>) -> Json<JwkSet> {
    Json(JwkSet {
        keys: inner.key.public_jwk().into_iter().collect(),
    })
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    code_challenge: String,
    code_challenge_method: String,
    scope: String,
}

async fn authorize(State(inner): State<Arc<Inner>>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.client_id != SSO_CLIENT_ID
        || q.code_challenge_method != "S256"
        || !q.scope.split(' ').any(|s| s == "openid")
    {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    if let Ok(mut codes) = inner.codes.lock() {
        codes.insert(
            code.clone(),
            Grant {
                nonce: q.nonce,
                challenge: q.code_challenge,
                redirect_uri: q.redirect_uri.clone(),
            },
        );
    }
    let mut target = match url::Url::parse(&q.redirect_uri) {
        Ok(url) => url,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response(),
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q.state);
    Redirect::to(target.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: String,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

fn invalid_grant() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_grant" })),
    )
        .into_response()
}

async fn token(State(inner): State<Arc<Inner>>, Form(form): Form<TokenForm>) -> Response {
    if form.client_id != SSO_CLIENT_ID || form.client_secret.as_deref() != Some(SSO_CLIENT_SECRET) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let nonce = match form.grant_type.as_str() {
        "authorization_code" => {
            let grant = form
                .code
                .as_deref()
                .and_then(|code| inner.codes.lock().ok()?.remove(code));
            let Some(grant) = grant else {
                return invalid_grant();
            };
            let verifier = form.code_verifier.unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != grant.challenge
                || form.redirect_uri.as_deref() != Some(&grant.redirect_uri)
            {
                return invalid_grant();
            }
            grant.nonce
        }
        "refresh_token" => {
            let known = form
                .refresh_token
                .as_deref()
                .is_some_and(|t| inner.refresh_tokens.lock().is_ok_and(|m| m.contains_key(t)));
            if !known || inner.refuse_refresh.load(Ordering::SeqCst) {
                return invalid_grant();
            }
            inner.refreshes.fetch_add(1, Ordering::SeqCst);
            None
        }
        _ => return invalid_grant(),
    };
    let now = inner.now.lock().map(|n| *n).unwrap_or_default();
    let mut claims = inner.person.lock().map(|p| p.clone()).unwrap_or_default();
    claims.insert("iss".into(), json!(inner.issuer));
    claims.insert("aud".into(), json!(SSO_CLIENT_ID));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 3600));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let Ok(id_token) = inner.key.sign(None, &claims) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let refresh_token = format!("provider-refresh-{}", uuid::Uuid::new_v4().simple());
    if let Ok(mut tokens) = inner.refresh_tokens.lock() {
        tokens.insert(refresh_token.clone(), ());
    }
    Json(json!({
        "access_token": "opaque-provider-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token,
        "refresh_token": refresh_token,
    }))
    .into_response()
}
