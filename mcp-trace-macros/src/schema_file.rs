//! `schema = "path.json"`: read, parsed and compiled at compile time.

use serde_json::Value;
use std::path::PathBuf;
use syn::LitStr;

/// The schema document, or a message for an error on the string literal.
pub(crate) fn load(lit: &LitStr) -> Result<Value, String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = dir.join(lit.value());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read schema file `{}`: {e}", lit.value()))?;
    let document: Value = serde_json::from_str(&text)
        .map_err(|e| format!("schema file `{}` is not JSON: {e}", lit.value()))?;
    // With neither the check nor the docs that read the file compiled, it is checked
    // against the signature only: not compiled as a JSON Schema.
    #[cfg(any(feature = "schema-check", feature = "docs"))]
    if let Err(error) = jsonschema::validator_for(&document) {
        return Err(format!(
            "schema file `{}` is not a valid JSON Schema: {error}",
            lit.value()
        ));
    }
    Ok(document)
}

/// Properties the schema requires.
pub(crate) fn required(document: &Value) -> Vec<String> {
    document
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The JSON types a property schema declares with `type`, if it does.
pub(crate) fn declared_types(property: &Value) -> Option<Vec<String>> {
    match property.get("type")? {
        Value::String(t) => Some(vec![t.clone()]),
        Value::Array(types) => Some(
            types
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::load;

    /// A file that is JSON but no JSON Schema: an error when what reads the file is
    /// compiled, accepted (checked against the signature only) when nothing is.
    #[test]
    fn an_invalid_schema_is_refused_only_where_it_would_be_read() {
        let lit = syn::LitStr::new(
            "../mcp-trace-tests/tests/ui/schemas/invalid_schema.json",
            proc_macro2::Span::call_site(),
        );
        let loaded = load(&lit);
        if cfg!(any(feature = "schema-check", feature = "docs")) {
            let message = loaded.expect_err("an invalid schema is refused");
            assert!(
                message.starts_with(
                    "schema file `../mcp-trace-tests/tests/ui/schemas/invalid_schema.json` \
                     is not a valid JSON Schema: "
                ),
                "{message}"
            );
        } else {
            assert_eq!(loaded, Ok(serde_json::json!({"type": "strng"})));
        }
    }
}
