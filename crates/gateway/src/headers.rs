//! The identity mutator: removes every identity header a client sent, then writes the
//! authenticated [`Subject`] as headers for the upstream, within a size cap.
//!
//! Values are UTF-8, percent-encoded outside visible ASCII and for `%` and `,`, so a list item
//! can never smuggle a separator or a line break, and upstreams can split lists on `,` safely.

use std::collections::BTreeSet;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::config::IdentityHeadersConfig;
use crate::error::Error;
use crate::subject::{Caller, Subject};

/// The validated identity-header settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeaders {
    subject: HeaderName,
    username: HeaderName,
    roles: HeaderName,
    groups: HeaderName,
    permissions: HeaderName,
    issuer: HeaderName,
    token: HeaderName,
    truncated: HeaderName,
    /// Lower-case, as `HeaderName`s are.
    strip_prefix: String,
    /// The configured names the strip prefix does not cover (none by default), so that
    /// checking a request header is one prefix test plus this short list.
    unprefixed: Vec<HeaderName>,
    max_value_bytes: usize,
}

impl Default for IdentityHeaders {
    /// The same values as [`IdentityHeadersConfig::default`].
    fn default() -> Self {
        Self {
            subject: HeaderName::from_static("x-auth-subject"),
            username: HeaderName::from_static("x-auth-username"),
            roles: HeaderName::from_static("x-auth-roles"),
            groups: HeaderName::from_static("x-auth-groups"),
            permissions: HeaderName::from_static("x-auth-permissions"),
            issuer: HeaderName::from_static("x-auth-issuer"),
            token: HeaderName::from_static("x-auth-token"),
            truncated: HeaderName::from_static("x-auth-truncated"),
            strip_prefix: "x-auth-".to_owned(),
            unprefixed: Vec::new(),
            max_value_bytes: 4096,
        }
    }
}

