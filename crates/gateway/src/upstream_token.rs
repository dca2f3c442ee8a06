//! The internal token for upstreams (`X-Auth-Token`): a short-lived JWT Gatehouse signs for one
//! upstream (its name as `aud`), so a service can verify, zero-trust, that a request came
//! through the gateway and for whom. Its `typ` differs from an access token's, so it can never
//! be used as one. Minted tokens are cached per subject and upstream.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_token::{KeyError, SigningKey, UnixTime};
use serde_json::{Map, Value};

use crate::subject::Subject;

/// The `typ` header of upstream tokens.
pub const UPSTREAM_TOKEN_TYP: &str = "gatehouse-upstream+jwt";
/// Lifetime of an upstream token.
pub const UPSTREAM_TOKEN_TTL_SECS: i64 = 60;
/// A cached token is reused while it has at least this long to live, so an upstream never
/// receives a token about to expire.
const MIN_REMAINING_SECS: i64 = 15;

/// Where upstream tokens come from: Gatehouse's current signing key and issuer.
pub trait UpstreamSigner: Send + Sync {
    /// The `iss` of the tokens.
    fn issuer(&self) -> &str;
    /// The key to sign with now.
    fn signing_key(&self) -> Arc<SigningKey>;
}

/// Signs one upstream token.
pub fn mint(
    key: &SigningKey,
    issuer: &str,
    subject: &Subject,
    audience: &str,
    now: UnixTime,
) -> Result<String, KeyError> {
    let list = |set: &std::collections::BTreeSet<String>| {
        Value::Array(set.iter().cloned().map(Value::String).collect())
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), issuer.into());
    claims.insert("sub".into(), subject.id.clone().into());
    claims.insert("aud".into(), audience.into());
    claims.insert("iat".into(), now.as_secs().into());
    claims.insert("nbf".into(), now.as_secs().into());
    claims.insert(
        "exp".into(),
        (now.as_secs() + UPSTREAM_TOKEN_TTL_SECS).into(),
    );
    claims.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    // Which trusted issuer vouched for the caller (`gatehouse` or an `[[issuers]]` name).
    claims.insert("idp".into(), subject.issuer.as_str().into());
    if let Some(username) = &subject.username {
        claims.insert("preferred_username".into(), username.clone().into());
    }
    claims.insert("roles".into(), list(&subject.roles));
    claims.insert("groups".into(), list(&subject.groups));
    claims.insert("permissions".into(), list(&subject.permissions));
    key.sign(Some(UPSTREAM_TOKEN_TYP), &claims)
}

/// Minted tokens by (subject, audience), reused until shortly before they expire.
#[derive(Clone)]
pub struct UpstreamTokenCache {
    entries: moka::sync::Cache<(Subject, String), (Arc<str>, UnixTime)>,
}

impl std::fmt::Debug for UpstreamTokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTokenCache").finish_non_exhaustive()
    }
}

impl UpstreamTokenCache {
    /// A cache of at most `capacity` tokens.
    pub fn new(capacity: u64) -> Self {
        let ttl =
            Duration::from_secs((UPSTREAM_TOKEN_TTL_SECS - MIN_REMAINING_SECS).unsigned_abs());
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// A token for `subject` at `audience`: the cached one while it has time left, else a new
    /// one.
    pub fn get(
        &self,
        signer: &dyn UpstreamSigner,
        subject: &Subject,
        audience: &str,
        now: UnixTime,
    ) -> Result<Arc<str>, KeyError> {
        let key = (subject.clone(), audience.to_owned());
        if let Some((token, expires_at)) = self.entries.get(&key)
            && expires_at.as_secs() - now.as_secs() >= MIN_REMAINING_SECS
        {
            return Ok(token);
        }
        let token: Arc<str> = mint(
            &signer.signing_key(),
            signer.issuer(),
            subject,
            audience,
            now,
        )?
        .into();
        let expires_at = UnixTime::from_secs(now.as_secs() + UPSTREAM_TOKEN_TTL_SECS);
        self.entries.insert(key, (Arc::clone(&token), expires_at));
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::IssuerName;
    use gatehouse_token::{Algorithm, KeySet, Validation, Verifier};

    struct Fixed(Arc<SigningKey>);

    impl UpstreamSigner for Fixed {
        fn issuer(&self) -> &str {
            "https://gatehouse.example"
        }
        fn signing_key(&self) -> Arc<SigningKey> {
            Arc::clone(&self.0)
        }
    }

    fn alice() -> Subject {
        let mut s = Subject::new("u-1", IssuerName::new("entra").unwrap());
        s.roles = ["Admin".to_owned()].into();
        s
    }

    #[test]
    fn an_upstream_token_verifies_for_its_audience_only_and_is_reused() {
        let signer = Fixed(Arc::new(SigningKey::generate(Algorithm::Es256).unwrap()));
        let cache = UpstreamTokenCache::new(10);
        let now = UnixTime::from_secs(1_800_000_000);
        let token = cache
            .get(&signer, &alice(), "http://reports:9000", now)
            .unwrap();
        let keys = KeySet::new(vec![signer.0.verifying_key()]).unwrap();
        let verify = |aud: &str| {
            Verifier::new(
                keys.clone(),
                Validation::new()
                    .with_issuers(["https://gatehouse.example"])
                    .with_audiences([aud])
                    .with_expected_typ(UPSTREAM_TOKEN_TYP),
            )
            .verify(&token, now)
        };
        let verified = verify("http://reports:9000").unwrap();
        assert_eq!(verified.claims.subject(), Some("u-1"));
        assert_eq!(
            verified.claims.get("idp").and_then(Value::as_str),
            Some("entra")
        );
        assert!(verify("http://other:9000").is_err());

        let again = cache
            .get(&signer, &alice(), "http://reports:9000", now)
            .unwrap();
        assert_eq!(again, token, "reused while fresh");
        let later = UnixTime::from_secs(now.as_secs() + 50);
        let renewed = cache
            .get(&signer, &alice(), "http://reports:9000", later)
            .unwrap();
        assert_ne!(renewed, token, "renewed when about to expire");
    }

    #[test]
    fn an_upstream_token_is_not_an_access_token() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let now = UnixTime::from_secs(1_800_000_000);
        let token = mint(&key, "https://gh", &alice(), "aud", now).unwrap();
        let verifier = Verifier::new(
            KeySet::new(vec![key.verifying_key()]).unwrap(),
            Validation::new()
                .with_audiences(["aud"])
                .with_expected_typ("at+jwt"),
        );
        assert!(verifier.verify(&token, now).is_err());
    }
}
