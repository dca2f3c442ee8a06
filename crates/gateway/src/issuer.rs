//! Trusted external issuers (Entra ID and any OpenID Connect provider): which `iss` values they
//! cover (exact, or a `{tenantid}` template with a tenant allow-list), where their keys are,
//! and how their claims become a [`Subject`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use url::Url;

use crate::config::{ClaimsConfig, IssuerConfig};
use crate::denial::Denial;
use crate::error::Error;
use crate::subject::{IssuerName, Subject};

const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// A tenant id: a GUID in canonical lower-case hyphenated form, as Entra writes `tid`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(String);

impl TenantId {
    /// Accepts only the 36-character hyphenated form (any case), stored lower-case.
    pub fn parse(text: &str) -> Option<Self> {
        let canonical = text.len() == 36
            && text.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        canonical.then(|| Self(text.to_ascii_lowercase()))
    }

    /// The GUID, lower-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One accepted `iss` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerPattern {
    /// Exactly this `iss`.
    Exact(String),
    /// `{prefix}{tenantid}{suffix}`, e.g. `https://login.microsoftonline.com/` + tid + `/v2.0`.
    Tenant {
        /// Text before `{tenantid}`.
        prefix: String,
        /// Text after `{tenantid}`.
        suffix: String,
    },
}

impl IssuerPattern {
    /// Parses an exact issuer or a template with exactly one `{tenantid}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = text.replace(TENANT_PLACEHOLDER, "00000000-0000-0000-0000-000000000000");
        Url::parse(&url).map_err(|e| format!("`issuer` `{text}` is not a URL: {e}"))?;
        match text.matches(TENANT_PLACEHOLDER).count() {
            0 => Ok(Self::Exact(text.to_owned())),
            1 => {
                let (prefix, suffix) = text.split_once(TENANT_PLACEHOLDER).unwrap_or((text, ""));
                Ok(Self::Tenant {
                    prefix: prefix.to_owned(),
                    suffix: suffix.to_owned(),
                })
            }
            _ => Err(format!(
                "`issuer` `{text}` has more than one {TENANT_PLACEHOLDER}"
            )),
        }
    }

    /// The tenant this pattern reads from `iss`, if `iss` has the template's shape.
    fn tenant_in<'a>(&self, iss: &'a str) -> Option<&'a str> {
        match self {
            Self::Exact(_) => None,
            Self::Tenant { prefix, suffix } => iss
                .strip_prefix(prefix.as_str())?
                .strip_suffix(suffix.as_str()),
        }
    }
}

/// Where an issuer's JWK Set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An OpenID discovery document whose `jwks_uri` is fetched.
    Discovery(Url),
    /// The JWK Set URL itself.
    JwksUri(Url),
}

/// A validated `[[issuers]]` entry (without its keys; see [`crate::jwks::KeyCache`]).
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    name: IssuerName,
    patterns: Vec<IssuerPattern>,
    tenants: BTreeSet<TenantId>,
    key_source: KeySource,
    audiences: Vec<String>,
    claims: ClaimsConfig,
    map_roles: BTreeMap<String, String>,
    min_refresh_interval: std::time::Duration,
}

