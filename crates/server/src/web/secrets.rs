//! The web UI's keys, all derived from one 64-byte master (the cookie key): the cookie key
//! itself, a sealing key for tokens kept in the database, and a CSRF key.
//!
//! Deriving separate keys means a value produced for one purpose (a CSRF token, a sealed refresh
//! token) can never be replayed as another.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use axum_extra::extract::cookie::Key;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::web::{COOKIE_KEY_MIN_BYTES, decode_key};

/// Name under which a generated master key is kept in the database.
const STORED_KEY_NAME: &str = "cookie_key";

/// The keys of the web UI. Cheap to clone.
#[derive(Clone)]
pub struct WebKeys {
    cookie: Key,
    seal: std::sync::Arc<LessSafeKey>,
    csrf: hmac::Key,
}

impl std::fmt::Debug for WebKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebKeys(..)")
    }
}

/// A sealed value could not be opened: wrong key or tampered data.
#[derive(Debug, thiserror::Error)]
#[error("a sealed value could not be opened")]
pub struct Unsealable;

impl WebKeys {
    /// Derives the keys from a master of at least 64 bytes; `None` when it is shorter.
    pub fn from_master(master: &[u8]) -> Option<Self> {
        if master.len() < COOKIE_KEY_MIN_BYTES {
            return None;
        }
        let cookie = Key::try_from(master).ok()?;
        let seal_bytes = derive(master, b"gatehouse web: seal stored tokens");
        let seal = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &seal_bytes).ok()?);
        let csrf = hmac::Key::new(
            hmac::HMAC_SHA256,
            &derive(master, b"gatehouse web: csrf tokens"),
        );
        Some(Self {
            cookie,
            seal: std::sync::Arc::new(seal),
            csrf,
        })
    }

    /// The keys from the configured master, or from the one kept in the database (generated and
    /// stored on first start; every instance on the database agrees on it).
    pub async fn load(
        configured: Option<Vec<u8>>,
        store: &dyn gatehouse_store::Store,
    ) -> Result<Self, WebKeyError> {
        let master = match configured {
            Some(bytes) => bytes,
            None => {
                let candidate = STANDARD.encode(random_bytes::<64>());
                let stored = store
                    .web_secret(STORED_KEY_NAME, &candidate)
                    .await
                    .map_err(WebKeyError::Store)?;
                decode_key(&stored).map_err(|_| WebKeyError::Corrupt)?
            }
        };
        Self::from_master(&master).ok_or(WebKeyError::Corrupt)
    }

    /// The key of the private (encrypted and authenticated) cookies.
    pub fn cookie(&self) -> &Key {
        &self.cookie
    }

    /// Encrypts `plain` for storage: base64url of nonce ‖ ciphertext ‖ tag. `context` is bound
    /// as associated data, so a value sealed for one row cannot be moved to another.
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buffer = plain.as_bytes().to_vec();
        let sealed = self.seal.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(context.as_bytes()),
            &mut buffer,
        );
        // AES-GCM sealing only fails for inputs beyond 64 GiB; a token is a few hundred bytes.
        if sealed.is_err() {
            buffer.clear();
        }
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a value made by [`WebKeys::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, Unsealable> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| Unsealable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut buffer = rest.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| Unsealable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Unsealable)
    }

    /// The CSRF token for a browser: an HMAC of its CSRF nonce and its session (empty when
    /// signed out), so a token stops working when the session changes.
    pub fn csrf_token(&self, nonce: &str, session: &str) -> String {
        let tag = hmac::sign(&self.csrf, format!("{nonce}\u{0}{session}").as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Whether `presented` is the CSRF token of this browser, compared in constant time.
    pub fn csrf_matches(&self, presented: &str, nonce: &str, session: &str) -> bool {
        let expected = self.csrf_token(nonce, session);
        expected.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// Why the web keys could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebKeyError {
    /// The database could not be read or written.
    #[error("reading the stored cookie key failed")]
    Store(#[source] gatehouse_store::StoreError),
    /// The stored key is not 64 bytes of base64.
    #[error("the cookie key stored in the database is malformed; set web.cookie_key")]
    Corrupt,
}

/// Hex SHA-256: how a session id is stored (the cookie holds the id itself).
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random value for cookies and OAuth parameters: 32 bytes, base64url.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes);
    bytes
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, master);
    let tag = hmac::sign(&key, label);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> WebKeys {
        WebKeys::from_master(&[byte; 64]).unwrap()
    }

    #[test]
    fn a_master_under_64_bytes_gives_no_keys() {
        assert!(WebKeys::from_master(&[1; 63]).is_none());
    }

    #[test]
    fn a_sealed_value_opens_only_with_the_same_key_and_context() {
        let sealed = keys(1).seal("refresh-token", "row-a");
        assert!(!sealed.contains("refresh-token"));
        assert_eq!(keys(1).open(&sealed, "row-a").unwrap(), "refresh-token");
        assert!(keys(1).open(&sealed, "row-b").is_err());
        assert!(keys(2).open(&sealed, "row-a").is_err());
        assert!(keys(1).open("garbage", "row-a").is_err());
    }

    #[test]
    fn a_csrf_token_is_bound_to_the_nonce_and_the_session() {
        let k = keys(1);
        let token = k.csrf_token("nonce", "session");
        assert!(k.csrf_matches(&token, "nonce", "session"));
        assert!(!k.csrf_matches(&token, "nonce", "other-session"));
        assert!(!k.csrf_matches(&token, "other-nonce", "session"));
        assert!(!k.csrf_matches("", "nonce", "session"));
        assert!(!keys(2).csrf_matches(&token, "nonce", "session"));
    }
}
