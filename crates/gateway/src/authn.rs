//! The authenticate stage: turns a Bearer token into a [`Subject`] or a [`Denial`].
//!
//! Gatehouse's own tokens are verified by the server through [`LocalTokens`] (it owns the keys
//! and the revocation data, so this crate needs no store); tokens of trusted external issuers
//! are verified here with the issuer's [`KeyCache`].

use std::sync::Arc;

use futures_util::future::BoxFuture;
use gatehouse_token::{Claims, Reason, UnixTime};
use serde_json::Value;

use crate::denial::Denial;
use crate::issuer::TrustedIssuer;
use crate::jwks::KeyCache;
use crate::subject::Subject;

/// The outcome of one authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// The credential is valid.
    Authenticated(Arc<Subject>),
    /// This authenticator does not handle the credential (another issuer's token).
    NotApplicable,
    /// The credential is this authenticator's and is refused.
    Denied(Denial),
}

/// A Gatehouse access token whose signature and claims verified.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalToken {
    /// Who it was issued to.
    pub subject: Subject,
    /// `exp`: the verified-token cache keeps it no longer than this.
    pub expires_at: UnixTime,
    /// `jti`, for revocation by token id.
    pub token_id: Option<String>,
    /// `iat`, for revocation of every token issued before a logout-all.
    pub issued_at: Option<UnixTime>,
    /// The verified claims, for the implementor's own revocation check.
    pub claims: Claims,
}

/// Verification of Gatehouse's own access tokens, implemented by the server.
pub trait LocalTokens: Send + Sync {
    /// The `iss` of Gatehouse access tokens; tokens claiming it go to [`LocalTokens::verify`].
    fn issuer(&self) -> &str;

    /// Verifies signature, type and claims; no revocation check (that runs on every request,
    /// including cached ones, through [`LocalTokens::check_revocation`]). Asynchronous because
    /// an unknown `kid` may make the implementor reload its keys.
    fn verify<'a>(
        &'a self,
        token: &'a str,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<LocalToken, Denial>>;

    /// `Ok(())` unless the token was revoked ([`Denial::Revoked`]) or revocation cannot be
    /// checked ([`Denial::RevocationUnavailable`]: fail closed).
    fn check_revocation<'a>(
        &'a self,
        token: &'a LocalToken,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Denial>>;
}

/// Verifies a token of an external issuer: signature and `iss`/`aud`/`exp` against the cached
/// keys (refreshing once on an unknown `kid`), then the tenant rules, the key-issuer rule and
/// the claim mapping. Returns the subject and the token's expiry.
pub async fn verify_external(
    keys: &Arc<KeyCache>,
    token: &str,
    now: UnixTime,
) -> Result<(Subject, UnixTime), Denial> {
    let issuer: &TrustedIssuer = keys.issuer();
    let unavailable = || Denial::KeysUnavailable(issuer.name().clone());
    let loaded = match keys.current() {
        Some(loaded) => loaded,
        None => keys.refresh().await.ok_or_else(unavailable)?,
    };
    let (verified, loaded) = match loaded.verifier.verify(token, now) {
        Ok(verified) => (verified, loaded),
        Err(rejection) if rejection.reason == Reason::UnknownKid => {
            // The provider may have rotated its keys: look once more (throttled, shared).
            let fresh = keys
                .refresh_after(KeyCache::generation_of(&loaded))
                .await
                .ok_or_else(unavailable)?;
            let verified = fresh.verifier.verify(token, now).map_err(Denial::Token)?;
            (verified, fresh)
        }
        Err(rejection) => return Err(Denial::Token(rejection)),
    };
    let claims = verified.claims.as_map();
    // The verifier checked `iss` against this issuer's accepted list, so it is present.
    let iss = verified.claims.issuer().unwrap_or_default();
    issuer.check_tenant(iss, claims)?;
    if let Some(kid) = &verified.key_id
        && let Some(key_issuer) = loaded.key_issuers.get(kid.as_str())
    {
        let tid = claims.get("tid").and_then(Value::as_str);
        if !TrustedIssuer::key_may_sign(key_issuer, iss, tid) {
            return Err(Denial::KeyIssuerMismatch);
        }
    }
    let subject = issuer.subject_from(claims)?;
    // `exp` is a required claim of the validation, so it is present.
    let expires_at = verified.claims.expires_at().unwrap_or(now);
    Ok((subject, expires_at))
}
