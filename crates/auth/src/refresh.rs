//! Opaque refresh tokens and the key that links each one to its successor.
//!
//! A refresh token is 256 random bits, base64url without padding (43 characters). Only its
//! SHA-256 ([`TokenHash`]) is stored. When a token is rotated, its child is not random but
//! `HMAC-SHA256(key, parent)`: the same parent always yields the same child, so when two tabs
//! present one token within the grace period the second one can be handed the very child the
//! first received, although the database never held that child's plaintext. Without the key,
//! a thief holding an old token cannot compute its successors.

use std::fmt;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_store::TokenHash;
use gatehouse_token::SigningKey;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// An opaque refresh token as handed to a client. `Debug` never shows it.
#[derive(Clone)]
pub struct RefreshToken(SecretString);

impl RefreshToken {
    /// Characters in a token: 32 bytes in unpadded base64url.
    pub const LEN: usize = 43;

    /// A fresh random token (the first of a session).
    pub fn generate() -> Self {
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        Self::from_bytes(bytes.as_ref())
    }

    /// Accepts a token presented by a client if it has the right shape; anything else cannot
    /// be a token this crate issued, so it is refused before touching the database.
    pub fn parse(presented: &str) -> Option<Self> {
        let well_formed = presented.len() == Self::LEN
            && URL_SAFE_NO_PAD
                .decode(presented)
                .is_ok_and(|bytes| bytes.len() == 32);
        well_formed.then(|| Self(SecretString::from(presented.to_owned())))
    }

    /// The token text, to put in a response body.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The SHA-256 under which the store keeps it.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of_token(self.expose())
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([REDACTED])")
    }
}

/// The secret that derives a rotated refresh token from its parent. Every instance serving one
/// database must derive the same key, or a double submit that lands on another instance cannot
/// be answered with the same child (it is then refused, without revoking the session).
#[derive(Clone)]
pub struct RefreshTokenKey(hmac::Key);

impl RefreshTokenKey {
    /// The fewest secret bytes accepted.
    pub const MIN_BYTES: usize = 32;

    /// A key from secret bytes (at least [`Self::MIN_BYTES`]); `None` if too short.
    pub fn from_secret(secret: &[u8]) -> Option<Self> {
        (secret.len() >= Self::MIN_BYTES).then(|| Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// A random key (tests).
    pub fn generate() -> Self {
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref()))
    }

    /// The key derived from a token-signing key's private material.
    ///
    /// Every instance on one database signs with the same active key, so they all derive the
    /// same refresh key with no extra secret to configure, share or rotate. Whoever holds the
    /// signing key can forge access tokens anyway, so this exposes nothing new. When the
    /// signing key rotates, a double submit straddling the rotation cannot be repeated and is
    /// refused without revoking the session (see [`crate::Auth::refresh`]).
    pub fn for_signer(signer: &SigningKey) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"gatehouse refresh-token key v1\0");
        digest.update(signer.to_pem().as_bytes());
        let secret = Zeroizing::new(<[u8; 32]>::from(digest.finalize()));
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref()))
    }

    /// The child that replaces `parent` at rotation.
    pub fn child_of(&self, parent: &RefreshToken) -> RefreshToken {
        let mut context = hmac::Context::with_key(&self.0);
        // Domain separation: this key may one day derive other values.
        context.update(b"gatehouse refresh-token child v1\0");
        context.update(parent.expose().as_bytes());
        RefreshToken::from_bytes(context.sign().as_ref())
    }
}

impl fmt::Debug for RefreshTokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshTokenKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_43_base64url_characters_and_parses_back() {
        let token = RefreshToken::generate();
        assert_eq!(token.expose().len(), RefreshToken::LEN);
        let parsed = RefreshToken::parse(token.expose()).unwrap();
        assert_eq!(parsed.hash(), token.hash());
    }

    #[test]
    fn two_generated_tokens_differ() {
        assert_ne!(
            RefreshToken::generate().hash(),
            RefreshToken::generate().hash()
        );
    }

    #[test]
    fn strings_of_the_wrong_shape_are_not_tokens() {
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &"+".repeat(43),
            &"a".repeat(42),
        ] {
            assert!(RefreshToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_child_of_a_token_is_the_same_every_time_and_depends_on_the_key() {
        let key = RefreshTokenKey::generate();
        let parent = RefreshToken::generate();
        let child = key.child_of(&parent);
        assert_eq!(key.child_of(&parent).hash(), child.hash());
        assert_ne!(child.hash(), parent.hash());
        assert!(RefreshToken::parse(child.expose()).is_some());
        let other_key = RefreshTokenKey::generate();
        assert_ne!(other_key.child_of(&parent).hash(), child.hash());
    }

    #[test]
    fn instances_sharing_a_signing_key_derive_the_same_children() {
        let signer = SigningKey::generate(gatehouse_token::Algorithm::Es256).unwrap();
        let same = SigningKey::from_pem(&signer.to_pem()).unwrap();
        let other = SigningKey::generate(gatehouse_token::Algorithm::Es256).unwrap();
        let parent = RefreshToken::generate();
        let child = RefreshTokenKey::for_signer(&signer).child_of(&parent);
        assert_eq!(
            RefreshTokenKey::for_signer(&same).child_of(&parent).hash(),
            child.hash()
        );
        assert_ne!(
            RefreshTokenKey::for_signer(&other).child_of(&parent).hash(),
            child.hash()
        );
    }

    #[test]
    fn a_key_needs_32_secret_bytes() {
        assert!(RefreshTokenKey::from_secret(&[7; 31]).is_none());
        assert!(RefreshTokenKey::from_secret(&[7; 32]).is_some());
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let token = RefreshToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
