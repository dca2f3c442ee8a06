//! Gatehouse's own tokens through the [`LocalTokens`] trait: the verified-token cache, and the
//! revocation check that still runs (at most [`REVOCATION_RECHECK`] stale, and fresh again as
//! soon as the server says something was revoked).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::http::{HeaderMap, Method};
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use gatehouse_gateway::config::GatewayConfig;
use gatehouse_gateway::jwks::KeyCacheSettings;
use gatehouse_gateway::{Decision, Denial, Gateway, IssuerName, LocalToken, LocalTokens, Subject};
use gatehouse_token::{Algorithm, KeySet, SigningKey, UnixTime, Validation, Verifier};
use serde_json::json;

const ISSUER: &str = "https://gatehouse.test";
const NOW: i64 = 1_800_000_000;

struct Fake {
    verifier: Verifier,
    revoked: AtomicBool,
    revocation_checks: AtomicU64,
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
            if self.revoked.load(Ordering::SeqCst) {
                Err(Denial::Revoked)
            } else {
                Ok(())
            }
        }
        .boxed()
    }
}

#[tokio::test]
async fn a_cached_token_is_rechecked_for_revocation_once_something_was_revoked() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let fake = Arc::new(Fake {
        verifier: Verifier::new(
            KeySet::new(vec![key.verifying_key()]).unwrap(),
            Validation::new().with_issuers([ISSUER]),
        ),
        revoked: AtomicBool::new(false),
        revocation_checks: AtomicU64::new(0),
    });
    let config: GatewayConfig =
        toml::from_str("[[routes]]\npath = \"/api\"\nupstream = \"http://127.0.0.1:9\"\n").unwrap();
    let gateway = Gateway::new(
        &config,
        Some(Arc::clone(&fake) as Arc<dyn LocalTokens>),
        reqwest::Client::new(),
        KeyCacheSettings::default(),
    )
    .unwrap();
    let claims = json!({ "iss": ISSUER, "sub": "u-1", "exp": NOW + 600, "jti": "j-1" });
    let token = key
        .sign(Some("at+jwt"), claims.as_object().unwrap())
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let decide = || gateway.decide(&Method::GET, "/api/x", &headers, UnixTime::from_secs(NOW));

    for _ in 0..3 {
        assert!(matches!(decide().await, Decision::Allow { .. }));
    }
    assert_eq!(
        fake.revocation_checks.load(Ordering::SeqCst),
        1,
        "one check within the window"
    );

    fake.revoked.store(true, Ordering::SeqCst);
    gateway.revocations_changed();
    assert!(matches!(
        decide().await,
        Decision::Unauthenticated(Denial::Revoked)
    ));
    assert_eq!(
        gateway.metrics().verifications.load(Ordering::Relaxed),
        1,
        "signature checked once"
    );
}
