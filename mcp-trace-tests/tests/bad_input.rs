//! Bad input never panics and never leaks: huge, deeply nested and non-object
//! arguments, and client-chosen keys, arriving through the request scope.
#![cfg(all(
    feature = "enable",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]

mod common;

use common::{attrs, capture, expect, hash, only, tool_base};
use mcp_trace::traced_tool;
use opentelemetry::KeyValue;
use serde_json::{Value, json};

#[traced_tool]
fn echo(text: String) -> usize {
    text.len()
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Query {
    pub query: String,
}

#[traced_tool]
fn flattened(#[args] args: Query) -> usize {
    args.query.len()
}

fn with_raw<R>(raw: Value, f: impl FnOnce() -> R) -> R {
    mcp_trace::scope().arguments(raw).run_sync(f)
}

#[test]
fn ten_megabyte_argument() {
    let big = "é".repeat(5 * 1024 * 1024); // 10 MiB of UTF-8
    let raw = json!({"text": big});
    let (_, spans) = capture(|| with_raw(raw.clone(), || echo(String::new())));
    let mut expected = tool_base("echo");
    // Over the 1 MiB schema-check budget: shaped and hashed, not validated.
    expected.extend([
        KeyValue::new("mcp.tool.args.text.length", 5 * 1024 * 1024),
        hash(raw),
        KeyValue::new("mcp.tool.args.schema_skipped", "too_large"),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));
}

#[test]
fn arguments_that_are_not_an_object() {
    for raw in [json!(["text"]), json!("text"), json!(null), json!(7)] {
        let (_, spans) = capture(|| with_raw(raw.clone(), || echo("typed".into())));
        let mut expected = tool_base("echo");
        let kind = match &raw {
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Null => "null",
            _ => "integer",
        };
        expected.extend([
            hash(raw.clone()),
            KeyValue::new("mcp.tool.args.schema_valid", false),
            KeyValue::new("mcp.tool.args.schema_error_path", ""),
            KeyValue::new(
                "mcp.tool.args.schema_error_message",
                "value is not of type \"object\"",
            ),
            KeyValue::new("mcp.tool.args.schema_error_count", 1),
        ]);
        assert_eq!(attrs(&only(spans)), expect(expected), "{kind}");
    }
}

#[test]
fn deeply_nested_argument() {
    // As deep as serde_json will parse from the wire.
    let text = format!("{{\"text\": {}1{}}}", "[".repeat(126), "]".repeat(126));
    let raw: Value = serde_json::from_str(&text).expect("parses");
    let (_, spans) = capture(|| with_raw(raw.clone(), || echo(String::new())));
    let attributes = attrs(&only(spans));
    assert_eq!(attributes["mcp.tool.args.text.count"], 1.into());
    assert_eq!(
        attributes["mcp.tool.args.hash"],
        mcp_trace::args_hash(&raw).into()
    );
    assert_eq!(attributes["mcp.tool.args.schema_valid"], false.into());
}

#[test]
fn client_chosen_keys_never_become_attribute_names() {
    let raw = json!({
        "query": "SENTINEL-value",
        "unexpected key with spaces": 1,
        "injected\"attr": 2,
        "z".repeat(500): 3,
    });
    let (_, spans) = capture(|| {
        with_raw(raw.clone(), || {
            flattened(Query {
                query: String::new(),
            })
        })
    });
    let span = only(spans);
    let attributes = attrs(&span);
    let args: Vec<&String> = attributes
        .keys()
        .filter(|k| k.starts_with("mcp.tool.args."))
        .collect();
    assert_eq!(
        args,
        [
            "mcp.tool.args.hash",
            "mcp.tool.args.query.length",
            "mcp.tool.args.schema_valid",
            "mcp.tool.args.undeclared_count",
        ]
    );
    assert_eq!(attributes["mcp.tool.args.undeclared_count"], 3.into());
    assert!(!format!("{span:?}").contains("SENTINEL"));
}
