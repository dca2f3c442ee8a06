//! The authorizer: what a route requires of a [`Subject`], and a typed answer naming what is
//! missing when the subject falls short.

use std::collections::BTreeSet;

use crate::subject::{IssuerName, Subject};

/// The requirements of a non-public route (`allow = { … }`). Empty lists require nothing, so the
/// default policy accepts any valid token from any trusted issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// At least one of these roles, when non-empty.
    pub roles_any: BTreeSet<String>,
    /// All of these permissions.
    pub permissions_all: BTreeSet<String>,
    /// At least one of these groups, when non-empty.
    pub groups_any: BTreeSet<String>,
    /// At least one of these scopes, when non-empty.
    pub scopes_any: BTreeSet<String>,
    /// Only tokens from these issuers, when non-empty. Checked by the authenticate stage, since
    /// a token from another issuer is not a credential for this route at all.
    pub issuers: BTreeSet<IssuerName>,
}

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Every requirement is met.
    Allowed,
    /// At least one requirement is not met; the value names each unmet one.
    Forbidden(Missing),
}

/// The unmet requirements of a [`Policy`]. Empty fields were satisfied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Missing {
    /// The route's `roles_any`, when the subject holds none of them.
    pub roles_any: BTreeSet<String>,
    /// The permissions of `permissions_all` the subject lacks.
    pub permissions: BTreeSet<String>,
    /// The route's `groups_any`, when the subject is in none of them.
    pub groups_any: BTreeSet<String>,
    /// The route's `scopes_any`, when the subject has none of them.
    pub scopes_any: BTreeSet<String>,
    /// The token listed no groups because of a groups overage, and a groups or roles
    /// requirement was unmet: the decision could not be made on complete information.
    pub groups_overage: bool,
}

impl Missing {
    /// Whether nothing is missing.
    fn is_nothing(&self) -> bool {
        self.roles_any.is_empty()
            && self.permissions.is_empty()
            && self.groups_any.is_empty()
            && self.scopes_any.is_empty()
            && !self.groups_overage
    }

    /// A space-separated summary for `WWW-Authenticate` and problem+json bodies, e.g.
    /// `roles_any=Admin,Auditor permissions=reports:read`. Names only configured requirements,
    /// never anything from the token.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |label: &str, set: &BTreeSet<String>| {
            if !set.is_empty() {
                parts.push(format!(
                    "{label}={}",
                    set.iter().cloned().collect::<Vec<_>>().join(",")
                ));
            }
        };
        push("roles_any", &self.roles_any);
        push("permissions", &self.permissions);
        push("groups_any", &self.groups_any);
        push("scopes_any", &self.scopes_any);
        if self.groups_overage {
            parts.push("groups_overage=true".to_owned());
        }
        parts.join(" ")
    }
}

impl Policy {
    /// Decides whether `subject` meets every requirement.
    pub fn authorize(&self, subject: &Subject) -> Authorization {
        let any = |required: &BTreeSet<String>, held: &BTreeSet<String>| {
            required.is_empty() || !required.is_disjoint(held)
        };
        let mut missing = Missing::default();
        if !any(&self.roles_any, &subject.roles) {
            missing.roles_any = self.roles_any.clone();
        }
        missing.permissions = self
            .permissions_all
            .difference(&subject.permissions)
            .cloned()
            .collect();
        if !any(&self.groups_any, &subject.groups) {
            missing.groups_any = self.groups_any.clone();
        }
        if !any(&self.scopes_any, &subject.scopes) {
            missing.scopes_any = self.scopes_any.clone();
        }
        // Roles can come from groups through `map_roles`, so an unmet roles requirement is as
        // undecidable as an unmet groups requirement when the groups were not listed.
        missing.groups_overage = subject.groups_overage
            && (!missing.groups_any.is_empty() || !missing.roles_any.is_empty());
        if missing.is_nothing() {
            Authorization::Allowed
        } else {
            Authorization::Forbidden(missing)
        }
    }

    /// Whether tokens from `issuer` are credentials for this route.
    pub fn accepts_issuer(&self, issuer: &IssuerName) -> bool {
        self.issuers.is_empty() || self.issuers.contains(issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn alice() -> Subject {
        let mut s = Subject::new("u-1", IssuerName::gatehouse());
        s.roles = set(&["Reader"]);
        s.permissions = set(&["reports:read"]);
        s.groups = set(&["g-1"]);
        s.scopes = set(&["api.read"]);
        s
    }

    #[test]
    fn the_default_policy_allows_any_authenticated_subject() {
        assert_eq!(
            Policy::default().authorize(&alice()),
            Authorization::Allowed
        );
    }

    #[test]
    fn one_matching_role_is_enough_for_roles_any() {
        let policy = Policy {
            roles_any: set(&["Admin", "Reader"]),
            ..Policy::default()
        };
        assert_eq!(policy.authorize(&alice()), Authorization::Allowed);
    }

    #[test]
    fn a_missing_role_is_named_in_the_outcome() {
        let policy = Policy {
            roles_any: set(&["Admin"]),
            ..Policy::default()
        };
        let Authorization::Forbidden(missing) = policy.authorize(&alice()) else {
            panic!("expected Forbidden");
        };
        assert_eq!(missing.roles_any, set(&["Admin"]));
        assert_eq!(missing.describe(), "roles_any=Admin");
    }

    #[test]
    fn permissions_all_names_only_the_permissions_lacking() {
        let policy = Policy {
            permissions_all: set(&["reports:read", "reports:write"]),
            ..Policy::default()
        };
        let Authorization::Forbidden(missing) = policy.authorize(&alice()) else {
            panic!("expected Forbidden");
        };
        assert_eq!(missing.permissions, set(&["reports:write"]));
    }

    #[test]
    fn groups_and_scopes_are_checked_independently() {
        let policy = Policy {
            groups_any: set(&["g-2"]),
            scopes_any: set(&["api.read"]),
            ..Policy::default()
        };
        let Authorization::Forbidden(missing) = policy.authorize(&alice()) else {
            panic!("expected Forbidden");
        };
        assert_eq!(missing.groups_any, set(&["g-2"]));
        assert!(missing.scopes_any.is_empty());
        assert!(!missing.groups_overage);
    }

    #[test]
    fn a_groups_overage_is_reported_when_a_groups_requirement_fails() {
        let mut subject = alice();
        subject.groups.clear();
        subject.groups_overage = true;
        let policy = Policy {
            groups_any: set(&["g-1"]),
            ..Policy::default()
        };
        let Authorization::Forbidden(missing) = policy.authorize(&subject) else {
            panic!("an overage must never pass silently");
        };
        assert!(missing.groups_overage);
        assert!(missing.describe().contains("groups_overage=true"));
    }

    #[test]
    fn a_groups_overage_does_not_matter_to_a_policy_without_group_or_role_requirements() {
        let mut subject = alice();
        subject.groups_overage = true;
        let policy = Policy {
            scopes_any: set(&["api.read"]),
            ..Policy::default()
        };
        assert_eq!(policy.authorize(&subject), Authorization::Allowed);
    }

    #[test]
    fn an_empty_issuer_list_accepts_every_trusted_issuer() {
        let entra = IssuerName::new("entra").unwrap();
        assert!(Policy::default().accepts_issuer(&entra));
        let only_gatehouse = Policy {
            issuers: [IssuerName::gatehouse()].into(),
            ..Policy::default()
        };
        assert!(!only_gatehouse.accepts_issuer(&entra));
        assert!(only_gatehouse.accepts_issuer(&IssuerName::gatehouse()));
    }
}
