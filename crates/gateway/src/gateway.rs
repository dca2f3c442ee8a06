//! [`Gateway`]: the stages put together. One call, [`Gateway::decide`], takes a request's
//! method, path and headers to a [`Decision`]; [`Gateway::prepare_upstream`] then rewrites the
//! headers for the upstream, and [`crate::proxy::Proxy`] forwards.

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_token::UnixTime;
use http::Method;
use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::authn::{LocalTokens, verify_external};
use crate::cache::{CachedIdentity, PassedCheck, TokenCache};
use crate::config::GatewayConfig;
use crate::denial::Denial;
use crate::error::Error;
use crate::headers::IdentityHeaders;
use crate::issuer::TrustedIssuer;
use crate::jwks::{KeyCache, KeyCacheSettings};
use crate::metrics::Metrics;
use crate::policy::{Authorization, Missing};
use crate::revocation::RevocationFeed;
use crate::route::{Access, RequestPath, Route, RouteTable, UnsafePath};
use crate::subject::{Caller, IssuerName};
use crate::unverified;
use crate::upstream_token::{UpstreamSigner, UpstreamTokenCache};

/// Bearer tokens longer than this are refused before any decoding.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Verified tokens kept in the cache.
const TOKEN_CACHE_CAPACITY: u64 = 100_000;
/// The longest a passed revocation check of a Gatehouse token is trusted, and only while the
/// gateway's [`RevocationFeed`] is up to date: every revocation (through this instance, another
/// one or the CLI) ends it sooner, through [`Gateway::revocations_changed`]. A safety net for
/// a change that reached neither, such as a hand edit of the database.
pub const REVOCATION_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// What to do with a request.
#[derive(Debug, Clone)]
pub enum Decision<'a> {
    /// Forward it. `subject` is `None` on a public route.
    Allow {
        /// The matched route.
        route: &'a Route,
        /// The authenticated caller, for the identity headers.
        subject: Option<Arc<Caller>>,
    },
    /// No route matches (deny by default).
    NoRoute,
    /// The path could be re-interpreted by an upstream; refused before matching.
    UnsafePath(UnsafePath),
    /// The credential is missing or refused.
    Unauthenticated(Denial),
    /// Authenticated, but the route's policy is not met.
    Forbidden {
        /// Who asked.
        subject: Arc<Caller>,
        /// What they lack.
        missing: Missing,
    },
}

/// The configuration after every load-time check.
pub(crate) struct Validated {
    issuers: Vec<TrustedIssuer>,
    routes: RouteTable,
    identity: IdentityHeaders,
}

impl Validated {
    pub(crate) fn new(config: &GatewayConfig) -> Result<Self, Error> {
        let issuers = config
            .issuers
            .iter()
            .map(TrustedIssuer::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        let mut known: BTreeSet<IssuerName> = BTreeSet::new();
        known.insert(IssuerName::gatehouse());
        for issuer in &issuers {
            if !known.insert(issuer.name().clone()) {
                return Err(Error::InvalidIssuer {
                    name: issuer.name().to_string(),
                    problem: "two [[issuers]] entries have this name".into(),
                });
            }
        }
        let routes = RouteTable::from_config(&config.routes, &known)?;
        let identity = IdentityHeaders::from_config(&config.identity_headers)?;
        Ok(Self {
            issuers,
            routes,
            identity,
        })
    }
}

/// The gateway: routes, authenticators, identity headers, caches and counters.
pub struct Gateway {
    routes: RouteTable,
    local: Option<Arc<dyn LocalTokens>>,
    external: Vec<Arc<KeyCache>>,
    identity: IdentityHeaders,
    cache: TokenCache,
    metrics: Arc<Metrics>,
    signer: Option<Arc<dyn UpstreamSigner>>,
    upstream_tokens: UpstreamTokenCache,
    revocations: Arc<RevocationFeed>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.routes.len())
            .field("external_issuers", &self.external.len())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Validates the configuration. `local` verifies Gatehouse's own tokens (None: only
    /// external issuers are trusted); `http` fetches external keys. No network access happens
    /// here; call [`Gateway::prefetch_keys`] at start-up.
    pub fn new(
        config: &GatewayConfig,
        local: Option<Arc<dyn LocalTokens>>,
        http: reqwest::Client,
        key_settings: KeyCacheSettings,
    ) -> Result<Self, Error> {
        let Validated {
            issuers,
            routes,
            identity,
        } = Validated::new(config)?;
        let external = issuers
            .into_iter()
            .map(|issuer| Arc::new(KeyCache::new(issuer, http.clone(), key_settings.clone())))
            .collect();
        Ok(Self {
            routes,
            local,
            external,
            identity,
            cache: TokenCache::new(TOKEN_CACHE_CAPACITY),
            metrics: Arc::default(),
            signer: None,
            upstream_tokens: UpstreamTokenCache::new(TOKEN_CACHE_CAPACITY),
            revocations: Arc::default(),
        })
    }

