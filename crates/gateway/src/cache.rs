//! The verified-token cache: a repeated token costs a hash lookup instead of a signature check.
//! Bounded in entries, each kept no longer than its token's `exp`; revocation of Gatehouse
//! tokens is still checked on every request by the caller.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_token::UnixTime;
use moka::Expiry;
use sha2::{Digest, Sha256};

use crate::authn::LocalToken;
use crate::subject::Subject;

/// What a cached token verified to.
#[derive(Debug, Clone)]
pub enum CachedIdentity {
    /// A Gatehouse token (its revocation is checked on each use).
    Local {
        /// The verified token, for the revocation check.
        token: Arc<LocalToken>,
        /// Its subject, shared by every request carrying the token.
        subject: Arc<Subject>,
    },
    /// An external issuer's token.
    External {
        /// The mapped subject.
        subject: Arc<Subject>,
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
#[derive(Clone)]
pub struct TokenCache {
    entries: moka::future::Cache<[u8; 32], Entry>,
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
            entries: moka::future::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    /// The cache key of a token.
    pub fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The cached identity, if present and not expired at `now`.
    pub async fn get(&self, key: &[u8; 32], now: UnixTime) -> Option<CachedIdentity> {
        let entry = self.entries.get(key).await?;
        // The entry's own deadline is set from `now` at insertion; compare again against the
        // caller's clock so that time stays a parameter.
        (now < entry.identity.expires_at()).then_some(entry.identity)
    }

    /// Caches a verified identity until its `exp`.
    pub async fn insert(&self, key: [u8; 32], identity: CachedIdentity, now: UnixTime) {
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
        self.entries
            .insert(
                key,
                Entry {
                    identity,
                    ttl: Duration::from_secs(remaining),
                },
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::IssuerName;

    fn external(exp: i64) -> CachedIdentity {
        CachedIdentity::External {
            subject: Arc::new(Subject::new("u", IssuerName::gatehouse())),
            expires_at: UnixTime::from_secs(exp),
        }
    }

    #[tokio::test]
    async fn an_entry_is_served_until_its_token_expires() {
        let cache = TokenCache::new(10);
        let key = TokenCache::key("token");
        cache
            .insert(key, external(1_000), UnixTime::from_secs(900))
            .await;
        assert!(cache.get(&key, UnixTime::from_secs(999)).await.is_some());
        assert!(cache.get(&key, UnixTime::from_secs(1_000)).await.is_none());
        assert!(
            cache
                .get(&TokenCache::key("other"), UnixTime::from_secs(900))
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_already_expired_token_is_not_cached() {
        let cache = TokenCache::new(10);
        let key = TokenCache::key("token");
        cache
            .insert(key, external(100), UnixTime::from_secs(100))
            .await;
        assert!(cache.get(&key, UnixTime::from_secs(50)).await.is_none());
    }
}
