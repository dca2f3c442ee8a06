//! Single sign-on with OpenID Connect providers ("Sign in with …"): the authorization code flow
//! with PKCE (S256), `state` and `nonce` checked, the ID token validated with the token core
//! against the provider's JWKS.
//!
//! `GET /ui/sso/{provider}` stores `state`, `nonce` and the PKCE verifier in a short-lived
//! private cookie and sends the browser to the provider; the callback checks them, exchanges
//! the code, validates the ID token, then signs in the local user linked to the provider's
//! `sub` — creating one on the first sign-in — after granting the local roles the provider's
//! roles and groups map to. The provider's refresh token, when it issues one, is kept sealed
//! with the browser session and used whenever the session renews its own token: a provider
//! that refuses it (the account was disabled there) ends the session.
//!
//! An existing password account is never merged into by e-mail or username: that would let
//! whoever controls a provider account take over a local one.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_auth::{AuthError, NewAccount, Username};
use gatehouse_store::{StoreError, UserId};
use gatehouse_token::{Claims, KeySet, UnixTime, Validation, Verifier};
use reqwest::Client;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use crate::config::web::OidcProviderConfig;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::extract::Visitor;
use crate::web::headers::cookie;
use crate::web::pages::sign_in::start_session;
use crate::web::secrets::{random_token, sha256_hex};

/// The cookie carrying one sign-in attempt (`state`, `nonce`, PKCE verifier).
const FLOW_COOKIE: &str = "gatehouse_sso";
/// How long a sign-in at the provider may take.
const FLOW_LIFETIME: time::Duration = time::Duration::minutes(10);
/// Clock skew tolerated on ID tokens.
const LEEWAY_SECS: u64 = 60;

/// What a provider publishes at `/.well-known/openid-configuration`, with its keys.
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    keys: KeySet,
}

/// One configured provider and its metadata, fetched on first use and again when an ID token
/// is signed by a key it does not know yet.
struct Provider {
    config: OidcProviderConfig,
    metadata: RwLock<Option<Arc<Metadata>>>,
}

/// The configured providers.
pub struct Providers {
    entries: Vec<Provider>,
    http: Client,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|p| &p.config.name))
            .finish()
    }
}

/// Why talking to a provider failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The provider could not be reached or answered with something unusable.
    #[error("the identity provider could not be used: {0}")]
    Unavailable(String),
    /// The provider refused the request (bad code, revoked refresh token).
    #[error("the identity provider refused: {0}")]
    Refused(String),
    /// The ID token did not validate.
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    refresh_token: Option<String>,
}

impl Providers {
    /// The providers of the config; nothing is fetched yet.
    pub fn new(configs: &[OidcProviderConfig], http: Client) -> Self {
        Self {
            entries: configs
                .iter()
                .map(|config| Provider {
                    config: config.clone(),
                    metadata: RwLock::new(None),
                })
                .collect(),
            http,
        }
    }

    fn get(&self, name: &str) -> Option<&Provider> {
        self.entries.iter().find(|p| p.config.name == name)
    }

    async fn metadata(
        &self,
        provider: &Provider,
        reload: bool,
    ) -> Result<Arc<Metadata>, OidcError> {
        if !reload && let Some(metadata) = provider.metadata.read().await.as_ref() {
            return Ok(Arc::clone(metadata));
        }
        let mut slot = provider.metadata.write().await;
        let issuer = provider.config.issuer.issuer();
        let url = format!("{issuer}/.well-known/openid-configuration");
        let discovery: Discovery = self.get_json(&url).await?;
        if discovery.issuer.trim_end_matches('/') != issuer {
            return Err(OidcError::Unavailable(format!(
                "the discovery document names the issuer {} instead of {issuer}",
                discovery.issuer
            )));
        }
        let jwks: serde_json::Value = self.get_json(&discovery.jwks_uri).await?;
        let keys = KeySet::from_jwks_json(&jwks.to_string())
            .map_err(|e| OidcError::Unavailable(format!("the provider's JWKS is unusable: {e}")))?;
        let metadata = Arc::new(Metadata {
            issuer: discovery.issuer,
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            keys,
        });
        *slot = Some(Arc::clone(&metadata));
        Ok(metadata)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(OidcError::Unavailable(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))
    }