impl IdentityHeaders {
    /// Validates the `[identity_headers]` section.
    pub fn from_config(config: &IdentityHeadersConfig) -> Result<Self, Error> {
        let name = |key: &'static str, value: &str| {
            HeaderName::from_bytes(value.as_bytes()).map_err(|_| Error::InvalidIdentityHeaders {
                key,
                problem: format!("`{value}` is not a valid header name"),
            })
        };
        if config.max_value_bytes < 64 {
            return Err(Error::InvalidIdentityHeaders {
                key: "max_value_bytes",
                problem: "must be at least 64".into(),
            });
        }
        let strip_prefix = config.strip_prefix.to_ascii_lowercase();
        if strip_prefix.len() < 3 {
            return Err(Error::InvalidIdentityHeaders {
                key: "strip_prefix",
                problem: "must be at least 3 characters (an empty prefix would strip every header)"
                    .into(),
            });
        }
        let mut headers = Self {
            subject: name("subject", &config.subject)?,
            username: name("username", &config.username)?,
            roles: name("roles", &config.roles)?,
            groups: name("groups", &config.groups)?,
            permissions: name("permissions", &config.permissions)?,
            issuer: name("issuer", &config.issuer)?,
            token: name("token", &config.token)?,
            truncated: name("truncated", &config.truncated)?,
            strip_prefix,
            unprefixed: Vec::new(),
            max_value_bytes: config.max_value_bytes,
        };
        headers.unprefixed = headers
            .own_names()
            .into_iter()
            .filter(|name| !name.as_str().starts_with(&headers.strip_prefix))
            .cloned()
            .collect();
        Ok(headers)
    }

    /// The header carrying the upstream token.
    pub fn token_header(&self) -> &HeaderName {
        &self.token
    }

    fn own_names(&self) -> [&HeaderName; 8] {
        [
            &self.subject,
            &self.username,
            &self.roles,
            &self.groups,
            &self.permissions,
            &self.issuer,
            &self.token,
            &self.truncated,
        ]
    }

    /// Removes every identity header a client could have sent: the configured names and
    /// anything starting with the strip prefix. With `keep_authorization == false` the client's
    /// `Authorization` header goes too.
    pub fn strip(&self, headers: &mut HeaderMap, keep_authorization: bool) {
        // An empty `Vec` allocates nothing: the usual request, with no identity header, costs
        // one pass over its names.
        let doomed: Vec<HeaderName> = headers
            .keys()
            .filter(|name| self.claims_identity(name))
            .cloned()
            .collect();
        for name in doomed {
            headers.remove(name);
        }
        if !keep_authorization {
            headers.remove(AUTHORIZATION);
        }
    }

    /// Writes the caller's identity headers (call [`Self::strip`] first). Lists longer than
    /// the cap are cut after the last whole item that fits, and the truncation header names
    /// them, so an upstream can tell a partial list from a complete one. The values are
    /// encoded once per caller and kept with it.
    pub fn apply(&self, caller: &Caller, headers: &mut HeaderMap) {
        let encoded = caller.encoded_headers.get_or_init(|| self.encode(caller));
        if encoded.settings == *self {
            encoded.write(headers);
        } else {
            // Encoded under other settings (a caller outliving a configuration reload).
            self.encode(caller).write(headers);
        }
    }

    /// The identity headers of `subject` under these settings.
    fn encode(&self, subject: &Subject) -> EncodedIdentity {
        let mut values = Vec::with_capacity(7);
        let mut truncated = Vec::new();
        let mut single = |name: &HeaderName, label: &'static str, raw: &str| {
            let (value, cut) = self.encode_single(raw);
            if cut {
                truncated.push(label);
            }
            if let Ok(value) = HeaderValue::from_str(&value) {
                values.push((name.clone(), value));
            }
        };
        single(&self.subject, "subject", &subject.id);
        if let Some(username) = &subject.username {
            single(&self.username, "username", username);
        }
        single(&self.issuer, "issuer", subject.issuer.as_str());
        for (name, label, set) in [
            (&self.roles, "roles", &subject.roles),
            (&self.groups, "groups", &subject.groups),
            (&self.permissions, "permissions", &subject.permissions),
        ] {
            let (value, cut) = self.encode_list(set);
            if cut {
                truncated.push(label);
            }
            if let Ok(value) = HeaderValue::from_str(&value) {
                values.push((name.clone(), value));
            }
        }
        if subject.groups_overage {
            truncated.push("groups-overage");
        }
        if !truncated.is_empty()
            && let Ok(value) = HeaderValue::from_str(&truncated.join(","))
        {
            values.push((self.truncated.clone(), value));
        }
        EncodedIdentity {
            settings: self.clone(),
            values,
        }
    }

    /// Writes a forward-auth answer's identity headers: those of [`Self::apply`] (none on a
    /// public route, where there is no subject), and then every identity header but the
    /// upstream token that is still missing, with an empty value. A proxy copies a fixed list
    /// of headers from the answer onto the request it forwards, and one missing from the
    /// answer is not overwritten there: Envoy's `allowed_upstream_headers` keeps the client's
    /// value, and Caddy 2.6's `copy_headers` sends its placeholder text
    /// (`{http.reverse_proxy.header.X-Auth-Username}`) upstream. Empty means "none".
    pub fn apply_forward_auth(&self, caller: Option<&Caller>, headers: &mut HeaderMap) {
        if let Some(caller) = caller {
            self.apply(caller, headers);
        }
        for name in self.own_names() {
            if *name != self.token && !headers.contains_key(name) {
                headers.insert(name.clone(), HeaderValue::from_static(""));
            }
        }
    }

    /// The identity headers a proxy should remove from the request it forwards after a
    /// forward-auth answer `answer` to a check that carried `request`'s headers: the upstream
    /// token header (forward-auth never issues one) and every header in `request` that claims
    /// an identity (see [`Self::strip`]) and that the answer does not set to a non-empty
    /// value. For Envoy's `x-envoy-auth-headers-to-remove`: Envoy overwrites the headers the
    /// answer carries, but a proxy may skip empty values, and empty means "none" anyway.
    pub fn forward_auth_removals(
        &self,
        request: &HeaderMap,
        answer: &HeaderMap,
    ) -> Vec<HeaderName> {
        let mut doomed = vec![self.token.clone()];
        for name in request.keys() {
            let answered = answer.get(name).is_some_and(|value| !value.is_empty());
            if self.claims_identity(name) && !answered && !doomed.contains(name) {
                doomed.push(name.clone());
            }
        }
        doomed
    }

    /// Whether a request header claims an identity: one of the configured names, or any name
    /// with the strip prefix.
    fn claims_identity(&self, name: &HeaderName) -> bool {
        name.as_str().starts_with(&self.strip_prefix) || self.unprefixed.contains(name)
    }

    /// One value, cut to the cap, and whether it was cut.
    fn encode_single(&self, raw: &str) -> (String, bool) {
        let mut encoded = encode(raw);
        let cut = encoded.len() > self.max_value_bytes;
        if cut {
            // The encoding is ASCII, so any index is a char boundary; only a split `%XX`
            // escape has to be avoided.
            encoded.truncate(self.max_value_bytes);
            let tail = encoded.len().saturating_sub(2);
            if let Some(pos) = encoded[tail..].find('%') {
                encoded.truncate(tail + pos);
            }
        }
        (encoded, cut)
    }

    fn encode_list(&self, items: &BTreeSet<String>) -> (String, bool) {
        let mut out = String::new();
        for item in items {
            let encoded = encode(item);
            let extra = encoded.len() + usize::from(!out.is_empty());
            if out.len() + extra > self.max_value_bytes {
                return (out, true);
            }
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&encoded);
        }
        (out, false)
    }
}