    /// Trusts passed revocation checks as `feed` allows (shared by every gateway of a server,
    /// so a reload keeps it). Without one, nothing follows the revocation log, the gateway's
    /// own feed is never up to date, and every request asks [`LocalTokens::check_revocation`].
    pub fn with_revocation_feed(mut self, feed: Arc<RevocationFeed>) -> Self {
        self.revocations = feed;
        self
    }

    /// Enables `upstream_token` routes: tokens are signed with `signer`'s current key.
    pub fn with_upstream_signer(mut self, signer: Arc<dyn UpstreamSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Counts into `metrics` instead of fresh counters, so counters survive a configuration
    /// reload that replaces the gateway.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Fetches every external issuer's keys once. Failures are logged, not returned: start-up
    /// must not depend on a provider being up; the first token from that issuer retries.
    pub async fn prefetch_keys(&self) {
        for keys in &self.external {
            if keys.refresh().await.is_none() {
                tracing::warn!(issuer = %keys.issuer().name(), "issuer keys unavailable at start-up");
            }
        }
    }

    /// The route table.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    /// The identity-header settings.
    pub fn identity_headers(&self) -> &IdentityHeaders {
        &self.identity
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The key caches of the external issuers.
    pub fn key_caches(&self) -> &[Arc<KeyCache>] {
        &self.external
    }

    /// Runs route matching, authentication and authorization for one request.
    pub async fn decide(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        now: UnixTime,
    ) -> Decision<'_> {
        let decision = self.decide_inner(method, path, headers, now).await;
        match &decision {
            Decision::Allow { .. } => Metrics::bump(&self.metrics.allowed),
            Decision::NoRoute | Decision::UnsafePath(_) => Metrics::bump(&self.metrics.no_route),
            Decision::Unauthenticated(denial) => self.metrics.count_denial(denial.code()),
            Decision::Forbidden { .. } => Metrics::bump(&self.metrics.forbidden),
        }
        decision
    }

    async fn decide_inner(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        now: UnixTime,
    ) -> Decision<'_> {
        let path = match RequestPath::parse(path) {
            Ok(path) => path,
            Err(unsafe_path) => return Decision::UnsafePath(unsafe_path),
        };
        let Some(route) = self.routes.find(method, &path) else {
            return Decision::NoRoute;
        };
        let policy = match &route.access {
            Access::Public => {
                return Decision::Allow {
                    route,
                    subject: None,
                };
            }
            Access::Protected(policy) => policy,
        };
        let subject = match self.authenticate(headers, now).await {
            Ok(subject) => subject,
            Err(denial) => return Decision::Unauthenticated(denial),
        };
        if !policy.accepts_issuer(&subject.issuer) {
            return Decision::Unauthenticated(Denial::IssuerNotAccepted(subject.issuer.clone()));
        }
        match policy.authorize(&subject) {
            Authorization::Allowed => Decision::Allow {
                route,
                subject: Some(subject),
            },
            Authorization::Forbidden(missing) => Decision::Forbidden { subject, missing },
        }
    }

