//! [`Claims`]: the JSON object a token's payload carries.

use std::fmt;
use std::sync::OnceLock;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::json::{self, JsonError, MemberSpan, SpanName};
use crate::unix_time::UnixTime;

/// The registered claims (RFC 7519 §4.1) the validation rules read. They are parsed while the
/// payload is validated; every other claim waits until someone asks for it.
pub(crate) const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The index of a registered claim in [`REGISTERED`].
fn registered_index(name: &str) -> Option<usize> {
    // A `match` on the short names compiles to length and byte compares, cheaper than
    // searching the array; it runs once per payload member.
    match name {
        "iss" => Some(0),
        "sub" => Some(1),
        "aud" => Some(2),
        "exp" => Some(3),
        "nbf" => Some(4),
        "iat" => Some(5),
        "jti" => Some(6),
        _ => None,
    }
}

/// A JWT claim set. Accessors return `None` (or an empty list) when a claim is absent or has
/// the wrong type; on a verified token the registered claims have already been type-checked.
///
/// Verification validates the whole payload (JSON syntax, duplicate members at any depth) in
/// one pass that parses only the registered claims and notes where every other claim sits.
/// Another claim is parsed the first time [`Claims::get`] or [`Claims::string_list`] asks
/// for it, once; the whole object only when [`Claims::as_map`] is called. A request that
/// reads `sub`, `roles` and `exp` never pays for parsing the rest.
#[derive(Clone)]
pub struct Claims {
    /// The payload, already known to be a JSON object without duplicate members.
    json: Vec<u8>,
    /// The members named in [`REGISTERED`], parsed, in that order.
    registered: [Option<Value>; REGISTERED.len()],
    /// Every other top-level member: where it sits, and its value once parsed.
    others: Vec<(MemberSpan, OnceLock<Value>)>,
    /// The whole object, built on first use.
    full: OnceLock<Map<String, Value>>,
}

impl Claims {
    /// Wraps a JSON object.
    pub fn new(map: Map<String, Value>) -> Claims {
        let registered = REGISTERED.map(|name| map.get(name).cloned());
        Claims {
            json: Value::Object(map.clone()).to_string().into_bytes(),
            registered,
            // Lookups go to `full`, which is already set.
            others: Vec::new(),
            full: OnceLock::from(map),
        }
    }

    /// Validates a payload as a JSON object without duplicate members, keeping the text.
    pub(crate) fn from_payload(payload: Vec<u8>) -> Result<Claims, JsonError> {
        let mut registered = [const { None }; REGISTERED.len()];
        let spans = json::scan_object(&payload, registered_index, &mut registered)?;
        Ok(Claims {
            json: payload,
            registered,
            others: spans
                .into_iter()
                .map(|span| (span, OnceLock::new()))
                .collect(),
            full: OnceLock::new(),
        })
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        if let Some(index) = registered_index(name) {
            return self.registered[index].as_ref();
        }
        if let Some(full) = self.full.get() {
            return full.get(name);
        }
        let (span, parsed) = self
            .others
            .iter()
            .find(|(span, _)| self.name_of(span) == name)?;
        Some(parsed.get_or_init(|| {
            // Validated during the scan, so this parse cannot fail; `null` if it somehow did.
            json::parse_value(self.json.get(span.value.clone()).unwrap_or_default())
                .unwrap_or(Value::Null)
        }))
    }