/// A caller's identity headers, encoded under `settings` (see [`Caller`]).
#[derive(Debug)]
pub(crate) struct EncodedIdentity {
    settings: IdentityHeaders,
    values: Vec<(HeaderName, HeaderValue)>,
}

impl EncodedIdentity {
    fn write(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.values {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// Percent-encodes everything outside visible ASCII, plus `%` and `,`.
fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_graphic() && byte != b'%' && byte != b',' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subject::IssuerName;

    fn subject() -> Subject {
        let mut s = Subject::new("u-1", IssuerName::gatehouse());
        s.username = Some("alice".into());
        s.roles = ["Admin".to_owned(), "Reader".to_owned()].into();
        s.permissions = ["reports:read".to_owned()].into();
        s
    }

    #[test]
    fn the_default_settings_equal_the_default_configuration() {
        let headers = IdentityHeaders::from_config(&IdentityHeadersConfig::default()).unwrap();
        assert_eq!(headers, IdentityHeaders::default());
    }

    #[test]
    fn every_client_supplied_identity_header_is_removed() {
        let ids = IdentityHeaders::default();
        let mut h = HeaderMap::new();
        h.insert("x-auth-subject", HeaderValue::from_static("root"));
        h.insert("X-AUTH-ROLES", HeaderValue::from_static("Admin"));
        h.insert("x-auth-something-new", HeaderValue::from_static("1"));
        h.insert("authorization", HeaderValue::from_static("Bearer x"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        ids.strip(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn renamed_identity_headers_are_stripped_even_outside_the_prefix() {
        let config = IdentityHeadersConfig {
            subject: "X-User".into(),
            ..Default::default()
        };
        let ids = IdentityHeaders::from_config(&config).unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-user", HeaderValue::from_static("root"));
        h.insert("authorization", HeaderValue::from_static("Bearer x"));
        ids.strip(&mut h, true);
        assert!(!h.contains_key("x-user"));
        assert!(h.contains_key("authorization"));
    }

    #[test]
    fn the_subject_is_written_as_headers() {
        let ids = IdentityHeaders::default();
        let mut h = HeaderMap::new();
        ids.apply(&Caller::new(subject()), &mut h);
        assert_eq!(h["x-auth-subject"], "u-1");
        assert_eq!(h["x-auth-username"], "alice");
        assert_eq!(h["x-auth-roles"], "Admin,Reader");
        assert_eq!(h["x-auth-groups"], "");
        assert_eq!(h["x-auth-permissions"], "reports:read");
        assert_eq!(h["x-auth-issuer"], "gatehouse");
        assert!(!h.contains_key("x-auth-truncated"));
    }

    #[test]
    fn a_caller_applied_under_other_settings_gets_those_settings_names() {
        let caller = Caller::new(subject());
        let mut first = HeaderMap::new();
        IdentityHeaders::default().apply(&caller, &mut first);
        let renamed = IdentityHeaders::from_config(&IdentityHeadersConfig {
            subject: "X-User".into(),
            ..Default::default()
        })
        .unwrap();
        let mut second = HeaderMap::new();
        renamed.apply(&caller, &mut second);
        assert_eq!(first["x-auth-subject"], "u-1");
        assert_eq!(second["x-user"], "u-1");
        assert!(!second.contains_key("x-auth-subject"));
        // The first encoding is kept and re-used by its own settings.
        let mut again = HeaderMap::new();
        IdentityHeaders::default().apply(&caller, &mut again);
        assert_eq!(again, first);
    }

    #[test]
    fn a_forward_auth_answer_carries_every_identity_header_but_the_token() {
        let ids = IdentityHeaders::default();
        let mut s = subject();
        s.username = None;
        let mut h = HeaderMap::new();
        ids.apply_forward_auth(Some(&Caller::new(s)), &mut h);
        assert_eq!(h["x-auth-subject"], "u-1");
        assert_eq!(h["x-auth-roles"], "Admin,Reader");
        assert_eq!(
            h["x-auth-username"], "",
            "present, empty: a proxy overwrites it"
        );
        assert_eq!(h["x-auth-truncated"], "");
        assert!(!h.contains_key("x-auth-token"));
        assert_eq!(h.len(), 7);

        let mut public = HeaderMap::new();
        ids.apply_forward_auth(None, &mut public);
        assert_eq!(public.len(), 7);
        assert!(public.values().all(|v| v.is_empty()));
    }

    #[test]
    fn forward_auth_removals_name_the_token_and_unanswered_identity_headers() {
        let ids = IdentityHeaders::default();
        let mut request = HeaderMap::new();
        request.insert("x-auth-subject", HeaderValue::from_static("forged"));
        request.insert("x-auth-extra", HeaderValue::from_static("forged"));
        request.insert("x-auth-token", HeaderValue::from_static("forged"));
        request.insert("x-auth-groups", HeaderValue::from_static("forged"));
        request.insert("authorization", HeaderValue::from_static("Bearer x"));
        let mut answer = HeaderMap::new();
        ids.apply_forward_auth(Some(&Caller::new(subject())), &mut answer);
        let mut removals = ids.forward_auth_removals(&request, &answer);
        removals.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        assert_eq!(
            removals,
            ["x-auth-extra", "x-auth-groups", "x-auth-token"],
            "the subject has no groups: the answer's X-Auth-Groups is empty"
        );
    }

    #[test]
    fn separators_and_non_ascii_are_percent_encoded() {
        let ids = IdentityHeaders::default();
        let mut s = subject();
        s.username = Some("Zoë, admin\r\nX-Auth-Roles: x".into());
        s.roles = ["a,b".to_owned()].into();
        let mut h = HeaderMap::new();
        ids.apply(&Caller::new(s), &mut h);
        assert_eq!(
            h["x-auth-username"],
            "Zo%C3%AB%2C%20admin%0D%0AX-Auth-Roles:%20x"
        );
        assert_eq!(h["x-auth-roles"], "a%2Cb");
    }

    #[test]
    fn a_user_in_many_groups_gets_a_capped_list_marked_as_truncated() {
        let config = IdentityHeadersConfig {
            max_value_bytes: 100,
            ..Default::default()
        };
        let ids = IdentityHeaders::from_config(&config).unwrap();
        let mut s = subject();
        s.groups = (0..200)
            .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
            .collect();
        let mut h = HeaderMap::new();
        ids.apply(&Caller::new(s), &mut h);
        let groups = h["x-auth-groups"].to_str().unwrap();
        assert!(groups.len() <= 100);
        assert_eq!(groups.split(',').count(), 2, "only whole items are kept");
        assert_eq!(h["x-auth-truncated"], "groups");
    }

    #[test]
    fn a_long_single_value_is_cut_without_splitting_an_escape() {
        let config = IdentityHeadersConfig {
            max_value_bytes: 64,
            ..Default::default()
        };
        let ids = IdentityHeaders::from_config(&config).unwrap();
        let mut s = subject();
        s.username = Some("é".repeat(100));
        let mut h = HeaderMap::new();
        ids.apply(&Caller::new(s), &mut h);
        let username = h["x-auth-username"].to_str().unwrap();
        assert!(
            username.len() <= 64 && username.len().is_multiple_of(3),
            "{username}"
        );
        assert_eq!(h["x-auth-truncated"], "username");
    }

    #[test]
    fn a_too_small_cap_or_prefix_is_refused() {
        let small = IdentityHeadersConfig {
            max_value_bytes: 10,
            ..Default::default()
        };
        assert!(IdentityHeaders::from_config(&small).is_err());
        let empty = IdentityHeadersConfig {
            strip_prefix: String::new(),
            ..Default::default()
        };
        assert!(IdentityHeaders::from_config(&empty).is_err());
        let bad = IdentityHeadersConfig {
            roles: "X Roles".into(),
            ..Default::default()
        };
        assert!(IdentityHeaders::from_config(&bad).is_err());
    }
}
