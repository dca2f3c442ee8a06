//! Counters of gateway decisions and token verifications by outcome, for the server's metrics
//! endpoint and for tests that check a repeated token skips verification.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Lock-free counters for the hot path, and a small map for denial codes.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Tokens answered from the verified-token cache.
    pub cache_hits: AtomicU64,
    /// Tokens whose signature was checked.
    pub verifications: AtomicU64,
    /// Requests allowed (public or authorized).
    pub allowed: AtomicU64,
    /// Requests matching no route.
    pub no_route: AtomicU64,
    /// Authenticated requests refused by the policy.
    pub forbidden: AtomicU64,
    denials: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts one denial by its code.
    pub fn count_denial(&self, code: &'static str) {
        if let Ok(mut denials) = self.denials.lock() {
            *denials.entry(code).or_default() += 1;
        }
    }

    /// Every counter as `(name, value)`, e.g. `("denied_expired", 3)`.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let mut out = vec![
            (
                "token_cache_hits".to_owned(),
                self.cache_hits.load(Ordering::Relaxed),
            ),
            (
                "token_verifications".to_owned(),
                self.verifications.load(Ordering::Relaxed),
            ),
            ("allowed".to_owned(), self.allowed.load(Ordering::Relaxed)),
            ("no_route".to_owned(), self.no_route.load(Ordering::Relaxed)),
            (
                "forbidden".to_owned(),
                self.forbidden.load(Ordering::Relaxed),
            ),
        ];
        if let Ok(denials) = self.denials.lock() {
            out.extend(
                denials
                    .iter()
                    .map(|(code, n)| (format!("denied_{code}"), *n)),
            );
        }
        out
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