    async fn token_request(
        &self,
        provider: &Provider,
        metadata: &Metadata,
        mut form: Vec<(&str, String)>,
    ) -> Result<TokenAnswer, OidcError> {
        form.push(("client_id", provider.config.client_id.clone()));
        if let Some(secret) = &provider.config.client_secret {
            form.push(("client_secret", secret.expose_secret().to_owned()));
        }
        let response = self
            .http
            .post(&metadata.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_client_error() {
            let body = response.text().await.unwrap_or_default();
            return Err(OidcError::Refused(body.chars().take(200).collect()));
        }
        if !status.is_success() {
            return Err(OidcError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        response
            .json()
            .await
            .map_err(|e| OidcError::Unavailable(format!("token endpoint: {e}")))
    }

    /// Validates an ID token: signature with the provider's keys (fetched again once when the
    /// key is unknown), `iss`, `aud` = our client id, `exp`/`nbf`/`iat`, a `sub`, and — at
    /// sign-in — the `nonce` we sent.
    async fn validate_id_token(
        &self,
        provider: &Provider,
        id_token: &str,
        nonce: Option<&str>,
        now: UnixTime,
    ) -> Result<Claims, OidcError> {
        let mut metadata = self.metadata(provider, false).await?;
        let mut reloaded = false;
        let claims = loop {
            let validation = Validation::new()
                .with_issuers([metadata.issuer.clone()])
                .with_audiences([provider.config.client_id.clone()])
                .with_leeway(LEEWAY_SECS)
                .with_required_claims(["exp", "iat", "sub"]);
            match Verifier::new(metadata.keys.clone(), validation).verify(id_token, now) {
                Ok(verified) => break verified.claims,
                Err(rejection) if !reloaded => {
                    tracing::debug!(
                        reason = rejection.reason.as_str(),
                        "ID token refused; reloading the provider's keys"
                    );
                    metadata = self.metadata(provider, true).await?;
                    reloaded = true;
                }
                Err(rejection) => {
                    return Err(OidcError::InvalidIdToken(format!(
                        "{}: {}",
                        rejection.reason.as_str(),
                        rejection.detail
                    )));
                }
            }
        };
        if let Some(expected) = nonce {
            let presented = claims.get_str("nonce").unwrap_or("");
            if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(OidcError::InvalidIdToken(String::from(
                    "the nonce does not match",
                )));
            }
        }
        Ok(claims)
    }

    /// Renews the provider's refresh token for a session signed in through `name`. Answers the
    /// rotated refresh token (or the same one when the provider does not rotate);
    /// [`OidcError::Refused`] means the provider ended the user's session.
    pub async fn refresh(
        &self,
        name: &str,
        refresh_token: &str,
        now: UnixTime,
    ) -> Result<String, OidcError> {
        let provider = self.get(name).ok_or_else(|| {
            OidcError::Refused(format!("provider {name} is no longer configured"))
        })?;
        let metadata = self.metadata(provider, false).await?;
        let answer = self
            .token_request(
                provider,
                &metadata,
                vec![
                    ("grant_type", String::from("refresh_token")),
                    ("refresh_token", refresh_token.to_owned()),
                ],
            )
            .await?;
        if let Some(id_token) = &answer.id_token {
            self.validate_id_token(provider, id_token, None, now)
                .await?;
        }
        Ok(answer
            .refresh_token
            .unwrap_or_else(|| refresh_token.to_owned()))
    }
}

/// One sign-in attempt, kept in the private flow cookie.
#[derive(Serialize, Deserialize)]
struct Flow {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    expires: i64,
}

fn flow_cookie_jar(state: &AppState, headers: &HeaderMap) -> PrivateCookieJar {
    PrivateCookieJar::from_headers(headers, state.web().keys().cookie().clone())
}

fn redirect_uri(state: &AppState, provider: &str) -> String {
    state
        .public_url()
        .join(&format!("/ui/sso/{provider}/callback"))
}

/// `GET /ui/sso/{provider}`: starts the sign-in at the provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let providers = state.web().providers();
    let provider = providers
        .get(&name)
        .ok_or_else(|| PageError::NotFound(format!("There is no sign-in provider \"{name}\".")))?;
    let metadata = providers
        .metadata(provider, false)
        .await
        .map_err(unavailable)?;
    let flow = Flow {
        provider: name.clone(),
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        expires: (state.now() + FLOW_LIFETIME).unix_timestamp(),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.as_bytes()));
    let mut scopes = vec![String::from("openid")];
    scopes.extend(provider.config.scopes.iter().cloned());
    let mut url = url::Url::parse(&metadata.authorization_endpoint)
        .map_err(|e| unavailable(OidcError::Unavailable(e.to_string())))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.config.client_id)
        .append_pair("redirect_uri", &redirect_uri(&state, &name))
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let value = serde_json::to_string(&flow).map_err(|e| PageError::Api(ApiError::internal(e)))?;
    let jar = flow_cookie_jar(&state, &headers).add(cookie(
        FLOW_COOKIE,
        value,
        state.public_url().is_https(),
    ));
    Ok((jar, Redirect::to(url.as_str())).into_response())
}

