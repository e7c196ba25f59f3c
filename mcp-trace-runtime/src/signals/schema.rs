//! The schema check: one compiled validator per handler, built on first use.
//!
//! Validation observes, it never rejects: the verdict becomes span attributes whose
//! messages come from the validator's value-masking display, so no instance value
//! reaches a span; messages that would name client-chosen keys are replaced, and
//! pointer segments the schema does not declare become `*`.
//!
//! The cost is bounded on hostile input: validity is decided without collecting errors
//! (`is_valid`), the first error is fetched alone (`validate` stops at it), errors are
//! counted only for small arguments, and arguments over the size budget are not
//! validated at all (`schema_skipped = "too_large"`).

use crate::signals::schema_build::SchemaBuilder;
use opentelemetry::KeyValue;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Errors are counted only for arguments up to this approximate JSON size: counting
/// materialises every error, which for a large invalid array would cost far more than
/// the array itself. Larger invalid arguments get the first error and no count.
pub const MAX_COUNTED_BYTES: usize = 16 * 1024;

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
    properties: Option<Vec<crate::signals::fields::DeclaredField>>,
    #[cfg_attr(not(feature = "args-shape"), allow(dead_code))]
    required: Vec<String>,
    /// Every property name the schema declares, at any depth: the only keys that may
    /// appear in an exported error pointer.
    declared: HashSet<String>,
    /// Derived from the parameter types and constraining nothing they do not
    /// guarantee: arguments rebuilt from typed parameters are valid without a check.
    guaranteed: bool,
    /// Which document this is, its top-level `title` and `description` aside (rmcp
    /// strips them from an advertised input schema): two schemas with the same
    /// fingerprint give any arguments the same verdict and the same declared fields.
    #[cfg_attr(not(feature = "wire"), allow(dead_code))]
    fingerprint: u64,
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
    pub(crate) fn document(&self, derive: fn(&mut SchemaBuilder)) -> Option<Value> {
        match self.file {
            // Checked at compile time; a parse failure here just means no schema.
            Some(text) => serde_json::from_str(text).ok(),
            None => Some(SchemaBuilder::build(derive)),
        }
    }

    /// Compiled on first use, once per handler.
    pub(crate) fn compiled(&self, derive: fn(&mut SchemaBuilder)) -> Option<&Compiled> {
        self.compiled
            .get_or_init(|| {
                let document = self.document(derive)?;
                let mut compiled = Compiled::new(&document)?;
                compiled.guaranteed = self.file.is_none()
                    && crate::signals::type_guarantee::guaranteed_by_types(&document);
                Some(compiled)
            })
            .as_ref()
    }
}

impl Compiled {
    /// `None` for a document that is not a valid schema: then there is no check.
    pub(crate) fn new(document: &Value) -> Option<Self> {
        let validator = jsonschema::validator_for(document).ok()?;
        let required: Vec<String> = document
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let properties = document
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.keys()
                    .map(|name| {
                        let optional = !required.contains(name);
                        crate::signals::fields::DeclaredField::new(name.clone(), optional)
                    })
                    .collect()
            });
        let mut declared = HashSet::new();
        collect_declared(document, &mut declared);
        Some(Compiled {
            validator,
            properties,
            required,
            declared,
            guaranteed: false,
            fingerprint: fingerprint(document),
        })
    }

    /// See the field: equal for the advertised schema of an rmcp tool and the schema a
    /// traced handler derives from its `Parameters<T>`.
    #[cfg(feature = "wire")]
    pub(crate) fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    #[cfg(feature = "args-shape")]
    pub(crate) fn fields(&self) -> crate::signals::fields::FieldInfo<'_> {
        crate::signals::fields::FieldInfo {
            properties: self.properties.as_deref(),
        }
    }

    /// Whether the parameter types alone guarantee the schema (see `check`).
    pub(crate) fn guaranteed(&self) -> bool {
        self.guaranteed
    }

    /// Whether the schema lists `key` in its top-level `required`.
    pub(crate) fn requires(&self, key: &str) -> bool {
        self.required.iter().any(|r| r == key)
    }

    /// Pushes `schema_valid`, and for invalid arguments the first error's pointer and
    /// masked message and, for small arguments, the error count. Missing `unseen`
    /// properties are not errors: they are parameters the rebuilt object could not
    /// include. Arguments over the size budget get `schema_skipped` instead. `typed`:
    /// the instance was rebuilt from typed parameters, so a schema their types
    /// guarantee holds without validation.
    pub(crate) fn check(
        &self,
        instance: &Value,
        typed: bool,
        unseen: &[&str],
        attrs: &mut Vec<KeyValue>,
    ) {
        use crate::keys;
        if typed && self.guaranteed {
            attrs.push(KeyValue::new(keys::SCHEMA_VALID, true));
            return;
        }
        if crate::bounds::exceeds(instance, crate::settings::get().schema_check_max_bytes) {
            attrs.push(KeyValue::new(keys::SCHEMA_SKIPPED, "too_large"));
            return;
        }
        self.check_within_budget(instance, unseen, attrs);
    }

    /// [`Self::check`] of an instance already known to be within the size budget (the
    /// adapter measured the request's arguments before it moved on).
    pub(crate) fn check_within_budget(
        &self,
        instance: &Value,
        unseen: &[&str],
        attrs: &mut Vec<KeyValue>,
    ) {
        use crate::keys;
        // Walked only for invalid arguments: valid ones are not counted.
        let small = || !crate::bounds::exceeds(instance, MAX_COUNTED_BYTES);
        let (first, count) = if unseen.is_empty() {
            if self.validator.is_valid(instance) {
                attrs.push(KeyValue::new(keys::SCHEMA_VALID, true));
                return;
            }
            let Err(first) = self.validator.validate(instance) else {
                attrs.push(KeyValue::new(keys::SCHEMA_VALID, true));
                return;
            };
            let count = small().then(|| self.validator.iter_errors(instance).count());
            (first, count)
        } else {
            // Rare (a parameter without `Serialize`) and bounded by the size budget.
            let mut errors = self.validator.iter_errors(instance).filter(|e| {
                !matches!(e.kind(), jsonschema::error::ValidationErrorKind::Required { property }
                    if property.as_str().is_some_and(|p| unseen.contains(&p)))
            });
            let Some(first) = errors.next() else {
                attrs.push(KeyValue::new(keys::SCHEMA_VALID, true));
                return;
            };
            let count = small().then(|| 1 + errors.count());
            (first, count)
        };
        attrs.push(KeyValue::new(keys::SCHEMA_VALID, false));
        let path = self.exported_pointer(first.instance_path().as_str());
        crate::bounds::push_bounded(
            attrs,
            keys::SCHEMA_ERROR_PATH,
            &path,
            crate::bounds::MAX_MESSAGE_BYTES,
        );
        crate::bounds::push_bounded(
            attrs,
            keys::SCHEMA_ERROR_MESSAGE,
            &masked_message(&first),
            crate::bounds::MAX_MESSAGE_BYTES,
        );
        if let Some(count) = count {
            attrs.push(KeyValue::new(
                keys::SCHEMA_ERROR_COUNT,
                i64::try_from(count).unwrap_or(i64::MAX),
            ));
        }
    }

    /// The error's JSON pointer with every segment that is neither an array index nor a
    /// property the schema declares replaced by `*`: a client-chosen key is not exported.
    fn exported_pointer(&self, pointer: &str) -> String {
        let mut out = String::with_capacity(pointer.len());
        for segment in pointer.split('/').skip(1) {
            out.push('/');
            let unescaped = segment.replace("~1", "/").replace("~0", "~");
            let index = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
            if index || self.declared.contains(&unescaped) {
                out.push_str(segment);
            } else {
                out.push('*');
            }
        }
        out
    }
}

