//! Password hashing: Argon2id for new hashes, bcrypt accepted for imported ones, all of it on a
//! bounded blocking pool.
//!
//! Hashing is deliberately expensive (~14 ms of CPU for the OWASP parameters, ~230 ms for a
//! bcrypt cost-12 verify), so running it on the async workers would let a flood of logins stall
//! every other request. Each hash or verify runs in `spawn_blocking` behind a semaphore sized to
//! the number of cores: excess logins wait their turn while health checks, refreshes and proxied
//! requests keep flowing.

use std::num::NonZeroUsize;
use std::sync::Arc;

use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::{AuthError, Password};

/// Argon2id cost parameters and the size of the hashing pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashingConfig {
    /// Memory cost in KiB (OWASP: 19456 = 19 MiB).
    pub memory_kib: u32,
    /// Number of passes (OWASP: 2).
    pub iterations: u32,
    /// Degree of parallelism (OWASP: 1).
    pub parallelism: u32,
    /// How many hashes may run at once; defaults to the number of cores.
    pub max_concurrent: NonZeroUsize,
}

impl Default for HashingConfig {
    fn default() -> Self {
        Self {
            memory_kib: argon2::Params::DEFAULT_M_COST,
            iterations: argon2::Params::DEFAULT_T_COST,
            parallelism: argon2::Params::DEFAULT_P_COST,
            max_concurrent: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The password is right. `rehash` is true when the stored hash is bcrypt or uses other
    /// Argon2 parameters than the configured ones, so it should be replaced now that the
    /// plaintext is at hand.
    Match {
        /// Whether the stored hash should be upgraded.
        rehash: bool,
    },
    /// The password is wrong (or the account does not exist).
    Mismatch,
}

/// Hashes and verifies passwords on a bounded blocking pool. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: argon2::Params,
    permits: Semaphore,
    /// A hash of a random password with the configured parameters; verified instead of a real
    /// hash when the account does not exist, so unknown and known usernames cost the same work.
    dummy_hash: String,
}

impl PasswordHasher {
    /// Builds a hasher. Computes one hash (the dummy) synchronously, so call it at start-up.
    pub fn new(config: &HashingConfig) -> Result<Self, AuthError> {
        let params = argon2::Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| AuthError::HashingConfig(e.to_string()))?;
        let dummy_password: [u8; 32] = rand::random();
        let dummy_hash = argon2id(&params)
            .hash_password(&dummy_password)
            .map_err(|e| AuthError::Hashing(e.to_string()))?
            .to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Semaphore::new(config.max_concurrent.get()),
                dummy_hash,
            }),
        })
    }

    /// Hashes a new password with Argon2id, returning a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String, AuthError> {
        self.hash_secret(password.secret()).await
    }

    /// Hashes a secret that needs no password policy: a password already proven right at
    /// login (rehash), or a generated service-client secret.
    pub async fn hash_secret(&self, secret: &SecretString) -> Result<String, AuthError> {
        let secret = secret.clone();
        let params = self.inner.params.clone();
        self.run(move || {
            argon2id(&params)
                .hash_password(secret.expose_secret().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| AuthError::Hashing(e.to_string()))
        })
        .await
    }

    /// Checks `attempt` against `stored` (a PHC Argon2 string or a `$2a$`/`$2b$`/`$2y$` bcrypt
    /// hash). With `stored = None` the dummy hash is checked instead and the answer is always
    /// [`Verdict::Mismatch`], after the same work as for a real account.
    pub async fn verify(
        &self,
        attempt: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verdict, AuthError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.inner.dummy_hash).to_owned();
        let attempt = attempt.clone();
        let inner = Arc::clone(&self.inner);
        let verdict = self
            .run(move || verify_blocking(&inner.params, attempt.expose_secret(), &stored))
            .await?;
        Ok(if known { verdict } else { Verdict::Mismatch })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        // The semaphore is never closed, so acquire cannot fail in practice; map it anyway
        // rather than panic.
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|e| AuthError::Hashing(e.to_string()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| AuthError::Hashing(e.to_string()))?
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .finish_non_exhaustive()
    }
}

fn argon2id(params: &argon2::Params) -> Argon2<'static> {
    Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.clone(),
    )
}

