//! The signing-key ring: which key signs new tokens, which public keys verify and are published
//! in the JWKS, and how keys are rotated and retired.
//!
//! Asymmetric keys live in the database ([`KeyStore`](gatehouse_store::KeyStore)), so every
//! instance on one database signs and verifies with the same set. The lifecycle:
//!
//! 1. On first start (no usable key of the configured algorithm) a key is generated and stored.
//! 2. `gatehouse keys rotate` ([`rotate`]) adds a new key and marks every older key retired.
//!    The new key is published in the JWKS at once but signs only once it is one
//!    `tokens.key_reload_interval` old: by then every instance has reloaded and publishes it
//!    too, so a verifier that fetches the JWKS from any instance finds the kid of any token.
//!    Until then the previous key keeps signing.
//! 3. A retired key still verifies and stays in the JWKS for
//!    [`KeyRingSettings::retention`]: the access TTL, plus twice the reload interval (the
//!    pre-publication period, and an instance that has not reloaded yet), plus the leeway. After
//!    that no token it signed can be valid, and it is deleted.
//!
//! Each instance re-reads the keys every `tokens.key_reload_interval`, and at once (at most once
//! a second) when a token names a kid it does not know.
//!
//! With `tokens.algorithm = "HS…"` the one key is `tokens.hmac_secret` from the config; nothing is
//! stored and the JWKS is empty (a shared secret is never published).

use std::sync::{Arc, RwLock};

use gatehouse_store::{NewSigningKey, SigningKey as StoredKey, Store, StoreError};
use gatehouse_token::{
    Algorithm, JwkSet, KeyError, KeyId, KeySet, Reason, Rejection, SigningKey, UnixTime,
    Validation, VerifiedToken, Verifier,
};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::config::{SigningAlgorithm, TokenConfig};

/// The `typ` every access token carries (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The kid of the HMAC key taken from `tokens.hmac_secret`.
pub const HMAC_KID: &str = "gatehouse-hmac";

/// Why the key ring could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    /// The store failed.
    #[error("reading or writing signing keys failed")]
    Store(#[from] StoreError),
    /// A key could not be generated, parsed or used.
    #[error("signing key {kid}: {source}")]
    Key {
        /// The key's id (or `new` for one being generated).
        kid: String,
        /// What the token crate said.
        source: KeyError,
    },
    /// Rotation was asked for while the signing key is the HMAC secret from the config.
    #[error(
        "tokens.algorithm is {0}: the key is tokens.hmac_secret, so rotate it by changing the config"
    )]
    HmacFromConfig(SigningAlgorithm),
    /// No stored key may sign, even after generating one.
    #[error("no usable signing key in the database")]
    NoUsableKey,
}

/// What the ring needs from the config.
#[derive(Debug, Clone)]
pub struct KeyRingSettings {
    /// Algorithm of new keys.
    pub algorithm: SigningAlgorithm,
    /// The HMAC secret when `algorithm` is HS*.
    pub hmac_secret: Option<secrecy::SecretString>,
    /// `iss` accepted by the verifier.
    pub issuer: String,
    /// `aud` accepted by the verifier.
    pub audience: String,
    /// Access-token lifetime.
    pub access_ttl: time::Duration,
    /// How often instances reload the keys.
    pub reload_interval: time::Duration,
    /// Clock skew tolerated.
    pub leeway: time::Duration,
}

impl KeyRingSettings {
    /// Settings from the `[tokens]` config and the issuer.
    pub fn from_config(tokens: &TokenConfig, issuer: &str) -> Self {
        Self {
            algorithm: tokens.algorithm,
            hmac_secret: tokens.hmac_secret.clone(),
            issuer: issuer.to_owned(),
            audience: tokens.audience.clone(),
            access_ttl: tokens.access_ttl.as_time(),
            reload_interval: tokens.key_reload_interval.as_time(),
            leeway: tokens.leeway.as_time(),
        }
    }

    /// How long a retired key keeps verifying: access TTL + 2 × reload interval + leeway.
    pub fn retention(&self) -> time::Duration {
        self.access_ttl + self.reload_interval * 2 + self.leeway
    }

    fn validation(&self) -> Validation {
        let leeway = u64::try_from(self.leeway.whole_seconds()).unwrap_or(0);
        Validation::new()
            .with_issuers([self.issuer.clone()])
            .with_audiences([self.audience.clone()])
            .with_leeway(leeway)
            .with_required_claims(["exp", "iat", "sub", "jti", "iss", "aud"])
            .with_expected_typ(ACCESS_TOKEN_TYP)
    }
}

/// One consistent view of the keys: the signer and the verifier built from the same load.
#[derive(Debug)]
struct Loaded {
    signer: Arc<SigningKey>,
    verifier: Verifier,
    jwks: JwkSet,
    loaded_at: OffsetDateTime,
}

