//! The verified-token cache: a repeated token costs a hash lookup instead of a signature check.
//! Bounded in entries, each kept no longer than its token's `exp`. A Gatehouse token's entry
//! also carries its last passed revocation check ([`PassedCheck`]); whether that check still
//! holds is decided by the caller on every request.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gatehouse_token::UnixTime;
use moka::Expiry;
use sha2::{Digest, Sha256};

use crate::authn::LocalToken;
use crate::subject::Caller;

/// What a cached token verified to.
#[derive(Debug, Clone)]
pub enum CachedIdentity {
    /// A Gatehouse token (its revocation is checked on each use).
    Local {
        /// The verified token, for the revocation check.
        token: Arc<LocalToken>,
        /// Its subject, shared by every request carrying the token.
        subject: Arc<Caller>,
        /// Its last passed revocation check, kept with the token so that a warm request
        /// needs no second lookup.
        passed: Arc<PassedCheck>,
    },
    /// An external issuer's token.
    External {
        /// The mapped subject.
        subject: Arc<Caller>,
        /// The token's `exp`.
        expires_at: UnixTime,
    },
}

impl CachedIdentity {
    /// The token's `exp`.
    pub fn expires_at(&self) -> UnixTime {
        match self {
            Self::Local { token, .. } => token.expires_at,
            Self::External { expires_at, .. } => *expires_at,
        }
    }
}

/// When a cached Gatehouse token last passed its revocation check, and at which
/// [`RevocationFeed::generation`](crate::revocation::RevocationFeed::generation) that check
/// began.
#[derive(Debug, Default)]
pub struct PassedCheck(Mutex<Option<(u64, UnixTime)>>);

impl PassedCheck {
    /// Whether a check passed at `generation` less than `window` before `now`.
    pub fn holds(&self, generation: u64, now: UnixTime, window: Duration) -> bool {
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        let last = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        last.is_some_and(|(passed_generation, at)| {
            passed_generation == generation && now.as_secs().saturating_sub(at.as_secs()) < window
        })
    }

    /// Records a check that began at `generation` and passed at `now`.
    pub fn record(&self, generation: u64, now: UnixTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((generation, now));
    }
}

#[derive(Clone)]
struct Entry {
    identity: CachedIdentity,
    ttl: Duration,
}

struct UntilExpiry;

impl Expiry<[u8; 32], Entry> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        entry: &Entry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Verified tokens by SHA-256 of the token text (the token itself is never stored).
///
/// Synchronous (moka's `sync` cache): a lookup never waits, and an `async` one would put its
/// state machine into every request's future.
#[derive(Clone)]
pub struct TokenCache {
    entries: moka::sync::Cache<[u8; 32], Entry>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl TokenCache {
    /// A cache holding at most `capacity` tokens.
    pub fn new(capacity: u64) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    /// The cache key of a token.
    pub fn key(token: &[u8]) -> [u8; 32] {
        Sha256::digest(token).into()
    }

    /// The cached identity, if present and not expired at `now`.
    pub fn get(&self, key: &[u8; 32], now: UnixTime) -> Option<CachedIdentity> {
        let entry = self.entries.get(key)?;
        // The entry's own deadline is set from `now` at insertion; compare again against the
        // caller's clock so that time stays a parameter.
        (now < entry.identity.expires_at()).then_some(entry.identity)
    }

    /// Caches a verified identity until its `exp`.
    pub fn insert(&self, key: [u8; 32], identity: CachedIdentity, now: UnixTime) {
        let remaining = identity
            .expires_at()
            .as_secs()
            .saturating_sub(now.as_secs());
        let Ok(remaining) = u64::try_from(remaining) else {
            return;
        };
        if remaining == 0 {
            return;
        }
        self.entries.insert(
            key,
            Entry {
                identity,
                ttl: Duration::from_secs(remaining),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::{IssuerName, Subject};

    fn external(exp: i64) -> CachedIdentity {
        CachedIdentity::External {
            subject: Arc::new(Caller::new(Subject::new("u", IssuerName::gatehouse()))),
            expires_at: UnixTime::from_secs(exp),
        }
    }

    #[test]
    fn an_entry_is_served_until_its_token_expires() {
        let cache = TokenCache::new(10);
        let key = TokenCache::key(b"token");
        cache.insert(key, external(1_000), UnixTime::from_secs(900));
        assert!(cache.get(&key, UnixTime::from_secs(999)).is_some());
        assert!(cache.get(&key, UnixTime::from_secs(1_000)).is_none());
        assert!(
            cache
                .get(&TokenCache::key(b"other"), UnixTime::from_secs(900))
                .is_none()
        );
    }

    #[test]
    fn a_passed_check_holds_for_its_generation_within_the_window() {
        let passed = PassedCheck::default();
        let window = Duration::from_secs(60);
        assert!(!passed.holds(0, UnixTime::from_secs(100), window));
        passed.record(3, UnixTime::from_secs(100));
        assert!(passed.holds(3, UnixTime::from_secs(159), window));
        assert!(!passed.holds(3, UnixTime::from_secs(160), window));
        assert!(!passed.holds(4, UnixTime::from_secs(101), window));
    }

    #[test]
    fn an_already_expired_token_is_not_cached() {
        let cache = TokenCache::new(10);
        let key = TokenCache::key(b"token");
        cache.insert(key, external(100), UnixTime::from_secs(100));
        assert!(cache.get(&key, UnixTime::from_secs(50)).is_none());
    }
}
