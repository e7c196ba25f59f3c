//! The schema check: one compiled validator per handler, built on first use.
//!
//! Validation observes, it never rejects: the verdict becomes span attributes whose
//! messages come from the validator's value-masking display, so no instance value
//! reaches a span.

use crate::schema_build::SchemaBuilder;
use opentelemetry::KeyValue;
use serde_json::Value;
use std::sync::OnceLock;

/// Errors counted past the first, at most: a huge invalid array must not cost a
/// validation error per element.
const MAX_COUNTED_ERRORS: usize = 1000;

/// A handler's schema, as declared, and its compiled form.
#[derive(Debug)]
pub(crate) struct HandlerSchema {
    /// The `schema = "…"` file's text; `None`: derived from the parameter types.
    file: Option<&'static str>,
    compiled: OnceLock<Option<Compiled>>,
}

#[derive(Debug)]
pub(crate) struct Compiled {
    validator: jsonschema::Validator,
    #[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
    properties: Option<Vec<String>>,
    #[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
    required: Vec<String>,
}

impl HandlerSchema {
    pub(crate) const fn derived() -> Self {
        Self {
            file: None,
            compiled: OnceLock::new(),
        }
    }

    pub(crate) const fn file(text: &'static str) -> Self {
        Self {
            file: Some(text),
            compiled: OnceLock::new(),
        }
    }

    /// The schema document. `derive` describes the parameter types; generated code
    /// passes it at the call site, where the handler's generics are in scope.
    pub(crate) fn document(&self, derive: impl FnOnce(&mut SchemaBuilder)) -> Option<Value> {
        match self.file {
            // Checked at compile time; a parse failure here just means no schema.
            Some(text) => serde_json::from_str(text).ok(),
            None => Some(SchemaBuilder::build(derive)),
        }
    }

    /// Compiled on first use, once per handler.
    pub(crate) fn compiled(&self, derive: impl FnOnce(&mut SchemaBuilder)) -> Option<&Compiled> {
        self.compiled
            .get_or_init(|| Compiled::new(&self.document(derive)?))
            .as_ref()
    }
}

impl Compiled {
    /// `None` for a document that is not a valid schema: then there is no check.
    pub(crate) fn new(document: &Value) -> Option<Self> {
        let validator = jsonschema::validator_for(document).ok()?;
        let properties = document
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect());
        let required = document
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Some(Compiled {
            validator,
            properties,
            required,
        })
    }

    #[cfg(feature = "args-shape")]
    pub(crate) fn fields(&self) -> crate::shape::FieldInfo<'_> {
        crate::shape::FieldInfo {
            properties: self.properties.as_deref(),
            required: &self.required,
        }
    }

    /// Pushes `schema_valid`, and for invalid arguments the first error's pointer and
    /// masked message and the error count. Missing `unseen` properties are not errors:
    /// they are parameters the rebuilt object could not include.
    pub(crate) fn check(&self, instance: &Value, unseen: &[&str], attrs: &mut Vec<KeyValue>) {
        use crate::keys;
        let mut errors = self.validator.iter_errors(instance).filter(|e| {
            !matches!(e.kind(), jsonschema::error::ValidationErrorKind::Required { property }
                if property.as_str().is_some_and(|p| unseen.contains(&p)))
        });
        let Some(first) = errors.next() else {
            attrs.push(KeyValue::new(keys::SCHEMA_VALID, true));
            return;
        };
        let count = 1 + errors.take(MAX_COUNTED_ERRORS).count();
        attrs.push(KeyValue::new(keys::SCHEMA_VALID, false));
        attrs.push(KeyValue::new(
            keys::SCHEMA_ERROR_PATH,
            first.instance_path().as_str().to_owned(),
        ));
        attrs.push(KeyValue::new(
            keys::SCHEMA_ERROR_MESSAGE,
            first.masked().to_string(),
        ));
        attrs.push(KeyValue::new(keys::SCHEMA_ERROR_COUNT, count as i64));
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the probes need their exact reference depth
mod tests {
    use super::*;
    use crate::schema_build::{SchemaAny as _, SchemaOf as _, TypeProbe};
    use serde_json::json;

    fn build(b: &mut SchemaBuilder) {
        b.param("query", true, |g| {
            (&&TypeProbe::<String>::NEW).__mcp_trace_schema(g)
        });
        b.param("limit", false, |g| {
            (&&TypeProbe::<Option<u8>>::NEW).__mcp_trace_schema(g)
        });
        struct Opaque;
        b.param("x", true, |g| {
            (&&TypeProbe::<Opaque>::NEW).__mcp_trace_schema(g)
        });
    }

    #[test]
    fn derived_schema_checks_types_bounds_and_required() {
        static SCHEMA: HandlerSchema = HandlerSchema::derived();
        let compiled = SCHEMA.compiled(build).expect("derived schema compiles");
        let mut attrs = Vec::new();
        compiled.check(
            &json!({"query": "a", "limit": 3, "x": [1]}),
            &[],
            &mut attrs,
        );
        assert_eq!(attrs, [KeyValue::new("mcp.tool.args.schema_valid", true)]);

        attrs.clear();
        compiled.check(
            &json!({"limit": 300, "x": "SENTINEL-VALUE"}),
            &[],
            &mut attrs,
        );
        let rendered: Vec<String> = attrs
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        assert_eq!(rendered[0], "mcp.tool.args.schema_valid=false");
        // `x` has no schema (any value); `query` is missing and `limit` out of range.
        assert_eq!(rendered[3], "mcp.tool.args.schema_error_count=2");
        assert!(
            rendered
                .iter()
                .all(|a| !a.contains("300") && !a.contains("SENTINEL"))
        );
    }
}
