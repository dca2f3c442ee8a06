//! Strict JSON parsing for headers, payloads and JWK Sets: one pass that builds a
//! `serde_json::Value` and refuses duplicate member names at any depth.
//!
//! `serde_json` silently keeps the last of two equal member names. Two parsers that resolve
//! duplicates differently (first vs last) can disagree about what a signed token says, so
//! Gatehouse refuses such documents instead of picking one.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
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

/// Where a top-level member sits in a scanned document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MemberSpan {
    /// The member name.
    pub(crate) name: SpanName,
    /// The byte range of the member's value.
    pub(crate) value: Range<usize>,
}

/// A member name: a byte range of the document when it has no escapes, else the unescaped
/// text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SpanName {
    InDocument(Range<usize>),
    Unescaped(Box<str>),
}

/// Parses one JSON value (duplicate member names refused).
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, JsonError> {
    serde_json::from_slice::<StrictValue>(bytes)
        .map(|StrictValue(value)| value)
        .map_err(|err| JsonError::Invalid(err.to_string()))
}

/// Checks that `bytes` is a JSON object without duplicate member names at any depth. The
/// top-level members that `slot_of` maps to an index into `slots` are parsed into it; every
/// other member is only located, and returned as a [`MemberSpan`] to be parsed if and when
/// it is needed. That makes this several times cheaper than [`parse_object`] for a claim set.
pub(crate) fn scan_object(
    bytes: &[u8],
    slot_of: fn(&str) -> Option<usize>,
    slots: &mut [Option<Value>],
) -> Result<Vec<MemberSpan>, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    TopLevel {
        document: bytes,
        slot_of,
        slots,
    }
    .deserialize(&mut deserializer)
    .and_then(|spans| deserializer.end().map(|()| spans))
    .map_err(|err| JsonError::Invalid(err.to_string()))
}

/// The byte range `part` occupies inside `document`, if it is a sub-slice of it.
fn range_in(document: &[u8], part: &str) -> Option<Range<usize>> {
    // Address arithmetic only; the result is checked against the document's bounds.
    let start = (part.as_ptr() as usize).checked_sub(document.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= document.len()).then_some(start..end)
}

/// Member names seen in one object. Linear search is fastest for the handful of members a
/// token has; a hash set takes over for large objects so a crafted token cannot make the
/// check quadratic.
#[derive(Default)]
struct SeenNames<'de> {
    few: Vec<(u64, Cow<'de, str>)>,
    many: Option<HashSet<Cow<'de, str>>>,
}

/// FNV-1a: a cheap fingerprint so most comparisons between distinct names are one integer
/// compare.
fn fingerprint(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl<'de> SeenNames<'de> {
    const LINEAR_LIMIT: usize = 24;

    /// Records `name`; `false` if it was already present.
    fn insert(&mut self, name: Cow<'de, str>) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(name);
        }
        let print = fingerprint(&name);
        if self
            .few
            .iter()
            .any(|(seen_print, seen)| *seen_print == print && *seen == name)
        {
            return false;
        }
        self.few.push((print, name));
        if self.few.len() > Self::LINEAR_LIMIT {
            self.many = Some(self.few.drain(..).map(|(_, name)| name).collect());
        }
        true
    }
}

fn duplicate<E: de::Error>() -> E {
    E::custom("duplicate member name")
}

/// A member name, borrowed from the input unless it contains escapes.
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The top-level object of [`scan_object`].
struct TopLevel<'s> {
    document: &'s [u8],
    slot_of: fn(&str) -> Option<usize>,
    slots: &'s mut [Option<Value>],
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Vec<MemberSpan>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Vec<MemberSpan>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut seen = SeenNames::default();
        let mut spans = Vec::new();
        while let Some(name) = access.next_key_seed(NameSeed)? {
            match (self.slot_of)(&name).and_then(|index| self.slots.get_mut(index)) {
                Some(slot) => {
                    let StrictValue(value) = access.next_value()?;
                    *slot = Some(value);
                }
                None => {
                    let raw: &'de RawValue = access.next_value()?;
                    let text = raw.get();
                    // The raw capture checks only the grammar: not member names, nesting
                    // depth, surrogate escapes or number range. Everything but a plain string
                    // gets the full check, so whatever the scan accepts, a full parse accepts.
                    let plain_string = text.starts_with('"') && !text.contains('\\');
                    if !plain_string {
                        Skip.deserialize(&mut serde_json::Deserializer::from_str(text))
                            .map_err(de::Error::custom)?;
                    }
                    let located = |part: &str| {
                        range_in(self.document, part)
                            .ok_or_else(|| de::Error::custom("value outside the document"))
                    };
                    let name = match &name {
                        Cow::Borrowed(part) => SpanName::InDocument(located(part)?),
                        Cow::Owned(unescaped) => SpanName::Unescaped(unescaped.as_str().into()),
                    };
                    spans.push(MemberSpan {
                        name,
                        value: located(text)?,
                    });
                }
            }
            if !seen.insert(name) {
                return Err(duplicate());
            }
        }
        Ok(spans)
    }
}

