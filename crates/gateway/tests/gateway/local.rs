//! Gatehouse's own tokens through the [`LocalTokens`] trait: the verified-token cache, and the
//! revocation check that still runs — skipped only while the [`RevocationFeed`] is up to date
//! and nothing was revoked since the check began.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, Method};
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use gatehouse_gateway::config::GatewayConfig;
use gatehouse_gateway::jwks::KeyCacheSettings;
use gatehouse_gateway::{
    Decision, Denial, Gateway, IssuerName, LocalToken, LocalTokens, RevocationFeed, Subject,
};
use gatehouse_token::{Algorithm, KeySet, SigningKey, UnixTime, Validation, Verifier};
use serde_json::json;
use tokio::time::Instant;

const ISSUER: &str = "https://gatehouse.test";
const NOW: i64 = 1_800_000_000;

struct Fake {
    verifier: Verifier,
    revoked: AtomicBool,
    revocation_checks: AtomicU64,
    /// Set: a revocation lands (and is announced) while the store is being asked.
    revoke_during_check: Option<Arc<RevocationFeed>>,
}

impl LocalTokens for Fake {
    fn issuer(&self) -> &str {
        ISSUER
    }

    fn verify<'a>(
        &'a self,
        token: &'a str,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<LocalToken, Denial>> {
        async move {
            let verified = self.verifier.verify(token, now).map_err(Denial::Token)?;
            let subject = Subject::new(
                verified.claims.subject().unwrap_or_default(),
                IssuerName::gatehouse(),
            );
            Ok(LocalToken {
                subject,
                expires_at: verified.claims.expires_at().unwrap_or(now),
                token_id: verified.claims.jwt_id().map(str::to_owned),
                issued_at: verified.claims.issued_at(),
                claims: verified.claims,
            })
        }
        .boxed()
    }

    fn check_revocation<'a>(
        &'a self,
        _token: &'a LocalToken,
        _now: UnixTime,
    ) -> BoxFuture<'a, Result<(), Denial>> {
        async move {
            self.revocation_checks.fetch_add(1, Ordering::SeqCst);
            if let Some(feed) = &self.revoke_during_check {
                feed.changed();
            }
            if self.revoked.load(Ordering::SeqCst) {
                Err(Denial::Revoked)
            } else {
                Ok(())
            }
        }
        .boxed()
    }
}

/// A gateway over a [`Fake`], the feed it trusts checks through, and a request with a token.
struct Setup {
    fake: Arc<Fake>,
    feed: Arc<RevocationFeed>,
    gateway: Gateway,
    headers: HeaderMap,
}

impl Setup {
    fn new(revoke_during_check: bool) -> Self {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let feed = Arc::new(RevocationFeed::new(Duration::from_secs(60)));
        let fake = Arc::new(Fake {
            verifier: Verifier::new(
                KeySet::new(vec![key.verifying_key()]).unwrap(),
                Validation::new().with_issuers([ISSUER]),
            ),
            revoked: AtomicBool::new(false),
            revocation_checks: AtomicU64::new(0),
            revoke_during_check: revoke_during_check.then(|| Arc::clone(&feed)),
        });
        let config: GatewayConfig =
            toml::from_str("[[routes]]\npath = \"/api\"\nupstream = \"http://127.0.0.1:9\"\n")
                .unwrap();
        let gateway = Gateway::new(
            &config,
            Some(Arc::clone(&fake) as Arc<dyn LocalTokens>),
            reqwest::Client::new(),
            KeyCacheSettings::default(),
        )
        .unwrap()
        .with_revocation_feed(Arc::clone(&feed));
        let claims = json!({ "iss": ISSUER, "sub": "u-1", "exp": NOW + 600, "jti": "j-1" });
        let token = key
            .sign(Some("at+jwt"), claims.as_object().unwrap())
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        Self {
            fake,
            feed,
            gateway,
            headers,
        }
    }

    async fn decide(&self) -> Decision<'_> {
        self.gateway
            .decide(
                &Method::GET,
                "/api/x",
                &self.headers,
                UnixTime::from_secs(NOW),
            )
            .await
    }

    fn checks(&self) -> u64 {
        self.fake.revocation_checks.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_cached_token_is_rechecked_for_revocation_once_something_was_revoked() {
    let setup = Setup::new(false);
    setup.feed.caught_up(Instant::now());
    for _ in 0..3 {
        assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    }
    assert_eq!(setup.checks(), 1, "one check while the feed is up to date");

    setup.fake.revoked.store(true, Ordering::SeqCst);
    setup.gateway.revocations_changed();
    assert!(matches!(
        setup.decide().await,
        Decision::Unauthenticated(Denial::Revoked)
    ));
    assert_eq!(
        setup
            .gateway
            .metrics()
            .verifications
            .load(Ordering::Relaxed),
        1,
        "signature checked once"
    );
}

#[tokio::test]
async fn a_revocation_read_from_the_feed_ends_the_trust_of_every_gateway_sharing_it() {
    let setup = Setup::new(false);
    setup.feed.caught_up(Instant::now());
    assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    assert_eq!(setup.checks(), 1);
    // What the server's follower does for another instance's revocation.
    setup.fake.revoked.store(true, Ordering::SeqCst);
    setup.feed.changed();
    assert!(matches!(
        setup.decide().await,
        Decision::Unauthenticated(Denial::Revoked)
    ));
}

#[tokio::test]
async fn without_an_up_to_date_feed_every_request_asks_the_store() {
    let setup = Setup::new(false);
    // Never caught up (no follower, or it never reached the database).
    for _ in 0..3 {
        assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    }
    assert_eq!(setup.checks(), 3);
    // Caught up, with nothing revoked since those checks began: the last one is trusted.
    setup.feed.caught_up(Instant::now());
    assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    assert_eq!(setup.checks(), 3);
    // The follower stopped: back to asking every time.
    setup.feed.stopped();
    assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    assert_eq!(setup.checks(), 5);
    // A report too old to count (its read began longer ago than the feed's freshness).
    if let Some(old) = Instant::now().checked_sub(Duration::from_secs(61)) {
        setup.feed.caught_up(old);
        assert!(matches!(setup.decide().await, Decision::Allow { .. }));
        assert_eq!(setup.checks(), 6);
    }
}

#[tokio::test]
async fn a_check_overtaken_by_a_revocation_is_not_trusted() {
    // The store answers "not revoked", but a revocation is announced before the answer is
    // cached: the answer may predate it, so the next request asks again.
    let setup = Setup::new(true);
    setup.feed.caught_up(Instant::now());
    assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    assert!(matches!(setup.decide().await, Decision::Allow { .. }));
    assert_eq!(setup.checks(), 2);
}
