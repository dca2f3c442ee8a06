//! The key cache of one trusted issuer: fetches its JWK Set (through discovery or `jwks_uri`),
//! keeps it for as long as `Cache-Control: max-age` says (default one hour), refreshes it when a
//! token names an unknown `kid`, and keeps the last good set while the provider is down.
//!
//! Refreshes are single-flight (one fetch at a time per issuer; callers that waited reuse the
//! result) and throttled (at most one attempt per the issuer's `min_refresh_interval`, default 30 s), so a
//! flood of tokens with made-up `kid`s costs the provider at most one request per interval.
//! Clock reads here are monotonic (`tokio::time::Instant`), used only for cache ageing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use gatehouse_token::{JwkSet, KeySet, Validation, Verifier};
use tokio::time::Instant;
use url::Url;

use crate::error::Error;
use crate::issuer::{KeySource, TrustedIssuer};

/// Cache lifetime when the provider sends no usable `Cache-Control`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// Bounds on a provider-chosen lifetime: not so short that every request refetches, not so long
/// that a rotated-out key is trusted for days.
const MIN_MAX_AGE: Duration = Duration::from_secs(60);
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// A JWK Set or discovery document larger than this is refused.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// Tuning of a [`KeyCache`] (the refresh throttle is per issuer, in its configuration).
#[derive(Debug, Clone)]
pub struct KeyCacheSettings {
    /// Timeout of one HTTP request to the provider (default 5 s).
    pub fetch_timeout: Duration,
}

impl Default for KeyCacheSettings {
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// One fetched key set, ready to verify with.
#[derive(Debug)]
pub struct LoadedKeys {
    /// Verifies signature and claims (issuers, audiences) for this issuer.
    pub verifier: Verifier,
    /// `kid` → the `issuer` member of that JWK, for keys that carry one.
    pub key_issuers: HashMap<String, String>,
    generation: u64,
    expires_at: Instant,
}

#[derive(Debug, Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
}

