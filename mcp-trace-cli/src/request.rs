//! One line of a span file, walked rather than built: an `ExportTraceServiceRequest`
//! nests spans three deep (`resourceSpans[].scopeSpans[].spans[]`), and building it
//! whole holds every span of the line at once (a line of 20 million empty spans
//! would take gigabytes). Here each span is parsed, handed on, and dropped before
//! the next; everything around the spans (resource and scope attributes) is skipped.

use opentelemetry_proto::tonic::trace::v1::Span;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parses one line, calling `each` for every span in it, in order. `Ok(false)` when
/// the line is JSON but not an export request (no `resourceSpans`: a metrics line,
/// say). On an error, the spans before it have been handed on.
pub(crate) fn each_span(line: &[u8], each: &mut dyn FnMut(Span)) -> serde_json::Result<bool> {
    let mut parser = serde_json::Deserializer::from_slice(line);
    let found = Object {
        level: Level::Request,
        each,
    }
    .deserialize(&mut parser)?;
    parser.end()?;
    Ok(found)
}

/// Where in the nesting a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Request,
    Resource,
    Scope,
}

impl Level {
    /// The key of the list one level down (and its snake-case spelling, which some
    /// writers use).
    fn keys(self) -> [&'static str; 2] {
        match self {
            Level::Request => ["resourceSpans", "resource_spans"],
            Level::Resource => ["scopeSpans", "scope_spans"],
            Level::Scope => ["spans", "spans"],
        }
    }
}

/// An object at `level`: its list is walked, the rest skipped. `true` if it had one.
struct Object<'a> {
    level: Level,
    each: &'a mut dyn FnMut(Span),
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an OTLP/JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<KeyName>()? {
            if self.level.keys().contains(&key.0.as_str()) {
                found = true;
                map.next_value_seed(List {
                    level: self.level,
                    each: &mut *self.each,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The list under an object at `level`: objects one level down, or the spans.
struct List<'a> {
    level: Level,
    each: &'a mut dyn FnMut(Span),
}

impl<'de> DeserializeSeed<'de> for List<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an OTLP/JSON list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let down = match self.level {
            Level::Request => Level::Resource,
            Level::Resource => Level::Scope,
            Level::Scope => {
                while let Some(span) = seq.next_element::<Span>()? {
                    (self.each)(span);
                }
                return Ok(());
            }
        };
        while seq
            .next_element_seed(Object {
                level: down,
                each: &mut *self.each,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// An object's key, escapes decoded.
struct KeyName(String);

impl<'de> serde::Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(KeyName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> (serde_json::Result<bool>, Vec<String>) {
        let mut seen = Vec::new();
        let result = each_span(line.as_bytes(), &mut |span: Span| seen.push(span.name));
        (result, seen)
    }

    #[test]
    fn walks_every_span_and_skips_the_rest() {
        let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"a","value":{"stringValue":"b"}}]},"scopeSpans":[{"scope":{"name":"x"},"spans":[{"name":"one"},{"name":"two"}]},{"spans":[{"name":"three"}]}]},{"scopeSpans":[]}]}"#;
        let (result, seen) = names(line);
        assert!(result.unwrap());
        assert_eq!(seen, ["one", "two", "three"]);
    }

    #[test]
    fn other_json_is_not_a_request() {
        assert!(!names(r#"{"resourceMetrics":[]}"#).0.unwrap());
        assert!(!names("{}").0.unwrap());
        assert!(names("[]").0.is_err());
        assert!(names("null").0.is_err());
        assert!(names(r#"{"resourceSpans":7}"#).0.is_err());
    }

    #[test]
    fn spans_before_a_cut_are_handed_on() {
        let (result, seen) =
            names(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"one"},{"name":"tw"#);
        assert!(result.is_err());
        assert_eq!(seen, ["one"]);
    }
}