fn verify_blocking(
    configured: &argon2::Params,
    attempt: &str,
    stored: &str,
) -> Result<Verdict, AuthError> {
    if is_bcrypt(stored) {
        // `verify` (not `non_truncating_verify`) because the hashes were made by libraries that
        // silently used only the first 72 bytes; refusing longer passwords now would lock those
        // people out. The hash is replaced with Argon2id right after.
        return match bcrypt::verify(attempt, stored) {
            Ok(true) => Ok(Verdict::Match { rehash: true }),
            Ok(false) => Ok(Verdict::Mismatch),
            Err(_) => Err(AuthError::UnsupportedHash),
        };
    }
    let parsed = PasswordHash::new(stored).map_err(|_| AuthError::UnsupportedHash)?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(AuthError::UnsupportedHash);
    }
    // The parameters recorded in the hash are the ones used to verify it.
    match Argon2::default().verify_password(attempt.as_bytes(), &parsed) {
        Ok(()) => {
            let current = parsed.algorithm == argon2::ARGON2ID_IDENT
                && argon2::Params::try_from(&parsed).is_ok_and(|p| {
                    p.m_cost() == configured.m_cost()
                        && p.t_cost() == configured.t_cost()
                        && p.p_cost() == configured.p_cost()
                });
            Ok(Verdict::Match { rehash: !current })
        }
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(Verdict::Mismatch),
        Err(_) => Err(AuthError::UnsupportedHash),
    }
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| stored.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Username;

    /// Small parameters so the tests stay fast; the code paths are the same.
    fn fast() -> HashingConfig {
        HashingConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: NonZeroUsize::MIN,
        }
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn password(s: &str) -> Password {
        Password::new(secret(s), &Username::parse("alice").unwrap()).unwrap()
    }

    #[test]
    fn the_default_parameters_are_the_owasp_ones() {
        let config = HashingConfig::default();
        assert_eq!(
            (config.memory_kib, config.iterations, config.parallelism),
            (19456, 2, 1)
        );
    }

    #[tokio::test]
    async fn a_new_hash_is_argon2id_and_verifies_only_the_right_password() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let hash = hasher
            .hash(&password("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert_eq!(
            hasher
                .verify(&secret("correct horse battery"), Some(&hash))
                .await
                .unwrap(),
            Verdict::Match { rehash: false }
        );
        assert_eq!(
            hasher
                .verify(&secret("correct horse batterY"), Some(&hash))
                .await
                .unwrap(),
            Verdict::Mismatch
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        assert_eq!(
            hasher.verify(&secret("anything"), None).await.unwrap(),
            Verdict::Mismatch
        );
    }

    #[tokio::test]
    async fn a_hash_with_other_argon2_parameters_asks_for_a_rehash() {
        let old = PasswordHasher::new(&HashingConfig {
            memory_kib: 128,
            ..fast()
        })
        .unwrap();
        let hash = old.hash(&password("correct horse battery")).await.unwrap();
        let hasher = PasswordHasher::new(&fast()).unwrap();
        assert_eq!(
            hasher
                .verify(&secret("correct horse battery"), Some(&hash))
                .await
                .unwrap(),
            Verdict::Match { rehash: true }
        );
    }

    #[tokio::test]
    async fn an_imported_bcrypt_hash_verifies_and_asks_for_an_upgrade() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let made = bcrypt::hash("hunter2hunter2", 4).unwrap();
            let hash = made.replacen("$2b$", prefix, 1);
            assert_eq!(
                hasher
                    .verify(&secret("hunter2hunter2"), Some(&hash))
                    .await
                    .unwrap(),
                Verdict::Match { rehash: true },
                "{prefix}"
            );
            assert_eq!(
                hasher
                    .verify(&secret("hunter3hunter3"), Some(&hash))
                    .await
                    .unwrap(),
                Verdict::Mismatch
            );
        }
    }

    #[tokio::test]
    async fn an_unknown_hash_format_is_an_error_not_a_match() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        for stored in [
            "plaintext",
            "$1$abc$def",
            "$pbkdf2-sha256$i=1$c2FsdA$aGFzaA",
        ] {
            assert!(matches!(
                hasher.verify(&secret("plaintext"), Some(stored)).await,
                Err(AuthError::UnsupportedHash)
            ));
        }
    }
}
