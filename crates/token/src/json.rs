//! Strict JSON parsing for headers, payloads and JWK Sets: one pass that builds a
//! `serde_json::Value` and refuses duplicate member names at any depth.
//!
//! `serde_json` silently keeps the last of two equal member names. Two parsers that resolve
//! duplicates differently (first vs last) can disagree about what a signed token says, so
//! Gatehouse refuses such documents instead of picking one.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not valid JSON, or a duplicate member name.
    Invalid(String),
    /// Valid JSON, but not an object.
    NotAnObject,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Invalid(cause) => f.write_str(cause),
            JsonError::NotAnObject => f.write_str("not a JSON object"),
        }
    }
}

/// Parses `bytes` as a JSON object, refusing duplicate member names anywhere inside it.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        Ok(_) => Err(JsonError::NotAnObject),
        Err(err) => Err(JsonError::Invalid(err.to_string())),
    }
}

/// A `Value` whose deserialisation refuses duplicate member names.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            let StrictValue(value) = access.next_value()?;
            // `insert` hands back the previous value when the name was already present.
            if map.insert(name, value).is_some() {
                return Err(de::Error::custom("duplicate member name"));
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_parses_with_member_order_kept() {
        let map = parse_object(br#"{"b":1,"a":[true,null,"x",1.5,-2]}"#).unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(map["a"], serde_json::json!([true, null, "x", 1.5, -2]));
    }

    #[test]
    fn a_duplicate_member_name_is_refused() {
        assert!(matches!(
            parse_object(br#"{"a":1,"a":2}"#),
            Err(JsonError::Invalid(_))
        ));
    }

    #[test]
    fn a_duplicate_member_name_in_a_nested_object_is_refused() {
        assert!(parse_object(br#"{"x":[{"a":1,"a":1}]}"#).is_err());
        assert!(parse_object(br#"{"x":{"y":{"a":1,"a":1}}}"#).is_err());
    }

    #[test]
    fn escaped_spellings_of_the_same_name_are_duplicates() {
        assert!(parse_object(br#"{"alg":"HS256","\u0061lg":"none"}"#).is_err());
    }

    #[test]
    fn non_objects_and_trailing_garbage_are_refused() {
        assert_eq!(parse_object(b"[1]"), Err(JsonError::NotAnObject));
        assert_eq!(parse_object(b"\"x\""), Err(JsonError::NotAnObject));
        assert!(parse_object(b"{} x").is_err());
        assert!(parse_object(b"").is_err());
        assert!(parse_object(b"{\"a\":\"\xff\"}").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_object(deep.as_bytes()).is_err());
    }
}
