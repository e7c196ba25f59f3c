//! One line of a span file, walked rather than built: an `ExportTraceServiceRequest`
//! nests spans three deep (`resourceSpans[].scopeSpans[].spans[]`), and building it
//! whole holds every span of the line at once (a line of 20 million empty spans
//! would take gigabytes). Here each span is parsed, handed on, and dropped before
//! the next; everything around the spans is skipped but the resource's `service.name`,
//! handed on with each span of it.

use opentelemetry_proto::tonic::trace::v1::Span;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parses one line, calling `each` for every span in it, in order. `Ok(false)` when
/// the line is JSON but not an export request (no `resourceSpans`: a metrics line,
/// say). On an error, the spans before it have been handed on. With each span, its
/// resource's `service.name` when the resource (written before its spans, as every
/// OTLP/JSON writer writes it) says one.
pub(crate) fn each_span(
    line: &[u8],
    each: &mut dyn FnMut(Span, Option<&str>),
) -> serde_json::Result<bool> {
    let mut parser = serde_json::Deserializer::from_slice(line);
    let found = Object {
        level: Level::Request,
        each,
        service: None,
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
    each: &'a mut dyn FnMut(Span, Option<&str>),
    service: Option<&'a str>,
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
        let mut service: Option<String> = None;
        while let Some(key) = map.next_key::<KeyName>()? {
            if self.level.keys().contains(&key.0.as_str()) {
                found = true;
                map.next_value_seed(List {
                    level: self.level,
                    each: &mut *self.each,
                    service: service.as_deref().or(self.service),
                })?;
            } else if self.level == Level::Resource && key.0 == "resource" {
                service = map.next_value::<Resource>()?.service;
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
    each: &'a mut dyn FnMut(Span, Option<&str>),
    service: Option<&'a str>,
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
                    (self.each)(span, self.service);
                }
                return Ok(());
            }
        };
        while seq
            .next_element_seed(Object {
                level: down,
                each: &mut *self.each,
                service: self.service,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// A resource, read for its `service.name` alone (any other shape: none).
struct Resource {
    service: Option<String>,
}

impl<'de> serde::Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Attribute {
            #[serde(default)]
            key: String,
            #[serde(default)]
            value: Option<serde_json::Value>,
        }
        #[derive(serde::Deserialize)]
        struct Attributes {
            #[serde(default)]
            attributes: Vec<Attribute>,
        }
        let value = serde_json::Value::deserialize(deserializer)?;
        let service = serde_json::from_value::<Attributes>(value)
            .ok()
            .and_then(|resource| {
                resource
                    .attributes
                    .into_iter()
                    .find(|a| a.key == "service.name")
            })
            .and_then(|a| Some(a.value?.get("stringValue")?.as_str()?.to_owned()));
        Ok(Resource { service })
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
        let result = each_span(line.as_bytes(), &mut |span: Span, _| seen.push(span.name));
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
    fn each_span_comes_with_its_resource_s_service() {
        let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"host","value":{"stringValue":"h"}},{"key":"service.name","value":{"stringValue":"docs"}}]},"scopeSpans":[{"spans":[{"name":"one"}]}]},{"scopeSpans":[{"spans":[{"name":"two"}]}]},{"resource":{"attributes":7},"scopeSpans":[{"spans":[{"name":"three"}]}]}]}"#;
        let mut seen = Vec::new();
        let result = each_span(line.as_bytes(), &mut |span: Span, service| {
            seen.push((span.name, service.map(str::to_owned)))
        });
        assert!(result.unwrap());
        assert_eq!(
            seen,
            [
                ("one".to_owned(), Some("docs".to_owned())),
                ("two".to_owned(), None),
                ("three".to_owned(), None),
            ]
        );
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
