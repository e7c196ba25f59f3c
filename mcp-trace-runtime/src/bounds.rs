//! Bounds on what a client chooses: every client-chosen string is cut to a documented
//! length before it reaches an attribute or a span name, and oversized arguments are
//! measured without walking all of them.

use opentelemetry::{Array, KeyValue, StringValue, Value as OtelValue};
use serde_json::Value;
use std::borrow::Cow;

/// Longest tool, prompt or method name, request id or protocol version exported, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest resource URI exported, in bytes.
pub const MAX_URI_BYTES: usize = 2048;
/// Longest schema-error message and pointer exported, in bytes.
#[cfg(feature = "schema-check")]
pub(crate) const MAX_MESSAGE_BYTES: usize = 512;
/// W3C Trace Context: a longer `tracestate` may be dropped whole.
pub(crate) const MAX_TRACESTATE_BYTES: usize = 512;
/// W3C Baggage: at most 8192 bytes.
pub(crate) const MAX_BAGGAGE_BYTES: usize = 8192;
/// A valid `traceparent` has 55 characters; anything much longer is not one.
pub(crate) const MAX_TRACEPARENT_BYTES: usize = 128;

/// Lists the keys whose value was cut to its bound (a string array).
pub const TRUNCATED_KEY: &str = "mcp.trace.truncated";
/// What a cut value ends with (U+2026, inside the bound).
const ELLIPSIS: &str = "\u{2026}";

/// `value` cut to at most `limit` bytes at a character boundary, ending in `…` when
/// cut; `None` when it fits.
pub(crate) fn cut(value: &str, limit: usize) -> Option<String> {
    if value.len() <= limit {
        return None;
    }
    // A bound too small for the ellipsis and a character gets a plain cut.
    let marked = limit > ELLIPSIS.len();
    let room = if marked {
        limit - ELLIPSIS.len()
    } else {
        limit
    };
    let keep = floor_boundary(value, room);
    let mut out = String::with_capacity(keep + ELLIPSIS.len());
    out.push_str(&value[..keep]);
    if marked {
        out.push_str(ELLIPSIS);
    }
    Some(out)
}

/// `value` cut to `limit` bytes (see [`cut`]), borrowed when it fits.
pub(crate) fn bounded(value: &str, limit: usize) -> Cow<'_, str> {
    match cut(value, limit) {
        Some(cut) => Cow::Owned(cut),
        None => Cow::Borrowed(value),
    }
}