fn unavailable(error: OidcError) -> PageError {
    tracing::warn!(error = %error, "single sign-on failed");
    PageError::Api(ApiError::with_status(
        axum::http::StatusCode::BAD_GATEWAY,
        crate::error::ProblemCode::new("provider_unavailable"),
        "The sign-in provider cannot be reached right now. Try again in a moment.",
    ))
}

/// What the provider sends back to the callback.
#[derive(Debug, Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// `GET /ui/sso/{provider}/callback`: finishes the sign-in.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    visitor: Visitor,
    Query(answer): Query<Callback>,
) -> Result<Response, PageError> {
    let jar = flow_cookie_jar(&state, &headers);
    let flow: Flow = jar
        .get(FLOW_COOKIE)
        .and_then(|c| serde_json::from_str(c.value()).ok())
        .ok_or_else(|| {
            PageError::BadRequest(String::from(
                "This sign-in has expired or was started in another browser. Start again.",
            ))
        })?;
    let expired = flow.expires < state.now().unix_timestamp();
    let state_ok = answer
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(flow.state.as_bytes())));
    if flow.provider != name || !state_ok || expired {
        return Err(PageError::BadRequest(String::from(
            "This sign-in answer does not belong to the sign-in this browser started. Start again.",
        )));
    }
    if let Some(error) = answer.error {
        let detail = answer.error_description.unwrap_or_default();
        return Err(PageError::Forbidden(format!(
            "The provider did not sign you in: {error} {detail}"
        )));
    }
    let code = answer
        .code
        .ok_or_else(|| PageError::BadRequest(String::from("The provider sent no code.")))?;
    let providers = state.web().providers();
    let provider = providers
        .get(&name)
        .ok_or_else(|| PageError::NotFound(format!("There is no sign-in provider \"{name}\".")))?;
    let metadata = providers
        .metadata(provider, false)
        .await
        .map_err(unavailable)?;
    let tokens = providers
        .token_request(
            provider,
            &metadata,
            vec![
                ("grant_type", String::from("authorization_code")),
                ("code", code),
                ("redirect_uri", redirect_uri(&state, &name)),
                ("code_verifier", flow.verifier.clone()),
            ],
        )
        .await
        .map_err(refused)?;
    let id_token = tokens.id_token.ok_or_else(|| {
        refused(OidcError::InvalidIdToken(String::from(
            "no id_token in the answer",
        )))
    })?;
    let now = UnixTime::from_secs(state.now().unix_timestamp());
    let claims = providers
        .validate_id_token(provider, &id_token, Some(&flow.nonce), now)
        .await
        .map_err(refused)?;

    let user = local_user(&state, &provider.config, &claims, &visitor).await?;
    grant_mapped_roles(&state, &provider.config, &claims, user).await?;
    let signer = state.keys().signer();
    let issued = match state
        .auth()
        .login_external(user, &name, &signer, &visitor.client, state.now())
        .await
    {
        Ok(issued) => issued,
        Err(AuthError::InvalidCredentials) => {
            return Err(PageError::Forbidden(String::from(
                "This account is disabled.",
            )));
        }
        Err(other) => return Err(other.into()),
    };
    let response =
        start_session(&state, &headers, issued, Some((name, tokens.refresh_token))).await?;
    let cleared = flow_cookie_jar(&state, &headers).remove(Cookie::build(FLOW_COOKIE).path("/"));
    Ok((cleared, response).into_response())
}