    /// Authenticates the request's Bearer token (cache first).
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        now: UnixTime,
    ) -> Result<Arc<Caller>, Denial> {
        let credential = bearer_credential(headers)?;
        // Looked up before its characters are checked: only a token that passed that check
        // and its verification is ever cached, and a hit has exactly the same bytes.
        let key = TokenCache::key(credential);
        if let Some(identity) = self.cache.get(&key, now) {
            Metrics::bump(&self.metrics.cache_hits);
            return match identity {
                CachedIdentity::Local {
                    token,
                    subject,
                    passed,
                } => {
                    self.check_revocation(&passed, &token, now).await?;
                    Ok(subject)
                }
                CachedIdentity::External { subject, .. } => Ok(subject),
            };
        }
        // Boxed: verification (a key refresh, a revocation lookup) is the cold path, and its
        // state machine inline would enlarge the future of every warm request.
        Box::pin(self.verify_and_cache(key, credential, now)).await
    }

    /// A token not in the cache: checks its characters, verifies it with its issuer's keys
    /// and caches the outcome when it passes.
    async fn verify_and_cache(
        &self,
        key: [u8; 32],
        credential: &[u8],
        now: UnixTime,
    ) -> Result<Arc<Caller>, Denial> {
        let token = b64token(credential)?;
        Metrics::bump(&self.metrics.verifications);
        let peek = unverified::peek(token).ok_or(Denial::NotBearer)?;
        if peek.is_graph_token() {
            return Err(Denial::GraphToken);
        }
        let iss = peek.issuer.as_deref().unwrap_or_default();
        if let Some(local) = self.local.as_ref().filter(|l| l.issuer() == iss) {
            let verified = Arc::new(local.verify(token, now).await?);
            let passed = Arc::new(PassedCheck::default());
            self.check_revocation(&passed, &verified, now).await?;
            let subject = Arc::new(Caller::new(verified.subject.clone()));
            let cached = CachedIdentity::Local {
                token: verified,
                subject: Arc::clone(&subject),
                passed,
            };
            self.cache.insert(key, cached, now);
            return Ok(subject);
        }
        let keys = self
            .external
            .iter()
            .find(|keys| keys.issuer().recognizes(iss))
            .ok_or(Denial::UnknownIssuer)?;
        let (subject, expires_at) = verify_external(keys, token, now).await?;
        let subject = Arc::new(Caller::new(subject));
        let cached = CachedIdentity::External {
            subject: Arc::clone(&subject),
            expires_at,
        };
        self.cache.insert(key, cached, now);
        Ok(subject)
    }

    /// Asks the revocation store unless this token passed less than [`REVOCATION_RECHECK`]
    /// ago, nothing was revoked anywhere since, and the revocation feed is up to date (so
    /// "nothing was revoked" is known, not assumed).
    async fn check_revocation(
        &self,
        passed: &PassedCheck,
        token: &crate::authn::LocalToken,
        now: UnixTime,
    ) -> Result<(), Denial> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        // Read before the store is asked: a revocation committed while it answers moves the
        // generation, so the answer is not trusted past that.
        let generation = self.revocations.generation();
        if self.revocations.is_fresh() && passed.holds(generation, now, REVOCATION_RECHECK) {
            return Ok(());
        }
        local.check_revocation(token, now).await?;
        passed.record(generation, now);
        Ok(())
    }

    /// Forgets every passed revocation check, of this gateway and of every other sharing its
    /// [`RevocationFeed`]: the next request of every token asks the store again. The server
    /// calls this after each of its own requests that may have revoked something (logout,
    /// admin changes), which makes revocation through this instance immediate, and for each
    /// revocation its follower of the revocation log reads (any instance, the CLI).
    pub fn revocations_changed(&self) {
        self.revocations.changed();
    }

    /// Rewrites request headers for the upstream: strips every client identity header (and
    /// `Authorization` unless the route forwards it), then writes the subject's, and the
    /// upstream token when the route asks for one.
    pub fn prepare_upstream(
        &self,
        route: &Route,
        subject: Option<&Caller>,
        headers: &mut HeaderMap,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.identity.strip(headers, route.forward_authorization);
        let Some(subject) = subject else {
            return Ok(());
        };
        self.identity.apply(subject, headers);
        if let Some(audience) = &route.upstream_token_audience {
            let signer = self.signer.as_deref().ok_or_else(|| {
                Error::BadForward("upstream_token is configured but no signer is set".into())
            })?;
            let token = self
                .upstream_tokens
                .get(signer, subject, audience, now)
                .map_err(|e| {
                    Error::BadForward(format!("minting the upstream token failed: {e}"))
                })?;
            let value = HeaderValue::from_str(&token).map_err(|_| {
                Error::BadForward("the upstream token is not a header value".into())
            })?;
            headers.insert(self.identity.token_header().clone(), value);
        }
        Ok(())
    }
}

/// The credential of a single `Authorization: Bearer <credential>` header, not empty and
/// within the size limit; its characters are checked by [`b64token`].
fn bearer_credential(headers: &HeaderMap) -> Result<&[u8], Denial> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(Denial::NoCredentials)?;
    if values.next().is_some() {
        return Err(Denial::NotBearer);
    }
    let value = value.as_bytes();
    let space = value
        .iter()
        .position(|&b| b == b' ')
        .ok_or(Denial::NotBearer)?;
    let (scheme, mut credential) = value.split_at(space);
    while let [b' ', rest @ ..] = credential {
        credential = rest;
    }
    if !scheme.eq_ignore_ascii_case(b"bearer")
        || credential.is_empty()
        || credential.len() > MAX_TOKEN_BYTES
    {
        return Err(Denial::NotBearer);
    }
    Ok(credential)
}

/// The credential as a token, if it is made of RFC 6750 b64token characters only; this also
/// rules out spaces, commas and anything outside visible ASCII.
fn b64token(credential: &[u8]) -> Result<&str, Denial> {
    let allowed = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
    };
    if !credential.iter().all(|&b| allowed(b)) {
        return Err(Denial::NotBearer);
    }
    std::str::from_utf8(credential).map_err(|_| Denial::NotBearer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    /// Both checks, in the order a cache miss runs them.
    fn bearer_token(headers: &HeaderMap) -> Result<&str, Denial> {
        bearer_credential(headers).and_then(b64token)
    }

    #[test]
    fn a_single_bearer_header_yields_its_token() {
        assert_eq!(
            bearer_token(&with_auth(&["Bearer abc.def.ghi"])),
            Ok("abc.def.ghi")
        );
        assert_eq!(bearer_token(&with_auth(&["bearer abc"])), Ok("abc"));
    }

    #[test]
    fn anything_but_one_bearer_token_is_refused() {
        assert_eq!(bearer_token(&HeaderMap::new()), Err(Denial::NoCredentials));
        for bad in [
            &["Basic dXNlcjpwdw=="][..],
            &["Bearer"],
            &["Bearer a b"],
            &["Bearer a,b"],
            &["Bearer a", "Bearer b"],
        ] {
            assert_eq!(
                bearer_token(&with_auth(bad)),
                Err(Denial::NotBearer),
                "{bad:?}"
            );
        }
        let huge = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(bearer_token(&with_auth(&[&huge])), Err(Denial::NotBearer));
    }
}