/// Validates a value without keeping it (duplicate member names still refused).
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen = SeenNames::default();
        while let Some(name) = access.next_key_seed(NameSeed)? {
            access.next_value_seed(Skip)?;
            if !seen.insert(name) {
                return Err(duplicate());
            }
        }
        Ok(())
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

    fn slot_of(name: &str) -> Option<usize> {
        ["iss", "exp", "aud"].iter().position(|slot| *slot == name)
    }

    fn scan(bytes: &[u8]) -> Result<[Option<Value>; 3], JsonError> {
        let mut slots = [None, None, None];
        scan_object(bytes, slot_of, &mut slots).map(|_| slots)
    }

    #[test]
    fn scanning_captures_the_named_members_and_locates_the_others() {
        let document = br#"{"exp":1, "x" : {"y":[1,{"z":"w"}]},"iss":"i","\u0078y":[ "a" ]}"#;
        let mut slots = [None, None, None];
        let spans = scan_object(document, slot_of, &mut slots).unwrap();
        assert_eq!(slots, [Some("i".into()), Some(1.into()), None]);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].name, SpanName::InDocument(11..12));
        assert_eq!(&document[spans[0].value.clone()], br#"{"y":[1,{"z":"w"}]}"#);
        assert_eq!(spans[1].name, SpanName::Unescaped("xy".into()));
        assert_eq!(
            parse_value(&document[spans[1].value.clone()]).unwrap(),
            serde_json::json!(["a"])
        );
    }

    #[test]
    fn scanning_refuses_what_parsing_refuses() {
        for bad in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"x":[{"a":1,"a":1}]}"#,
            br#"{"alg":1,"\u0061lg":2}"#,
            b"[1]",
            b"\"x\"",
            b"{} x",
            b"",
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(scan(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
            assert!(parse_object(bad).is_err());
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(scan(deep.as_bytes()).is_err());
    }

    #[test]
    fn scanning_and_parsing_agree_on_edge_values() {
        for document in [
            r#"{"a":"\ud800"}"#,
            r#"{"a":1e400}"#,
            r#"{"a":-0.0,"b":1e-400}"#,
            r#"{"a":"\u00e9\n"}"#,
            r#"{"a":[[[{"b":1,"b":2}]]]}"#,
            r#"{"a":{"":1,"":2}}"#,
        ] {
            assert_eq!(
                scan(document.as_bytes()).is_ok(),
                parse_object(document.as_bytes()).is_ok(),
                "{document}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn scanning_accepts_exactly_what_parsing_accepts(
            document in r#"\{("[a-c\\u0-9]{0,3}":(-?[0-9]{1,3}(e[0-9]{1,3})?|"[a-z\\ud8]{0,4}"|\[[0-9,\{\}"a:]{0,6}\]|\{("[ab]":[0-9],?){0,3}\}|true|null),?){0,5}\}"#
        ) {
            let scanned = scan(document.as_bytes()).is_ok();
            proptest::prop_assert_eq!(scanned, parse_object(document.as_bytes()).is_ok(), "{}", document);
        }
    }

    #[test]
    fn scanning_an_object_with_many_members_finds_a_late_duplicate() {
        let mut members: Vec<String> = (0..200).map(|i| format!("\"m{i}\":{i}")).collect();
        assert!(scan(format!("{{{}}}", members.join(",")).as_bytes()).is_ok());
        members.push("\"m3\":0".to_owned());
        assert!(scan(format!("{{{}}}", members.join(",")).as_bytes()).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_object(deep.as_bytes()).is_err());
    }
}