/// The keys of this instance. Cheap to share (`Arc` it in the state).
pub struct KeyRing {
    store: Arc<dyn Store>,
    settings: KeyRingSettings,
    current: RwLock<Arc<Loaded>>,
    /// Serialises reloads; holds when the last one finished so misses cannot stampede the store.
    reload: Mutex<OffsetDateTime>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the keys, generating and storing the first one when there is no usable key of the
    /// configured algorithm.
    pub async fn load(
        store: Arc<dyn Store>,
        settings: KeyRingSettings,
        now: OffsetDateTime,
    ) -> Result<Self, KeyRingError> {
        if settings.algorithm.hmac_min_secret_len().is_none() {
            match store.active_signing_key(now).await? {
                None => {
                    add_key(store.as_ref(), settings.algorithm, now).await?;
                    tracing::info!(algorithm = %settings.algorithm, "generated a signing key");
                }
                Some(key) if key.algorithm != settings.algorithm.as_str() => {
                    // tokens.algorithm changed: rotate, so the old key retires in order.
                    rotate(store.as_ref(), settings.algorithm, now).await?;
                    tracing::info!(algorithm = %settings.algorithm, "rotated to a key of the configured algorithm");
                }
                Some(_) => {}
            }
        }
        let loaded = build(store.as_ref(), &settings, now).await?;
        Ok(Self {
            store,
            settings,
            current: RwLock::new(Arc::new(loaded)),
            reload: Mutex::new(now),
        })
    }

    fn current(&self) -> Arc<Loaded> {
        // A poisoned lock still holds a complete `Arc<Loaded>`; keep serving it.
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The key new tokens are signed with.
    pub fn signer(&self) -> Arc<SigningKey> {
        Arc::clone(&self.current().signer)
    }

    /// The public keys tokens may be signed with (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> JwkSet {
        self.current().jwks.clone()
    }

    /// The settings the ring was built with.
    pub fn settings(&self) -> &KeyRingSettings {
        &self.settings
    }

    /// Verifies an access token's signature and claims (typ `at+jwt`, issuer, audience, time).
    /// A token naming an unknown kid makes the ring reload once and try again, so keys added by
    /// another instance verify immediately. Revocation is checked by the caller.
    pub async fn verify(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<VerifiedToken, Rejection> {
        let at = UnixTime::from_secs(now.unix_timestamp());
        match self.current().verifier.verify(token, at) {
            Err(rejection) if rejection.reason == Reason::UnknownKid => {
                if self.reload_on_miss(now).await {
                    self.current().verifier.verify(token, at)
                } else {
                    Err(rejection)
                }
            }
            other => other,
        }
    }

    /// Re-reads the keys from the store (periodic reload). On failure the old keys stay.
    pub async fn reload(&self, now: OffsetDateTime) -> Result<(), KeyRingError> {
        let mut last = self.reload.lock().await;
        self.reload_locked(now).await?;
        *last = now;
        Ok(())
    }

    /// Reloads unless another reload finished within the last second. Returns whether the
    /// keys were reloaded.
    async fn reload_on_miss(&self, now: OffsetDateTime) -> bool {
        let mut last = self.reload.lock().await;
        if now - *last < time::Duration::SECOND {
            return false;
        }
        *last = now;
        match self.reload_locked(now).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, "reloading signing keys failed; keeping the old ones");
                false
            }
        }
    }

    async fn reload_locked(&self, now: OffsetDateTime) -> Result<(), KeyRingError> {
        let loaded = build(self.store.as_ref(), &self.settings, now).await?;
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Arc::new(loaded);
        Ok(())
    }

    /// When the keys were last loaded.
    pub fn loaded_at(&self) -> OffsetDateTime {
        self.current().loaded_at
    }

    /// Reloads every `tokens.key_reload_interval` until the returned task is aborted.
    pub fn spawn_reloader(
        self: &Arc<Self>,
        clock: Arc<dyn crate::Clock>,
    ) -> tokio::task::JoinHandle<()> {
        let ring = Arc::clone(self);
        let period = std::time::Duration::try_from(self.settings.reload_interval)
            .unwrap_or(std::time::Duration::from_secs(60));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(error) = ring.reload(clock.now()).await {
                    tracing::warn!(error = %error, "periodic signing-key reload failed");
                }
            }
        })
    }
}

/// Adds a new active key of `algorithm` and retires every older key. Returns the new kid.
///
/// Running instances keep signing with their current key until their next reload, which is
/// why retired keys are kept for [`KeyRingSettings::retention`].
pub async fn rotate(
    store: &dyn Store,
    algorithm: SigningAlgorithm,
    now: OffsetDateTime,
) -> Result<KeyId, KeyRingError> {
    if algorithm.hmac_min_secret_len().is_some() {
        return Err(KeyRingError::HmacFromConfig(algorithm));
    }
    let kid = add_key(store, algorithm, now).await?;
    for key in store.signing_keys().await? {
        if key.kid != kid.as_str() && key.retired_at.is_none() {
            store.retire_signing_key(&key.kid, now).await?;
        }
    }
    Ok(kid)
}

