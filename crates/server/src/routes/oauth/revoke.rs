//! `POST /oauth/revoke` (RFC 7009).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gatehouse_auth::{AccessClaims, client_actor};

use super::{OAuthError, OAuthForm, client_credentials};
use crate::extract::ClientInfo;
use crate::state::AppState;

/// Revokes a refresh token (its whole session) or an access token (its `jti`). Answers 200
/// whether or not the token was known (RFC 7009 §2.2): the caller learns nothing about other
/// people's tokens.
///
/// Credentials are optional, since public clients (browsers, apps) have none; if sent they
/// must be valid. Holding a token is enough to revoke it, which can only shorten its life.
pub async fn revoke(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<StatusCode, OAuthError> {
    let now = state.now();
    let actor = match client_credentials(&headers, &form)? {
        Some(credentials) => {
            let verified = state
                .auth()
                .authenticate_client(&credentials.client_id, &credentials.secret, &client, now)
                .await?;
            client_actor(&verified.client_id)
        }
        None => String::from("anonymous"),
    };
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;

    // The hint only orders the search (RFC 7009 §2.1); the token's shape decides, since an
    // opaque refresh token never contains a dot and a JWT always does.
    if token.contains('.') {
        // A token that no longer verifies (expired, unknown key) cannot be used anyway.
        if let Ok(verified) = state.keys().verify(token, now).await
            && let Ok(claims) = AccessClaims::from_verified(verified.claims.as_map())
        {
            state
                .auth()
                .revoke_access_token(&claims, &actor, &client, now)
                .await?;
        }
    } else {
        state
            .auth()
            .revoke_refresh_token(token, &actor, &client, now)
            .await?;
    }
    Ok(StatusCode::OK)
}