/// The keys of one trusted issuer. Share it as `Arc<KeyCache>`.
#[derive(Debug)]
pub struct KeyCache {
    issuer: TrustedIssuer,
    http: reqwest::Client,
    settings: KeyCacheSettings,
    current: RwLock<Option<Arc<LoadedKeys>>>,
    refresh: tokio::sync::Mutex<RefreshState>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

impl KeyCache {
    /// A cache with no keys yet; call [`KeyCache::refresh`] at start-up.
    pub fn new(issuer: TrustedIssuer, http: reqwest::Client, settings: KeyCacheSettings) -> Self {
        Self {
            issuer,
            http,
            settings,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    /// The issuer this cache belongs to.
    pub fn issuer(&self) -> &TrustedIssuer {
        &self.issuer
    }

    /// How many fetch attempts were made (for metrics and tests).
    pub fn fetch_attempts(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The keys to verify with now, if any were ever fetched. When they are past their
    /// lifetime, a background refresh starts and the stale set is still returned: a slow
    /// provider never delays a request, and an unreachable one leaves the last good set in use.
    pub fn current(self: &Arc<Self>) -> Option<Arc<LoadedKeys>> {
        let keys = self.current.read().ok()?.clone();
        if let Some(keys) = &keys
            && Instant::now() >= keys.expires_at
        {
            let cache = Arc::clone(self);
            let seen = keys.generation;
            tokio::spawn(async move {
                cache.refresh_after(seen).await;
            });
        }
        keys
    }

    /// Fetches the key set now, subject to the throttle; returns the keys in use afterwards.
    pub async fn refresh(&self) -> Option<Arc<LoadedKeys>> {
        let seen = self.generation.load(Ordering::Acquire);
        self.refresh_after(seen).await
    }

    /// Refreshes unless a newer set than generation `seen` arrived meanwhile (another caller's
    /// fetch, which this caller then shares) or the last attempt was too recent.
    pub async fn refresh_after(&self, seen: u64) -> Option<Arc<LoadedKeys>> {
        let mut state = self.refresh.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return self.snapshot();
        }
        let now = Instant::now();
        if state
            .last_attempt
            .is_some_and(|last| now.duration_since(last) < self.issuer.min_refresh_interval())
        {
            return self.snapshot();
        }
        state.last_attempt = Some(now);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch().await {
            Ok((verifier, key_issuers, max_age)) => {
                let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
                let keys = Arc::new(LoadedKeys {
                    verifier,
                    key_issuers,
                    generation,
                    expires_at: Instant::now() + max_age,
                });
                if let Ok(mut current) = self.current.write() {
                    *current = Some(Arc::clone(&keys));
                }
                tracing::info!(issuer = %self.issuer.name(), generation, "fetched issuer keys");
                Some(keys)
            }
            Err(error) => {
                tracing::warn!(%error, "keeping the last good key set");
                self.snapshot()
            }
        }
    }

    /// The generation of a loaded set, for [`KeyCache::refresh_after`].
    pub fn generation_of(keys: &LoadedKeys) -> u64 {
        keys.generation
    }

    fn snapshot(&self) -> Option<Arc<LoadedKeys>> {
        self.current.read().ok()?.clone()
    }

    async fn fetch(&self) -> Result<(Verifier, HashMap<String, String>, Duration), Error> {
        let jwks_uri = match self.issuer.key_source() {
            KeySource::JwksUri(url) => url.clone(),
            KeySource::Discovery(url) => {
                let (body, _) = self.get(url).await?;
                let document: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| self.fetch_error(format!("discovery document: {e}")))?;
                let uri = document
                    .get("jwks_uri")
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| self.fetch_error("discovery document has no jwks_uri".into()))?;
                let uri =
                    Url::parse(uri).map_err(|e| self.fetch_error(format!("jwks_uri: {e}")))?;
                // The discovery document must not send us to plain HTTP on another host.
                if uri.scheme() != "https" && uri.host_str() != url.host_str() {
                    return Err(self.fetch_error("jwks_uri must be https".into()));
                }
                uri
            }
        };
        let (body, max_age) = self.get(&jwks_uri).await?;
        let text =
            std::str::from_utf8(&body).map_err(|_| self.fetch_error("JWKS is not UTF-8".into()))?;
        let set: JwkSet =
            serde_json::from_str(text).map_err(|e| self.fetch_error(format!("JWKS: {e}")))?;
        let key_issuers = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let issuer = jwk.other.get("issuer")?.as_str()?;
                Some((jwk.kid.clone()?, issuer.to_owned()))
            })
            .collect();
        // The strict parser (duplicate members, unusable signing keys) decides what is trusted.
        let keys =
            KeySet::from_jwks_json(text).map_err(|e| self.fetch_error(format!("JWKS: {e}")))?;
        let validation = Validation::new()
            .with_issuers(self.issuer.accepted_issuers())
            .with_audiences(self.issuer.audiences().to_vec());
        Ok((Verifier::new(keys, validation), key_issuers, max_age))
    }

    async fn get(&self, url: &Url) -> Result<(bytes::Bytes, Duration), Error> {
        let response = self
            .http
            .get(url.clone())
            .timeout(self.settings.fetch_timeout)
            .send()
            .await
            .map_err(|e| self.fetch_error(format!("GET {url}: {}", e.without_url())))?;
        if !response.status().is_success() {
            return Err(self.fetch_error(format!("GET {url}: status {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(self.fetch_error(format!("GET {url}: document too large")));
        }
        let max_age = max_age(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| self.fetch_error(format!("GET {url}: {}", e.without_url())))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(self.fetch_error(format!("GET {url}: document too large")));
        }
        Ok((body, max_age))
    }

    fn fetch_error(&self, problem: String) -> Error {
        Error::KeyFetch {
            issuer: self.issuer.name().to_string(),
            problem,
        }
    }
}

/// The lifetime `Cache-Control` grants, clamped; the default when absent or `no-cache`.
fn max_age(headers: &http::HeaderMap) -> Duration {
    let Some(value) = headers
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return MIN_MAX_AGE;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            age = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age.unwrap_or(DEFAULT_MAX_AGE)
        .clamp(MIN_MAX_AGE, MAX_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cache_control: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CACHE_CONTROL, cache_control.parse().unwrap());
        h
    }

    #[test]
    fn cache_control_max_age_sets_the_lifetime_within_bounds() {
        assert_eq!(max_age(&http::HeaderMap::new()), DEFAULT_MAX_AGE);
        assert_eq!(
            max_age(&headers("public, max-age=7200")),
            Duration::from_secs(7200)
        );
        assert_eq!(max_age(&headers("max-age=1")), MIN_MAX_AGE);
        assert_eq!(max_age(&headers("max-age=99999999")), MAX_MAX_AGE);
        assert_eq!(max_age(&headers("no-store")), MIN_MAX_AGE);
        assert_eq!(max_age(&headers("max-age=abc")), DEFAULT_MAX_AGE);
    }
}