async fn add_key(
    store: &dyn Store,
    algorithm: SigningAlgorithm,
    now: OffsetDateTime,
) -> Result<KeyId, KeyRingError> {
    let key =
        SigningKey::generate(token_algorithm(algorithm)).map_err(|source| KeyRingError::Key {
            kid: String::from("new"),
            source,
        })?;
    let kid = key.kid().clone();
    store
        .add_signing_key(
            NewSigningKey {
                kid: kid.as_str().to_owned(),
                algorithm: algorithm.as_str().to_owned(),
                private_pem: key.to_pem().to_string(),
                not_after: None,
            },
            now,
        )
        .await?;
    Ok(kid)
}

/// The token crate's algorithm for a configured one.
pub fn token_algorithm(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::Es256 => Algorithm::Es256,
        SigningAlgorithm::Es384 => Algorithm::Es384,
        SigningAlgorithm::Rs256 => Algorithm::Rs256,
        SigningAlgorithm::Ps256 => Algorithm::Ps256,
        SigningAlgorithm::EdDsa => Algorithm::EdDsa,
        SigningAlgorithm::Hs256 => Algorithm::Hs256,
        SigningAlgorithm::Hs384 => Algorithm::Hs384,
        SigningAlgorithm::Hs512 => Algorithm::Hs512,
    }
}

/// Whether a stored key may still verify at `now`.
fn in_use(key: &StoredKey, retention: time::Duration, now: OffsetDateTime) -> bool {
    key.retired_at
        .is_none_or(|retired| now < retired + retention)
}

async fn build(
    store: &dyn Store,
    settings: &KeyRingSettings,
    now: OffsetDateTime,
) -> Result<Loaded, KeyRingError> {
    match build_once(store, settings, now).await? {
        Some(loaded) => Ok(loaded),
        None => {
            // Every stored key was retired or expired (e.g. keys deleted by hand): make one.
            add_key(store, settings.algorithm, now).await?;
            build_once(store, settings, now)
                .await?
                .ok_or(KeyRingError::NoUsableKey)
        }
    }
}

/// Builds the ring from the stored keys; `None` when no stored key may sign.
async fn build_once(
    store: &dyn Store,
    settings: &KeyRingSettings,
    now: OffsetDateTime,
) -> Result<Option<Loaded>, KeyRingError> {
    let validation = settings.validation();
    if settings.algorithm.hmac_min_secret_len().is_some() {
        let secret = settings
            .hmac_secret
            .as_ref()
            .map(|s| s.expose_secret().as_bytes())
            .unwrap_or_default();
        let kid_error = |source| KeyRingError::Key {
            kid: String::from(HMAC_KID),
            source,
        };
        let kid = KeyId::new(HMAC_KID).map_err(kid_error)?;
        let key = SigningKey::from_hmac_secret(token_algorithm(settings.algorithm), secret, kid)
            .map_err(kid_error)?;
        let keys = KeySet::new(vec![key.verifying_key()]).map_err(kid_error)?;
        return Ok(Some(Loaded {
            signer: Arc::new(key),
            verifier: Verifier::new(keys, validation),
            jwks: JwkSet { keys: Vec::new() },
            loaded_at: now,
        }));
    }

    let retention = settings.retention();
    let stored = store.signing_keys().await?;
    // The newest key that every instance publishes by now signs; right after the very first
    // key was made (or when every key is newer than that), the newest key signs.
    let mut signer = None;
    let mut newest = None;
    let mut verifying = Vec::new();
    for key in &stored {
        if !in_use(key, retention, now) {
            // No token this key signed can still be valid: forget it. Another instance may
            // have deleted it already, which is fine.
            match store.delete_signing_key(&key.kid).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {
                    tracing::info!(kid = %key.kid, "deleted a signing key past its retention");
                }
                Err(error) => return Err(error.into()),
            }
            continue;
        }
        let parsed =
            SigningKey::from_pem(&key.private_pem).map_err(|source| KeyRingError::Key {
                kid: key.kid.clone(),
                source,
            })?;
        let parsed = match KeyId::new(key.kid.clone()) {
            Ok(kid) => parsed.with_kid(kid),
            Err(source) => {
                return Err(KeyRingError::Key {
                    kid: key.kid.clone(),
                    source,
                });
            }
        };
        verifying.push(parsed.verifying_key());
        // `signing_keys` is newest first.
        let usable = key.not_after.is_none_or(|end| now < end);
        let published_everywhere = key.created_at + settings.reload_interval <= now;
        if usable && signer.is_none() && published_everywhere {
            signer = Some(parsed);
        } else if usable && newest.is_none() {
            newest = Some(parsed);
        }
    }
    let Some(signer) = signer.or(newest) else {
        return Ok(None);
    };
    let keys = KeySet::new(verifying).map_err(|source| KeyRingError::Key {
        kid: signer.kid().as_str().to_owned(),
        source,
    })?;
    let jwks = keys.to_jwks();
    Ok(Some(Loaded {
        signer: Arc::new(signer),
        verifier: Verifier::new(keys, validation),
        jwks,
        loaded_at: now,
    }))
}
