//! `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` is honoured by the provider `mcp_trace` installs:
//! a span keeps that many attributes and reports how many it dropped.
//!
//! The variable is read when the provider is built, so this file is its own test binary.
#![cfg(all(
    feature = "enable",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]
#![allow(unsafe_code)] // `std::env::set_var` before the provider reads the environment

use mcp_trace::{Exporter, traced_tool};
use serde_json::Value;

/// Eight attributes when nothing limits them: the four every tool span carries,
/// `query.length`, `limit`, `hash`, `schema_valid`.
#[traced_tool]
fn search(query: String, limit: u32) -> usize {
    query.len().min(limit as usize)
}

#[test]
fn the_attribute_count_limit_from_the_environment_is_honoured() {
    // SAFETY: the only test of this binary, before anything reads the environment.
    unsafe { std::env::set_var("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5") };
    let dir = std::env::temp_dir().join(format!("mcp-trace-count-limit-{}", std::process::id()));
    let path = dir.join("spans.jsonl");
    let guard = mcp_trace::Builder::new()
        .service_name("count-limit-test")
        .exporter(Exporter::File(Some(path.clone())))
        .install()
        .expect("file exporter installs");
    search("hello".into(), 3);
    drop(guard);

    let text = std::fs::read_to_string(&path).expect("span file written");
    let spans: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("one JSON request per line"))
        .flat_map(|request| {
            request["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(spans.len(), 1, "{text}");
    let span = &spans[0];
    let keys: Vec<&str> = span["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|kv| kv["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    // The attributes given at span start are the first kept.
    for key in [
        "mcp.method.name",
        "gen_ai.operation.name",
        "gen_ai.tool.name",
        "mcp.tool.name",
    ] {
        assert!(keys.contains(&key), "{key} kept: {keys:?}");
    }
    // Then the shapes, in the order of the parameters: the first parameter's is kept.
    assert!(
        keys.contains(&"mcp.tool.args.query.length"),
        "the first parameter's shape kept: {keys:?}"
    );
    assert_eq!(span["droppedAttributesCount"], 3, "{span}");
    let _ = std::fs::remove_dir_all(&dir);
}
