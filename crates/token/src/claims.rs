//! [`Claims`]: the JSON object a token's payload carries.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::unix_time::UnixTime;

/// A JWT claim set. Accessors return `None` (or an empty list) when a claim is absent or has
/// the wrong type; on a verified token the registered claims have already been type-checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// Wraps a JSON object.
    pub fn new(map: Map<String, Value>) -> Claims {
        Claims(map)
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Whether the claim is present (with any value, `null` included).
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// A claim's string value.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
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
        match self.0.get("aud") {
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
        match self.0.get(name) {
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
        &self.0
    }

    /// The whole claim set, owned.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, possibly fractional,
    /// rounded with `round` and clamped to the `i64` range.
    fn numeric_date(&self, name: &str, round: fn(f64) -> f64) -> Option<UnixTime> {
        let number = self.0.get(name)?.as_number()?;
        let secs = match number.as_i64() {
            Some(secs) => secs,
            // `as` saturates for out-of-range floats, which is the clamping wanted here.
            None => round(number.as_f64()?) as i64,
        };
        Some(UnixTime::from_secs(secs))
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(map: Map<String, Value>) -> Claims {
        Claims(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        match value {
            Value::Object(map) => Claims(map),
            _ => unreachable!("tests pass objects"),
        }
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