/// The validator's value-masked message, except for the kinds whose message quotes
/// client-chosen property names: those are described without them.
fn masked_message(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    let unexpected = |what: &str, n: usize| {
        let verb = if n == 1 { "was" } else { "were" };
        format!("{what} properties are not allowed ({n} {verb} unexpected)")
    };
    match error.kind() {
        Kind::AdditionalProperties { unexpected: names } => unexpected("Additional", names.len()),
        Kind::UnevaluatedProperties { unexpected: names } => unexpected("Unevaluated", names.len()),
        Kind::PropertyNames { .. } => {
            "A property name is not valid under the 'propertyNames' schema".to_owned()
        }
        _ => error.masked().to_string(),
    }
}

/// [`Compiled::fingerprint`] of `document`.
fn fingerprint(document: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    match document {
        Value::Object(map) => {
            // In key order: rmcp removes the two keys by swapping when serde_json keeps
            // insertion order (`preserve_order`), which moves the last key up.
            let mut keys: Vec<&String> = map
                .keys()
                .filter(|key| *key != "title" && *key != "description")
                .collect();
            keys.sort_unstable();
            for key in keys {
                key.hash(&mut hasher);
                map[key.as_str()].to_string().hash(&mut hasher);
            }
        }
        other => other.to_string().hash(&mut hasher),
    }
    hasher.finish()
}

/// Adds every key of every `properties` object in `schema`, at any depth.
fn collect_declared(schema: &Value, out: &mut HashSet<String>) {
    let mut stack = vec![schema];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(properties)) = map.get("properties") {
                    out.extend(properties.keys().cloned());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the probes need their exact reference depth
mod tests {
    use super::*;
    use crate::signals::schema_build::{SchemaAny as _, SchemaOf as _, TypeProbe};
    use serde_json::json;

    fn build(b: &mut SchemaBuilder) {
        b.param(
            "query",
            true,
            (&&TypeProbe::<String>::NEW).__mcp_trace_schema(),
        );
        b.param(
            "limit",
            false,
            (&&TypeProbe::<Option<u8>>::NEW).__mcp_trace_schema(),
        );
        struct Opaque;
        b.param("x", true, (&&TypeProbe::<Opaque>::NEW).__mcp_trace_schema());
    }

    #[test]
    fn derived_schema_checks_types_bounds_and_required() {
        static SCHEMA: HandlerSchema = HandlerSchema::derived();
        let compiled = SCHEMA.compiled(build).expect("derived schema compiles");
        let mut attrs = Vec::new();
        compiled.check(
            &json!({"query": "a", "limit": 3, "x": [1]}),
            false,
            &[],
            &mut attrs,
        );
        assert_eq!(attrs, [KeyValue::new("mcp.tool.args.schema_valid", true)]);

        attrs.clear();
        compiled.check(
            &json!({"limit": 300, "x": "SENTINEL-VALUE"}),
            false,
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

        // The schema says only what `String` and `Option<u8>` guarantee: arguments
        // rebuilt from such typed parameters are not validated (this instance could
        // not come from them, which shows the validator was skipped).
        assert!(compiled.guaranteed);
        attrs.clear();
        compiled.check(&json!({"limit": 300}), true, &[], &mut attrs);
        assert_eq!(attrs, [KeyValue::new("mcp.tool.args.schema_valid", true)]);
    }
}
