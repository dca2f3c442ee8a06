//! Access tokens: what they say (RFC 9068 shape), how they are signed, and when a
//! validly-signed one is nevertheless revoked.

use gatehouse_store::{SessionId, UserId};
use gatehouse_token::SigningKey;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::AuthError;

/// The JOSE `typ` of every access token Gatehouse signs (RFC 9068 §2.1). Verifiers demand it,
/// so no other kind of token Gatehouse signs can stand in for an access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Whose token it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSubject {
    /// A person, logged in through a session.
    User {
        /// The account (`sub`).
        id: UserId,
        /// The username (`preferred_username`).
        username: String,
        /// The session the token belongs to (`sid`).
        session: SessionId,
    },
    /// A service client of the `client_credentials` grant (`sub` = `client_id`).
    Client {
        /// The client's id.
        client_id: String,
    },
}

/// The claims of a Gatehouse access token, as issued and as read back after verification.
///
/// Unknown claims in a verified token are ignored when reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: the public URL of Gatehouse.
    pub iss: String,
    /// Subject: a user id, or a client id for `client_credentials` tokens.
    pub sub: String,
    /// Audience(s) the token is meant for.
    #[serde(with = "audience")]
    pub aud: Vec<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
    /// Unique id, the handle for revoking this one token.
    pub jti: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// The session (refresh-token family); absent for client tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The username; absent for client tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Permission strings: the union of the permissions of the roles.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Space-separated OAuth scopes (client tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl AccessClaims {
    /// Reads the claims of a token whose signature and standard claims were verified.
    pub fn from_verified(claims: &Map<String, Value>) -> Result<Self, AuthError> {
        serde_json::from_value(Value::Object(claims.clone()))
            .map_err(|_| AuthError::NotAnAccessToken)
    }

    /// Whose token this is, or `None` if `sub`/`sid` are not what Gatehouse writes.
    pub fn subject(&self) -> Option<TokenSubject> {
        match (&self.sid, &self.preferred_username) {
            (Some(sid), Some(username)) => Some(TokenSubject::User {
                id: self.sub.parse().ok()?,
                username: username.clone(),
                session: sid.parse().ok()?,
            }),
            (None, None) if self.sub == self.client_id => Some(TokenSubject::Client {
                client_id: self.client_id.clone(),
            }),
            _ => None,
        }
    }

    /// `exp` as a timestamp (for revoking the `jti` until then).
    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `iat` as a timestamp.
    pub fn issued_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.iat).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub(crate) fn sign(&self, key: &SigningKey) -> Result<String, AuthError> {
        let Ok(Value::Object(map)) = serde_json::to_value(self) else {
            // A struct of strings and integers always serialises to an object.
            return Err(AuthError::Encoding);
        };
        key.sign(Some(ACCESS_TOKEN_TYP), &map)
            .map_err(AuthError::Signing)
    }
}

/// `aud` is a string when there is one audience and an array otherwise (RFC 7519 §4.1.3);
/// accept both when reading.
mod audience {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(aud: &[String], s: S) -> Result<S::Ok, S::Error> {
        match aud {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_claims(aud: Vec<String>) -> AccessClaims {
        AccessClaims {
            iss: "https://auth.example.com".into(),
            sub: "0190c3c0-0000-7000-8000-000000000001".into(),
            aud,
            iat: 1_700_000_000,
            nbf: 1_700_000_000,
            exp: 1_700_000_900,
            jti: "abc".into(),
            client_id: "gatehouse".into(),
            sid: Some("0190c3c0-0000-7000-8000-000000000002".into()),
            preferred_username: Some("alice".into()),
            roles: vec!["admin".into()],
            groups: vec![],
            permissions: vec!["gatehouse:admin".into()],
            scope: None,
        }
    }

    #[test]
    fn a_single_audience_is_written_as_a_string_and_several_as_an_array() {
        let one = serde_json::to_value(user_claims(vec!["api".into()])).unwrap();
        assert_eq!(one["aud"], "api");
        let two = serde_json::to_value(user_claims(vec!["a".into(), "b".into()])).unwrap();
        assert_eq!(two["aud"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn claims_read_back_equal_the_claims_written() {
        let claims = user_claims(vec!["api".into()]);
        let Value::Object(map) = serde_json::to_value(&claims).unwrap() else {
            panic!("not an object")
        };
        assert_eq!(AccessClaims::from_verified(&map).unwrap(), claims);
    }

    #[test]
    fn a_user_token_names_its_user_and_session() {
        let subject = user_claims(vec!["api".into()]).subject().unwrap();
        assert!(matches!(subject, TokenSubject::User { ref username, .. } if username == "alice"));
    }

    #[test]
    fn a_token_with_a_session_but_a_non_uuid_subject_has_no_subject() {
        let mut claims = user_claims(vec!["api".into()]);
        claims.sub = "not-a-uuid".into();
        assert_eq!(claims.subject(), None);
    }
}