    /// Whether the claim is present (with any value, `null` included).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A claim's string value.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.get_str("sub")
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.get_str("iss")
    }

    /// `jti`.
    pub fn jwt_id(&self) -> Option<&str> {
        self.get_str("jti")
    }

    /// `aud` as a list: a single string becomes one entry.
    pub fn audiences(&self) -> Vec<&str> {
        match self.get("aud") {
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// `exp`.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.numeric_date("exp", f64::floor)
    }

    /// `iat`.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.numeric_date("iat", f64::floor)
    }

    /// `nbf`. A fractional value rounds up, so the token is never valid early.
    pub fn not_before(&self) -> Option<UnixTime> {
        self.numeric_date("nbf", f64::ceil)
    }

    /// A list-valued claim: an array's string entries, or — for `scp` and `scope`, which
    /// RFC 8693 and Entra ID write as one string — the space-separated words of a string.
    pub fn string_list(&self, name: &str) -> Vec<&str> {
        match self.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(text)) if name == "scp" || name == "scope" => {
                text.split(' ').filter(|word| !word.is_empty()).collect()
            }
            Some(Value::String(text)) => vec![text.as_str()],
            _ => Vec::new(),
        }
    }

    /// The whole claim set.
    pub fn as_map(&self) -> &Map<String, Value> {
        self.full.get_or_init(|| self.parse_full())
    }

    /// The whole claim set, owned.
    pub fn into_map(self) -> Map<String, Value> {
        match self.full.into_inner() {
            Some(map) => map,
            None => Claims::parse_json(&self.json),
        }
    }

    /// The payload JSON exactly as the token carried it.
    pub fn as_json(&self) -> &[u8] {
        &self.json
    }

    fn name_of<'a>(&'a self, span: &'a MemberSpan) -> &'a str {
        match &span.name {
            SpanName::InDocument(range) => self
                .json
                .get(range.clone())
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .unwrap_or_default(),
            SpanName::Unescaped(name) => name,
        }
    }

    fn parse_full(&self) -> Map<String, Value> {
        Claims::parse_json(&self.json)
    }

    fn parse_json(json: &[u8]) -> Map<String, Value> {
        // Every constructor has validated the text already, so this cannot fail; an empty map
        // is the safe answer if it somehow did.
        json::parse_object(json).unwrap_or_default()
    }

    /// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, possibly fractional,
    /// rounded with `round` and clamped to the `i64` range.
    fn numeric_date(&self, name: &str, round: fn(f64) -> f64) -> Option<UnixTime> {
        let number = self.get(name)?.as_number()?;
        let secs = match number.as_i64() {
            Some(secs) => secs,
            // `as` saturates for out-of-range floats, which is the clamping wanted here.
            None => round(number.as_f64()?) as i64,
        };
        Some(UnixTime::from_secs(secs))
    }
}

impl Default for Claims {
    fn default() -> Claims {
        Claims::new(Map::new())
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Claims) -> bool {
        self.as_map() == other.as_map()
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims")
            .field(&String::from_utf8_lossy(&self.json))
            .finish()
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_map().serialize(serializer)
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(map: Map<String, Value>) -> Claims {
        Claims::new(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        Claims::from_payload(value.to_string().into_bytes()).unwrap()
    }

    #[test]
    fn audiences_accept_a_string_or_an_array() {
        assert_eq!(claims(json!({"aud":"a"})).audiences(), ["a"]);
        assert_eq!(claims(json!({"aud":["a","b"]})).audiences(), ["a", "b"]);
        assert!(claims(json!({"aud":1})).audiences().is_empty());
    }

    #[test]
    fn scopes_split_on_spaces_but_other_strings_do_not() {
        let c = claims(json!({"scp":"read  write","roles":["admin"],"name":"A B"}));
        assert_eq!(c.string_list("scp"), ["read", "write"]);
        assert_eq!(c.string_list("roles"), ["admin"]);
        assert_eq!(c.string_list("name"), ["A B"]);
        assert!(c.string_list("groups").is_empty());
    }

    #[test]
    fn the_full_map_is_built_lazily_and_matches_the_payload() {
        let c = claims(json!({"sub":"u","roles":["a"],"exp":5}));
        assert!(c.full.get().is_none());
        assert_eq!(c.subject(), Some("u"));
        assert_eq!(c.expires_at(), Some(UnixTime::from_secs(5)));
        assert!(
            c.full.get().is_none(),
            "registered claims need no full parse"
        );
        assert_eq!(c.string_list("roles"), ["a"]);
        assert_eq!(c.as_map().len(), 3);
        assert_eq!(c, Claims::new(c.clone().into_map()));
        assert_eq!(c.as_json(), br#"{"sub":"u","roles":["a"],"exp":5}"#);
    }

    #[test]
    fn numeric_dates_are_numbers_only_and_round_safely() {
        let c = claims(json!({"exp":10.9,"nbf":10.1,"iat":"10"}));
        assert_eq!(c.expires_at(), Some(UnixTime::from_secs(10)));
        assert_eq!(c.not_before(), Some(UnixTime::from_secs(11)));
        assert_eq!(c.issued_at(), None);
        let huge = claims(json!({"exp":1e300, "nbf": u64::MAX}));
        assert_eq!(huge.expires_at(), Some(UnixTime::from_secs(i64::MAX)));
        assert_eq!(huge.not_before(), Some(UnixTime::from_secs(i64::MAX)));
    }
}