/// The largest char boundary at or below `index`.
fn floor_boundary(s: &str, index: usize) -> usize {
    if index >= s.len() {
        return s.len();
    }
    let mut i = index;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte bound for a key: ours, lowered by `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
pub(crate) fn limit_for(ours: usize) -> usize {
    match crate::settings::get().value_length_limit {
        Some(env) => ours.min(env),
        None => ours,
    }
}

/// Pushes `key = value` with the value bounded to `limit` bytes (and the environment's
/// limit); a cut value adds `key` to [`TRUNCATED_KEY`].
pub(crate) fn push_bounded(
    attrs: &mut Vec<KeyValue>,
    key: &'static str,
    value: &str,
    limit: usize,
) {
    match cut(value, limit_for(limit)) {
        None => attrs.push(KeyValue::new(key, value.to_owned())),
        Some(cut) => {
            attrs.push(KeyValue::new(key, cut));
            mark_truncated(attrs, key);
        }
    }
}

/// Pushes `key = value`, built in the vector's own slot. Built first and pushed
/// after, a `KeyValue` is written to the stack eight bytes at a time and read back
/// sixteen at a time by the copy into the vector, before those writes have landed:
/// the CPU stalls on each (a store-forwarding stall).
#[inline(always)]
pub(crate) fn push_in_place(
    attrs: &mut Vec<KeyValue>,
    key: &'static str,
    value: impl Into<OtelValue>,
) {
    attrs.extend(std::iter::once_with(|| KeyValue::new(key, value)));
}

/// Adds `key` to the [`TRUNCATED_KEY`] list, creating it on first use.
pub(crate) fn mark_truncated(attrs: &mut Vec<KeyValue>, key: &'static str) {
    let entry = attrs.iter_mut().find(|kv| kv.key.as_str() == TRUNCATED_KEY);
    match entry {
        Some(KeyValue {
            value: OtelValue::Array(Array::String(keys)),
            ..
        }) => {
            if !keys.iter().any(|k| k.as_str() == key) {
                keys.push(StringValue::from(key));
            }
        }
        _ => attrs.push(KeyValue::new(
            TRUNCATED_KEY,
            OtelValue::Array(Array::String(vec![StringValue::from(key)])),
        )),
    }
}

/// Whether the JSON text of `value` would be longer than `budget` bytes, roughly
/// (strings and keys by their length, numbers by their digits, plus punctuation).
/// Stops as soon as the budget is spent, so a huge value costs `O(budget)` here.
#[cfg_attr(not(feature = "schema-check"), allow(dead_code))]
pub(crate) fn exceeds(value: &Value, budget: usize) -> bool {
    size_within(value, budget).is_none()
}

/// The length in bytes of `value`'s compact JSON text, counted as it is written (no
/// text is kept), or `bound` once it reaches `bound`: the cost stops there.
#[cfg(feature = "wire")]
pub(crate) fn json_size<T: serde::Serialize + ?Sized>(value: &T, bound: usize) -> usize {
    struct Counter {
        written: usize,
        bound: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.written = self.written.saturating_add(bytes.len());
            if self.written >= self.bound {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter { written: 0, bound };
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.written,
        Err(_) => bound,
    }
}

/// `value`'s compact JSON text, cut at `bound` bytes (at a character boundary, with the
/// truncation mark): no more than `bound` bytes are ever written.
#[cfg(all(feature = "wire", feature = "logs"))]
pub(crate) fn json_text(value: &Value, bound: usize) -> String {
    struct Upto {
        text: Vec<u8>,
        bound: usize,
    }
    impl std::io::Write for Upto {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let room = self.bound.saturating_sub(self.text.len());
            self.text.extend_from_slice(&bytes[..bytes.len().min(room)]);
            if bytes.len() > room {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // One byte over the bound tells a text that fits from one that was cut.
    let mut upto = Upto {
        text: Vec::new(),
        bound: bound.saturating_add(1),
    };
    let _ = serde_json::to_writer(&mut upto, value);
    let text = String::from_utf8_lossy(&upto.text);
    bounded(&text, bound).into_owned()
}

/// [`exceeds`] for an arguments object held as a map.
#[cfg_attr(not(feature = "wire"), allow(dead_code))]
pub(crate) fn object_exceeds(map: &serde_json::Map<String, Value>, budget: usize) -> bool {
    if map.len() > budget {
        return true;
    }
    // The braces, as `exceeds` counts them for the object as a whole.
    let mut spent = 2usize;
    if spent > budget {
        return true;
    }
    for (key, value) in map {
        spent += key.len() + 4;
        match budget
            .checked_sub(spent)
            .and_then(|left| size_within(value, left))
        {
            Some(size) => spent += size,
            None => return true,
        }
    }
    false
}

/// The approximate JSON size of `value`, or `None` once it passes `budget`.
///
/// Walks with a stack of iterators, one per open container: memory grows with the
/// depth reached before the budget is spent, never with a container's length.
fn size_within(value: &Value, budget: usize) -> Option<usize> {
    /// The rest of an open container.
    enum Open<'a> {
        Items(std::slice::Iter<'a, Value>),
        Members(serde_json::map::Iter<'a>),
    }
    let mut spent = 0usize;
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        let value = match next.take() {
            Some(value) => value,
            None => {
                let Some(open) = stack.last_mut() else { break };
                let item = match open {
                    Open::Items(items) => items.next(),
                    Open::Members(members) => members.next().map(|(key, item)| {
                        spent += key.len() + 4; // quotes, colon, separator
                        item
                    }),
                };
                match item {
                    Some(item) => item,
                    None => {
                        stack.pop();
                        continue;
                    }
                }
            }
        };
        spent += match value {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 2 + number_digits(value),
            Value::String(s) => s.len() + 3,
            Value::Array(items) => {
                stack.push(Open::Items(items.iter()));
                2
            }
            Value::Object(map) => {
                stack.push(Open::Members(map.iter()));
                2
            }
        };
        if spent > budget {
            return None;
        }
    }
    Some(spent)
}

/// Rough printed length of a number, without formatting it.
fn number_digits(value: &Value) -> usize {
    match value
        .as_u64()
        .or_else(|| value.as_i64().map(i64::unsigned_abs))
    {
        Some(n) => n.checked_ilog10().map_or(1, |d| d as usize + 1),
        None => 17,
    }
}

/// `tracestate` members are dropped from the end until the header fits its bound.
pub(crate) fn tracestate(value: &str) -> Option<String> {
    if value.len() <= MAX_TRACESTATE_BYTES {
        return Some(value.to_owned());
    }
    let mut out = String::new();
    for member in value.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let extra = member.len() + usize::from(!out.is_empty());
        if out.len() + extra > MAX_TRACESTATE_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(member);
    }
    (!out.is_empty()).then_some(out)
}

/// `mcp.protocol.version`: a published revision as the crate's own constant (no copy),
/// any other version string bounded.
pub(crate) fn push_protocol(attrs: &mut Vec<KeyValue>, version: &str) {
    // Newest first: the version most peers speak is found soonest.
    match crate::keys::KNOWN_PROTOCOLS
        .iter()
        .rev()
        .find(|known| **known == version)
    {
        Some(known) => push_in_place(attrs, crate::keys::PROTOCOL, *known),
        None => push_bounded(attrs, crate::keys::PROTOCOL, version, MAX_NAME_BYTES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_held_as_a_map_is_measured_as_the_value() {
        let objects = [
            serde_json::json!({}),
            serde_json::json!({"a": 1}),
            serde_json::json!({"query": "rust", "limit": 5, "filters": ["a", "bb"]}),
            serde_json::json!({"deep": {"x": [1, {"y": null}]}, "z": true}),
        ];
        for object in objects {
            let Value::Object(map) = &object else {
                unreachable!()
            };
            for budget in 0..80 {
                assert_eq!(
                    object_exceeds(map, budget),
                    exceeds(&object, budget),
                    "{object} against {budget} bytes"
                );
            }
        }
    }

    #[cfg(all(feature = "wire", feature = "logs"))]
    #[test]
    fn json_text_is_cut_at_its_bound() {
        let value = serde_json::json!({"a": "é"});
        assert_eq!(json_text(&value, 100), value.to_string());
        let big = Value::String("é".repeat(10_000));
        let cut = json_text(&big, 100);
        assert!(cut.len() <= 100 && cut.ends_with('\u{2026}'), "{cut}");
    }

    #[cfg(feature = "wire")]
    #[test]
    fn json_size_counts_the_compact_text_up_to_its_bound() {
        let value = serde_json::json!({"a": [1, 2, "é"], "b": null});
        assert_eq!(json_size(&value, 1024), value.to_string().len());
        let big = Value::String("x".repeat(10_000));
        assert_eq!(json_size(&big, 100), 100);
    }
    use serde_json::json;

    #[test]
    fn cuts_at_char_boundaries_with_an_ellipsis_inside_the_bound() {
        assert_eq!(cut("short", 10), None);
        let cut_value = cut("ééééé", 8).unwrap();
        assert_eq!(cut_value, "éé\u{2026}");
        assert!(cut_value.len() <= 8);
        let long = "😀".repeat(1000);
        let cut_value = cut(&long, MAX_NAME_BYTES).unwrap();
        assert!(cut_value.len() <= MAX_NAME_BYTES);
        assert!(cut_value.ends_with('\u{2026}'));
        assert_eq!(cut("abcdef", 2).unwrap(), "ab");
    }

    #[test]
    fn marks_each_truncated_key_once() {
        let mut attrs = Vec::new();
        push_bounded(&mut attrs, "a", &"x".repeat(300), MAX_NAME_BYTES);
        push_bounded(&mut attrs, "b", "fits", MAX_NAME_BYTES);
        push_bounded(&mut attrs, "c", &"y".repeat(3000), MAX_URI_BYTES);
        mark_truncated(&mut attrs, "a");
        let marker = attrs
            .iter()
            .find(|kv| kv.key.as_str() == TRUNCATED_KEY)
            .unwrap();
        assert_eq!(marker.value.to_string(), r#"["a","c"]"#);
        assert_eq!(attrs.len(), 4);
    }

    #[test]
    fn size_estimate_stops_early() {
        assert!(!exceeds(&json!({"q": "abc", "n": [1, 2, 3]}), 100));
        assert!(exceeds(&json!({"q": "x".repeat(200)}), 100));
        let big = Value::Array(vec![json!(1); 1_000_000]);
        assert!(exceeds(&big, 1000));
        assert!(!exceeds(&big, 10_000_000));
        assert!(exceeds(&json!([123456789012u64, -5, 1.5]), 10));
        let object = json!({"a": "x".repeat(60), "b": [1, 2, 3]});
        let map = object.as_object().unwrap();
        assert!(!object_exceeds(map, 200));
        assert!(object_exceeds(map, 50));
    }

    #[test]
    fn tracestate_drops_trailing_members() {
        assert_eq!(tracestate("a=1,b=2").as_deref(), Some("a=1,b=2"));
        let long: Vec<String> = (0..100).map(|i| format!("vendor{i:02}=value")).collect();
        let bounded = tracestate(&long.join(",")).unwrap();
        assert!(bounded.len() <= MAX_TRACESTATE_BYTES);
        assert!(bounded.starts_with("vendor00=value,vendor01=value"));
        assert_eq!(tracestate(&"x".repeat(600)), None);
    }
}
