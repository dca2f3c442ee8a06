//! Who is calling: [`AuthenticatedUser`] verifies the Gatehouse access token in the
//! `Authorization: Bearer` header; [`RequirePermission`] additionally demands a permission.
//! [`ClientInfo`] carries the caller's address and user agent for sessions and the audit log.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::{HeaderMap, header, request::Parts};
use gatehouse_auth::{AccessClaims, AuthError, ClientContext, TokenSubject, client_actor};
use gatehouse_store::UserId;
use gatehouse_token::Rejection;

use crate::error::ApiError;
use crate::state::AppState;

/// Why a bearer token was not accepted. Typed so that other front ends (the gateway) can map it
/// to their own outcomes; the server maps it with `From<TokenError> for ApiError`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No `Authorization` header.
    #[error("no bearer token")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header is not `Bearer <token>`")]
    MalformedHeader,
    /// The signature or a claim did not verify.
    #[error("{0}")]
    Rejected(Rejection),
    /// The claims are not those of a Gatehouse access token.
    #[error("the token is not a Gatehouse access token")]
    NotAnAccessToken,
    /// The token was revoked (logout, session revoked, account disabled or deleted).
    #[error("the token has been revoked")]
    Revoked,
    /// The revocation check could not reach the store.
    #[error("checking the token's revocation failed")]
    Unavailable(#[source] AuthError),
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Missing => ApiError::missing_token(),
            TokenError::Rejected(rejection) => ApiError::invalid_token(format!(
                "{}: {}",
                rejection.reason.as_str(),
                rejection.detail
            )),
            TokenError::Unavailable(source) => ApiError::internal(source),
            other => ApiError::invalid_token(other.to_string()),
        }
    }
}

/// The verified caller of a request: a user (through a login session) or a service client
/// (`client_credentials`). Extracting it answers 401 with a Bearer challenge when the token is
/// missing, invalid, expired or revoked.
///
/// Permissions, roles and groups are those in the token (issued at most one access TTL ago);
/// revocation is checked against the store on every request.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser {
    /// Whose token it is.
    pub subject: TokenSubject,
    /// The verified claims.
    pub claims: AccessClaims,
}

impl AuthenticatedUser {
    /// The user id, for a user token.
    pub fn user_id(&self) -> Option<UserId> {
        match &self.subject {
            TokenSubject::User { id, .. } => Some(*id),
            TokenSubject::Client { .. } => None,
        }
    }

    /// The audit actor: the user id, or `client:<client_id>`.
    pub fn actor(&self) -> String {
        match &self.subject {
            TokenSubject::User { id, .. } => id.to_string(),
            TokenSubject::Client { client_id } => client_actor(client_id),
        }
    }

    /// Whether the token carries `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.claims.permissions.iter().any(|p| p == permission)
    }
}

impl AppState {
    /// Verifies a bearer token: signature with the key ring (typ `at+jwt`, issuer, audience,
    /// expiry), then revocation (`jti`, logout-all, session, account or client disabled).
    pub async fn authenticate(&self, token: &str) -> Result<AuthenticatedUser, TokenError> {
        let verified = self
            .keys()
            .verify(token, self.now())
            .await
            .map_err(TokenError::Rejected)?;
        let claims = AccessClaims::from_verified(verified.claims.as_map())
            .map_err(|_| TokenError::NotAnAccessToken)?;
        let subject = match self.auth().check_access_token(&claims).await {
            Ok(subject) => subject,
            Err(AuthError::SessionEnded) => return Err(TokenError::Revoked),
            Err(other) => return Err(TokenError::Unavailable(other)),
        };
        Ok(AuthenticatedUser { subject, claims })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, TokenError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(TokenError::Missing);
    };
    let value = value.to_str().map_err(|_| TokenError::MalformedHeader)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::MalformedHeader)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(TokenError::MalformedHeader);
    }
    Ok(token)
}

impl<S> FromRequestParts<S> for AuthenticatedUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthenticatedUser>() {
            return Ok(user.clone());
        }
        let state = AppState::from_ref(state);
        let token = bearer_token(&parts.headers)?;
        let user = state.authenticate(token).await?;
        // Later extractors on the same request (e.g. RequirePermission after
        // AuthenticatedUser) reuse the result instead of verifying twice.
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// A permission an endpoint requires, as a type (so it can parameterise [`RequirePermission`]).
pub trait Permission: Send + Sync + 'static {
    /// The permission string, e.g. `gatehouse:admin`.
    const NAME: &'static str;
}

/// The permission of the `/admin` API, held by the built-in `admin` role.
#[derive(Debug, Clone, Copy)]
pub struct GatehouseAdmin;

impl Permission for GatehouseAdmin {
    const NAME: &'static str = gatehouse_store::ADMIN_PERMISSION;
}

/// An authenticated caller holding permission `P`; 403 naming the permission otherwise.
#[derive(Debug, Clone)]
pub struct RequirePermission<P: Permission> {
    /// The caller.
    pub user: AuthenticatedUser,
    _permission: PhantomData<P>,
}

/// The caller of an `/admin` endpoint.
pub type AdminUser = RequirePermission<GatehouseAdmin>;

impl<S, P> FromRequestParts<S> for RequirePermission<P>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    P: Permission,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = AuthenticatedUser::from_request_parts(parts, state).await?;
        if !user.has_permission(P::NAME) {
            return Err(ApiError::forbidden(format!(
                "this needs the permission \"{}\"",
                P::NAME
            )));
        }
        Ok(Self {
            user,
            _permission: PhantomData,
        })
    }
}

/// The client's address and user agent, for sessions, throttling and the audit log.
///
/// The address is the TCP peer; a proxy in front of Gatehouse shows up as that proxy.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo(pub ClientContext);

impl ClientInfo {
    /// The client address as text.
    pub fn ip(&self) -> Option<String> {
        self.0.ip.clone()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        Ok(Self(ClientContext { ip, user_agent }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn a_bearer_header_yields_its_token_whatever_the_scheme_case() {
        assert_eq!(
            bearer_token(&headers("Bearer abc.def.ghi")).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(&headers("bearer abc")).unwrap(), "abc");
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_malformed() {
        for value in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "abc",
        ] {
            assert!(
                matches!(
                    bearer_token(&headers(value)),
                    Err(TokenError::MalformedHeader)
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn no_header_is_missing() {
        assert!(matches!(
            bearer_token(&HeaderMap::new()),
            Err(TokenError::Missing)
        ));
    }
}