fn refused(error: OidcError) -> PageError {
    match error {
        OidcError::Unavailable(_) => unavailable(error),
        other => {
            tracing::warn!(error = %other, "single sign-on refused");
            PageError::Forbidden(String::from(
                "The sign-in could not be completed: the provider's answer was not valid. Start again.",
            ))
        }
    }
}

/// The local user linked to the provider's `sub`, created and linked on the first sign-in.
async fn local_user(
    state: &AppState,
    provider: &OidcProviderConfig,
    claims: &Claims,
    visitor: &Visitor,
) -> Result<UserId, PageError> {
    let subject = claims
        .subject()
        .ok_or_else(|| refused(OidcError::InvalidIdToken(String::from("no sub"))))?;
    let store = state.store();
    if let Some(user) = store.external_identity(&provider.name, subject).await? {
        return Ok(user);
    }
    let wanted = claims
        .get_str("preferred_username")
        .or_else(|| claims.get_str("email"))
        .and_then(|name| Username::parse(name).ok())
        .map(|name| name.as_str().to_owned());
    let fallback = format!("{}-{}", provider.name, &sha256_hex(subject)[..10]);
    let email = claims.get_str("email").map(str::to_owned);
    let actor = format!("sso:{}", provider.name);
    for username in wanted.into_iter().chain([fallback]) {
        // Nobody knows this password: the account signs in through the provider only, until
        // an administrator sets one.
        let account = NewAccount {
            username,
            password: SecretString::from(random_token()),
            email: email.clone(),
        };
        let created = state
            .auth()
            .create_account(account, &[], Some(&actor), &visitor.client, state.now())
            .await;
        let created = match created {
            Ok(account) => account,
            Err(AuthError::UsernameTaken | AuthError::InvalidUsername(_)) => continue,
            Err(AuthError::InvalidEmail(_)) => {
                let account = NewAccount {
                    username: format!("{}-{}", provider.name, &sha256_hex(subject)[..10]),
                    password: SecretString::from(random_token()),
                    email: None,
                };
                state
                    .auth()
                    .create_account(account, &[], Some(&actor), &visitor.client, state.now())
                    .await?
            }
            Err(other) => return Err(other.into()),
        };
        match store
            .link_external_identity(&provider.name, subject, created.id, state.now())
            .await
        {
            Ok(()) => return Ok(created.id),
            // Another sign-in of the same person won the race; use its link.
            Err(StoreError::Conflict { .. }) => {
                store.delete_user(created.id, state.now()).await?;
                if let Some(user) = store.external_identity(&provider.name, subject).await? {
                    return Ok(user);
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(PageError::Api(ApiError::internal(AuthError::UsernameTaken)))
}

/// Grants the configured default roles and the local roles the provider's roles and groups map
/// to. Roles are only added here; removing one stays an administrator's decision.
async fn grant_mapped_roles(
    state: &AppState,
    provider: &OidcProviderConfig,
    claims: &Claims,
    user: UserId,
) -> Result<(), PageError> {
    let mut roles: BTreeSet<&str> = provider.default_roles.iter().map(String::as_str).collect();
    let external = claims
        .string_list(&provider.roles_claim)
        .into_iter()
        .chain(claims.string_list(&provider.groups_claim));
    for name in external {
        if let Some(local) = provider.map_roles.get(name) {
            roles.insert(local);
        }
    }
    for role in roles {
        match state.store().grant_user_role(user, role).await {
            Ok(()) => {}
            Err(StoreError::NotFound { .. }) => {
                tracing::warn!(role, provider = %provider.name, "a mapped role does not exist; create it");
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}