impl TrustedIssuer {
    /// Validates an `[[issuers]]` entry.
    pub fn from_config(config: &IssuerConfig) -> Result<Self, Error> {
        let invalid = |problem: String| Error::InvalidIssuer {
            name: config.name.clone(),
            problem,
        };
        let name = IssuerName::new(&config.name).map_err(&invalid)?;
        if name.as_str() == IssuerName::GATEHOUSE {
            return Err(invalid(
                "the name `gatehouse` is reserved for Gatehouse's own tokens".into(),
            ));
        }
        let patterns = config
            .issuer
            .to_vec()
            .iter()
            .map(|text| IssuerPattern::parse(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&invalid)?;
        if patterns.is_empty() {
            return Err(invalid("`issuer` is empty".into()));
        }
        let tenants = config
            .tenants
            .iter()
            .map(|t| {
                TenantId::parse(t)
                    .ok_or_else(|| invalid(format!("`tenants` entry `{t}` is not a GUID")))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        let templated = patterns
            .iter()
            .any(|p| matches!(p, IssuerPattern::Tenant { .. }));
        if templated && tenants.is_empty() {
            return Err(invalid(
                "a {tenantid} issuer needs `tenants = [\"<tenant-guid>\", …]`: accepting every tenant would accept any Entra customer's tokens".into(),
            ));
        }
        if !templated && !tenants.is_empty() {
            return Err(invalid(
                "`tenants` is only meaningful with a {tenantid} issuer".into(),
            ));
        }
        let url = |key: &str, text: &str| {
            let url = Url::parse(text).map_err(|e| invalid(format!("`{key}` `{text}`: {e}")))?;
            let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if url.scheme() == "https" || url.scheme() == "http" && local {
                Ok(url)
            } else {
                Err(invalid(format!(
                    "`{key}` must be https:// (http:// only for localhost)"
                )))
            }
        };
        let key_source = match (&config.discovery_url, &config.jwks_uri) {
            (Some(d), None) => KeySource::Discovery(url("discovery_url", d)?),
            (None, Some(j)) => KeySource::JwksUri(url("jwks_uri", j)?),
            _ => {
                return Err(invalid(
                    "set exactly one of `discovery_url` and `jwks_uri`".into(),
                ));
            }
        };
        if config.audiences.is_empty() || config.audiences.iter().any(String::is_empty) {
            return Err(invalid(
                "`audiences` must list at least one non-empty audience".into(),
            ));
        }
        let claims = config.claims.clone();
        for (key, value) in [
            ("claims.subject", &claims.subject),
            ("claims.username", &claims.username),
            ("claims.roles", &claims.roles),
            ("claims.groups", &claims.groups),
            ("claims.scopes", &claims.scopes),
        ] {
            if value.is_empty() {
                return Err(invalid(format!("`{key}` must not be empty")));
            }
        }
        Ok(Self {
            name,
            patterns,
            tenants,
            key_source,
            audiences: config.audiences.clone(),
            claims,
            map_roles: config.map_roles.clone(),
            min_refresh_interval: config.min_refresh_interval,
        })
    }

    /// The least time between two key fetches.
    pub fn min_refresh_interval(&self) -> std::time::Duration {
        self.min_refresh_interval
    }

    /// The configured name.
    pub fn name(&self) -> &IssuerName {
        &self.name
    }

    /// Where the keys come from.
    pub fn key_source(&self) -> &KeySource {
        &self.key_source
    }

    /// Accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Every concrete `iss` accepted: exact issuers, and each template filled with each tenant.
    /// This finite list is what the token verifier checks `iss` against.
    pub fn accepted_issuers(&self) -> Vec<String> {
        let mut out = Vec::new();
        for pattern in &self.patterns {
            match pattern {
                IssuerPattern::Exact(iss) => out.push(iss.clone()),
                IssuerPattern::Tenant { prefix, suffix } => {
                    out.extend(
                        self.tenants
                            .iter()
                            .map(|t| format!("{prefix}{}{suffix}", t.as_str())),
                    );
                }
            }
        }
        out
    }

    /// Whether a token claiming `iss` is this issuer's to verify.
    pub fn recognizes(&self, iss: &str) -> bool {
        self.accepted_issuers()
            .iter()
            .any(|accepted| accepted == iss)
    }

    /// For a templated issuer: `tid` must be a GUID, listed in `tenants`, and `iss` must be the
    /// template filled with that very `tid` (so tenant A cannot present a token whose `iss`
    /// names tenant B). Exact issuers need no tenant check.
    pub fn check_tenant(&self, iss: &str, claims: &Map<String, Value>) -> Result<(), Denial> {
        if self
            .patterns
            .iter()
            .any(|p| matches!(p, IssuerPattern::Exact(e) if e == iss))
        {
            return Ok(());
        }
        let tid = claims
            .get("tid")
            .and_then(Value::as_str)
            .ok_or_else(|| Denial::TenantNotAllowed("the token has no tid claim".into()))?;
        let tid = TenantId::parse(tid)
            .ok_or_else(|| Denial::TenantNotAllowed("tid is not a GUID".into()))?;
        if !self.tenants.contains(&tid) {
            return Err(Denial::TenantNotAllowed(
                "the tenant is not in the allowed list".into(),
            ));
        }
        let consistent = self.patterns.iter().any(|p| {
            p.tenant_in(iss)
                .is_some_and(|t| t.eq_ignore_ascii_case(tid.as_str()))
        });
        if consistent {
            Ok(())
        } else {
            Err(Denial::TenantNotAllowed("iss does not match tid".into()))
        }
    }

    /// The rule for JWKs that carry their own `issuer` (Entra's do): the key may only sign for
    /// that issuer, `{tenantid}` filled with the token's `tid`. Entra signs v1
    /// (`https://sts.windows.net/{tid}/`) and v2 tokens of one tenant with the same keys, so the
    /// two forms of the same tenant are treated as one issuer here.
    pub fn key_may_sign(key_issuer: &str, iss: &str, tid: Option<&str>) -> bool {
        let expected = match tid {
            Some(tid) => key_issuer.replace(TENANT_PLACEHOLDER, tid),
            None => key_issuer.to_owned(),
        };
        if expected.contains(TENANT_PLACEHOLDER) {
            return false;
        }
        expected == iss || entra_tenant(&expected).is_some_and(|t| entra_tenant(iss) == Some(t))
    }

    /// Maps verified claims to a [`Subject`].
    pub fn subject_from(&self, claims: &Map<String, Value>) -> Result<Subject, Denial> {
        let id = claims
            .get(&self.claims.subject)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Denial::MissingSubject(self.claims.subject.clone()))?;
        let mut subject = Subject::new(id, self.name.clone());
        subject.username = claims
            .get(&self.claims.username)
            .and_then(Value::as_str)
            .map(str::to_owned);
        subject.roles = string_list(claims.get(&self.claims.roles));
        subject.groups = string_list(claims.get(&self.claims.groups));
        subject.scopes = string_list(claims.get(&self.claims.scopes));
        // Entra replaces `groups` by a pointer to Graph when a user is in too many groups
        // (200 in JWTs): `_claim_names: {"groups": "src1"}`; implicit-flow tokens say
        // `hasgroups: true` instead.
        subject.groups_overage = claims
            .get("_claim_names")
            .and_then(Value::as_object)
            .is_some_and(|names| names.contains_key(&self.claims.groups))
            || claims.get("hasgroups") == Some(&Value::Bool(true));
        let mapped: Vec<String> = subject
            .roles
            .iter()
            .chain(subject.groups.iter())
            .filter_map(|external| self.map_roles.get(external).cloned())
            .collect();
        subject.roles.extend(mapped);
        Ok(subject)
    }
}

/// The tenant of an Entra v1 or v2 issuer URL.
fn entra_tenant(iss: &str) -> Option<&str> {
    iss.strip_prefix("https://sts.windows.net/")
        .and_then(|rest| rest.strip_suffix('/'))
        .or_else(|| {
            iss.strip_prefix("https://login.microsoftonline.com/")
                .and_then(|rest| rest.strip_suffix("/v2.0"))
        })
        .filter(|tenant| TenantId::parse(tenant).is_some())
}

/// An array of strings (other members ignored) or a space-separated string (`scp`).
fn string_list(value: Option<&Value>) -> BTreeSet<String> {
    match value {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OneOrMany;
    use serde_json::json;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const OTHER: &str = "11111111-2222-3333-4444-555555555555";

    fn entra() -> IssuerConfig {
        IssuerConfig {
            name: "entra".into(),
            issuer: OneOrMany::Many(vec![
                "https://login.microsoftonline.com/{tenantid}/v2.0".into(),
                "https://sts.windows.net/{tenantid}/".into(),
            ]),
            tenants: vec![TENANT.into()],
            discovery_url: None,
            jwks_uri: Some("https://login.microsoftonline.com/common/discovery/v2.0/keys".into()),
            audiences: vec!["api://my-api".into()],
            claims: ClaimsConfig {
                subject: "oid".into(),
                ..ClaimsConfig::default()
            },
            map_roles: [("group-oid-1".to_owned(), "Admin".to_owned())].into(),
            min_refresh_interval: std::time::Duration::from_secs(30),
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn templates_expand_to_one_issuer_per_allowed_tenant() {
        let issuer = TrustedIssuer::from_config(&entra()).unwrap();
        assert_eq!(
            issuer.accepted_issuers(),
            vec![
                format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
                format!("https://sts.windows.net/{TENANT}/"),
            ]
        );
        assert!(issuer.recognizes(&format!("https://sts.windows.net/{TENANT}/")));
        assert!(!issuer.recognizes(&format!("https://sts.windows.net/{OTHER}/")));
    }

    #[test]
    fn a_template_without_tenants_is_refused() {
        let mut config = entra();
        config.tenants.clear();
        let err = TrustedIssuer::from_config(&config).unwrap_err();
        assert!(err.to_string().contains("tenants"), "{err}");
    }

    #[test]
    fn tenants_must_be_guids() {
        let mut config = entra();
        config.tenants = vec!["contoso.onmicrosoft.com".into()];
        assert!(TrustedIssuer::from_config(&config).is_err());
    }

    #[test]
    fn the_gatehouse_name_is_reserved() {
        let mut config = entra();
        config.name = "gatehouse".into();
        assert!(TrustedIssuer::from_config(&config).is_err());
    }

    #[test]
    fn key_urls_must_be_https_except_on_localhost() {
        let mut config = entra();
        config.jwks_uri = Some("http://idp.example/keys".into());
        assert!(TrustedIssuer::from_config(&config).is_err());
        config.jwks_uri = Some("http://127.0.0.1:8081/keys".into());
        assert!(TrustedIssuer::from_config(&config).is_ok());
        config.discovery_url = Some("https://idp.example/.well-known/openid-configuration".into());
        assert!(
            TrustedIssuer::from_config(&config).is_err(),
            "both key sources set"
        );
    }

    #[test]
    fn the_tid_must_be_listed_and_match_the_issuer() {
        let issuer = TrustedIssuer::from_config(&entra()).unwrap();
        let v2 = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
        assert_eq!(
            issuer.check_tenant(&v2, &claims(json!({ "tid": TENANT }))),
            Ok(())
        );
        let upper = TENANT.to_ascii_uppercase();
        assert_eq!(
            issuer.check_tenant(&v2, &claims(json!({ "tid": upper }))),
            Ok(())
        );
        for bad in [
            json!({}),
            json!({ "tid": OTHER }),
            json!({ "tid": "not-a-guid" }),
            json!({ "tid": 5 }),
        ] {
            assert!(matches!(
                issuer.check_tenant(&v2, &claims(bad.clone())),
                Err(Denial::TenantNotAllowed(_))
            ));
        }
    }

    #[test]
    fn an_iss_naming_another_tenant_than_tid_is_refused() {
        let mut config = entra();
        config.tenants.push(OTHER.into());
        let issuer = TrustedIssuer::from_config(&config).unwrap();
        let iss_other = format!("https://sts.windows.net/{OTHER}/");
        assert!(
            issuer
                .check_tenant(&iss_other, &claims(json!({ "tid": TENANT })))
                .is_err()
        );
        assert!(
            issuer
                .check_tenant(&iss_other, &claims(json!({ "tid": OTHER })))
                .is_ok()
        );
    }

    #[test]
    fn a_key_with_its_own_issuer_signs_only_for_that_issuer() {
        let key_issuer = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let v2 = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
        let v1 = format!("https://sts.windows.net/{TENANT}/");
        assert!(TrustedIssuer::key_may_sign(key_issuer, &v2, Some(TENANT)));
        assert!(TrustedIssuer::key_may_sign(key_issuer, &v1, Some(TENANT)));
        assert!(!TrustedIssuer::key_may_sign(key_issuer, &v2, Some(OTHER)));
        assert!(!TrustedIssuer::key_may_sign(key_issuer, &v2, None));
        assert!(TrustedIssuer::key_may_sign(
            "https://idp",
            "https://idp",
            None
        ));
        assert!(!TrustedIssuer::key_may_sign(
            "https://idp",
            "https://evil",
            None
        ));
    }

    #[test]
    fn entra_v1_claims_map_to_a_subject() {
        let issuer = TrustedIssuer::from_config(&entra()).unwrap();
        let subject = issuer
            .subject_from(&claims(json!({
                "oid": "12345678-1234-1234-1234-123456789abc",
                "preferred_username": "john.doe@example.com",
                "roles": ["Reader"],
                "groups": ["group-oid-1", "group-oid-2"],
                "scp": "access_as_user reports.read",
                "ver": "1.0",
            })))
            .unwrap();
        assert_eq!(subject.id, "12345678-1234-1234-1234-123456789abc");
        assert_eq!(subject.username.as_deref(), Some("john.doe@example.com"));
        assert_eq!(subject.issuer.as_str(), "entra");
        let roles: Vec<_> = subject.roles.iter().map(String::as_str).collect();
        assert_eq!(roles, ["Admin", "Reader"], "Admin comes from map_roles");
        assert_eq!(subject.scopes.len(), 2);
        assert!(subject.permissions.is_empty());
        assert!(!subject.groups_overage);
    }

    #[test]
    fn a_groups_overage_is_flagged_never_ignored() {
        let issuer = TrustedIssuer::from_config(&entra()).unwrap();
        let overage = issuer
            .subject_from(&claims(json!({
                "oid": "u",
                "_claim_names": { "groups": "src1" },
                "_claim_sources": { "src1": { "endpoint": "https://graph.microsoft.com/v1.0/users/u/getMemberObjects" } },
            })))
            .unwrap();
        assert!(overage.groups_overage);
        assert!(overage.groups.is_empty());
        let implicit = issuer
            .subject_from(&claims(json!({ "oid": "u", "hasgroups": true })))
            .unwrap();
        assert!(implicit.groups_overage);
    }

    #[test]
    fn a_token_without_the_subject_claim_is_refused() {
        let issuer = TrustedIssuer::from_config(&entra()).unwrap();
        assert_eq!(
            issuer.subject_from(&claims(json!({ "sub": "x" }))),
            Err(Denial::MissingSubject("oid".into()))
        );
        assert!(issuer.subject_from(&claims(json!({ "oid": "" }))).is_err());
    }
}
