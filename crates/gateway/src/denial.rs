//! Why the authenticate stage refused a request: [`Denial`], one variant per cause, each with a
//! stable code and a client-safe description (the server turns every denial into a 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`, or 503 for the unavailable cases).

use gatehouse_token::Rejection;

use crate::subject::IssuerName;

/// A refused credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No `Authorization: Bearer` header.
    NoCredentials,
    /// An `Authorization` header that is not a single well-formed Bearer token.
    NotBearer,
    /// The token failed the JWS/JWT rules (signature, expiry, audience, …).
    Token(Rejection),
    /// The token's `iss` is neither Gatehouse nor a trusted issuer.
    UnknownIssuer,
    /// A trusted issuer, but this route does not accept its tokens.
    IssuerNotAccepted(IssuerName),
    /// A `{tenantid}` issuer's token whose `tid` is missing, not a GUID, not listed in `tenants`,
    /// or does not match its `iss`.
    TenantNotAllowed(String),
    /// The key that verified the token carries its own `issuer`, and the token claims another.
    KeyIssuerMismatch,
    /// A token minted for Microsoft Graph (a `nonce` header or Graph as audience); such tokens
    /// are not meant to be validated by anyone but Graph.
    GraphToken,
    /// A validly signed Gatehouse token that is not an access token (e.g. missing `sid`).
    NotAnAccessToken,
    /// The claim configured as the subject is absent or not a non-empty string.
    MissingSubject(String),
    /// The token was revoked (logout, admin action).
    Revoked,
    /// Revocation could not be checked (database unreachable); failing closed.
    RevocationUnavailable,
    /// The issuer's keys have never been fetched successfully (provider down since start-up).
    KeysUnavailable(IssuerName),
}

impl Denial {
    /// A stable snake_case code for logs, metrics and problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCredentials => "no_credentials",
            Self::NotBearer => "not_bearer",
            Self::Token(rejection) => rejection.reason.as_str(),
            Self::UnknownIssuer => "unknown_issuer",
            Self::IssuerNotAccepted(_) => "issuer_not_accepted",
            Self::TenantNotAllowed(_) => "tenant_not_allowed",
            Self::KeyIssuerMismatch => "key_issuer_mismatch",
            Self::GraphToken => "graph_token",
            Self::NotAnAccessToken => "not_an_access_token",
            Self::MissingSubject(_) => "missing_subject",
            Self::Revoked => "revoked",
            Self::RevocationUnavailable => "revocation_unavailable",
            Self::KeysUnavailable(_) => "keys_unavailable",
        }
    }

    /// Whether the cause is on Gatehouse's side (keys or revocation data unavailable) rather
    /// than the credential's: the server answers 503 instead of 401 for these.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::RevocationUnavailable | Self::KeysUnavailable(_))
    }

    /// A description safe to send to the client (RFC 6750 `error_description`): printable
    /// ASCII without `"` or `\`, never the token or key material.
    pub fn description(&self) -> String {
        let text = match self {
            Self::NoCredentials => "an access token is required".to_owned(),
            Self::NotBearer => "the Authorization header must be `Bearer <token>`".to_owned(),
            Self::Token(rejection) => format!("the token was refused ({})", rejection.reason),
            Self::UnknownIssuer => "the token's issuer is not trusted".to_owned(),
            Self::IssuerNotAccepted(name) => {
                format!("tokens from issuer {name} are not accepted on this route")
            }
            Self::TenantNotAllowed(why) => format!("tenant not allowed: {why}"),
            Self::KeyIssuerMismatch => "the signing key is not valid for the token's issuer".to_owned(),
            Self::GraphToken => "this token was issued for Microsoft Graph and cannot be validated; request a token for this API's own scope (api://<app-id>/.default)".to_owned(),
            Self::NotAnAccessToken => "the token is not a Gatehouse access token".to_owned(),
            Self::MissingSubject(claim) => format!("the token has no {claim} claim"),
            Self::Revoked => "the token has been revoked".to_owned(),
            Self::RevocationUnavailable => "token revocation cannot be checked right now".to_owned(),
            Self::KeysUnavailable(name) => format!("the keys of issuer {name} are unavailable"),
        };
        text.chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    }
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The rejection's detail is for logs (already escaped and cut by the token crate).
            Self::Token(rejection) => write!(f, "{rejection}"),
            other => f.write_str(&other.description()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_safe_to_quote_in_a_header() {
        let denial = Denial::TenantNotAllowed("tid \"x\"\r\n".into());
        let text = denial.description();
        assert!(!text.contains(['"', '\\', '\r', '\n']), "{text}");
    }

    #[test]
    fn only_server_side_causes_count_as_unavailable() {
        assert!(Denial::RevocationUnavailable.is_unavailable());
        assert!(!Denial::Revoked.is_unavailable());
        assert!(!Denial::NoCredentials.is_unavailable());
    }
}
