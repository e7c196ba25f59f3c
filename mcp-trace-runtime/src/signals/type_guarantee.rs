//! Whether a schema derived from Rust types says nothing those types do not already
//! guarantee, so that arguments rebuilt from typed parameters need no validation.
//!
//! A `String` parameter always serializes to a string, a `u32` to an integer in
//! `0..=u32::MAX`, a `Vec<String>` to an array of strings, a struct to the object its
//! `JsonSchema` describes: the derived schema's structural keywords hold by
//! construction. Constraints the types cannot express (`schemars` attributes such as
//! `range`, `length`, `pattern`, and every keyword not listed here) need the validator.

use serde_json::{Map, Value};

/// Keywords that only describe or annotate.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    // Not asserted by the validator as configured (draft 2020-12 annotation), and the
    // bounds a format implies are checked below.
    "format",
];

/// Whether `schema` (derived by `schemars` from Rust types) holds for every value those
/// types serialize to.
pub(crate) fn guaranteed_by_types(schema: &Value) -> bool {
    let mut stack = vec![schema];
    while let Some(schema) = stack.pop() {
        let map = match schema {
            Value::Bool(_) => continue,
            Value::Object(map) => map,
            _ => return false,
        };
        for (keyword, value) in map {
            let ok = match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => true,
                "type" | "enum" | "const" | "required" | "$ref" => true,
                "minimum" | "maximum" => within_format_bounds(map, keyword, value),
                "items" | "additionalProperties" => {
                    stack.push(value);
                    true
                }
                "properties" | "$defs" | "definitions" => match value.as_object() {
                    Some(children) => {
                        stack.extend(children.values());
                        true
                    }
                    None => false,
                },
                "prefixItems" | "oneOf" | "anyOf" | "allOf" => match value.as_array() {
                    Some(children) => {
                        stack.extend(children);
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// `minimum` / `maximum` equal to the bound of the integer type the `format` names: the
/// type's own range, which every value of it satisfies.
fn within_format_bounds(map: &Map<String, Value>, keyword: &str, value: &Value) -> bool {
    let Some(format) = map.get("format").and_then(Value::as_str) else {
        return false;
    };
    let (min, max): (i128, Option<i128>) = match format {
        "uint8" => (0, Some(u8::MAX.into())),
        "uint16" => (0, Some(u16::MAX.into())),
        "uint32" => (0, Some(u32::MAX.into())),
        "uint64" | "uint128" | "uint" => (0, None),
        "int8" => (i8::MIN.into(), Some(i8::MAX.into())),
        "int16" => (i16::MIN.into(), Some(i16::MAX.into())),
        "int32" => (i32::MIN.into(), Some(i32::MAX.into())),
        _ => return false,
    };
    let Some(value) = value.as_i64().map(i128::from).or_else(|| {
        value.as_u64().map(i128::from).or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i128)
        })
    }) else {
        return false;
    };
    match keyword {
        "minimum" => value == min,
        _ => Some(value) == max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_types_are_guaranteed() {
        let schema = json!({
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "small": {"type": "integer", "format": "uint8", "minimum": 0, "maximum": 255},
                "filters": {"type": "array", "items": {"type": "string"}},
                "kind": {"$ref": "#/$defs/Kind"},
                "map": {"type": "object", "additionalProperties": {"type": "number", "format": "double"}}
            },
            "required": ["query", "filters"],
            "$defs": {"Kind": {"type": "string", "enum": ["a", "b"], "description": "k"}}
        });
        assert!(guaranteed_by_types(&schema));
    }

    #[test]
    fn constraints_the_types_cannot_express_need_the_validator() {
        for constrained in [
            json!({"type": "integer", "format": "uint32", "minimum": 1}),
            json!({"type": "integer", "format": "uint32", "minimum": 0, "maximum": 100}),
            json!({"type": "integer", "format": "int64", "minimum": 0}),
            json!({"type": "integer", "maximum": 5}),
            json!({"type": "string", "maxLength": 200}),
            json!({"type": "string", "pattern": "^a"}),
            json!({"type": "array", "items": {"type": "string", "minLength": 1}}),
            json!({"type": "array", "uniqueItems": true}),
            json!({"$defs": {"T": {"type": "string", "minLength": 1}}}),
            json!({"oneOf": [{"type": "string"}, {"not": {}}]}),
            json!({"type": "object", "patternProperties": {"^a": {}}}),
        ] {
            assert!(!guaranteed_by_types(&constrained), "{constrained}");
        }
    }
}
