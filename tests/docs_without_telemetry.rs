//! Docs are not telemetry: with `enable` off and `docs` on, handlers run unchanged and
//! are still documented. CI runs it with `--no-default-features --features docs`.
#![cfg(all(feature = "docs", not(feature = "enable")))]

/// Multiply two numbers.
#[mcp_trace::traced_tool]
fn multiply(a: i64, b: Option<i64>) -> i64 {
    a * b.unwrap_or(1)
}

/// A configuration value.
#[mcp_trace::traced_resource(uri = "config://{key}", name = "config")]
fn config(key: String) -> String {
    format!("value of {key}")
}

#[test]
fn documented_without_telemetry() {
    assert_eq!(multiply(6, Some(7)), 42);
    assert_eq!(config("a".into()), "value of a");
    let page = mcp_trace::docs::markdown();
    assert!(page.contains("## Tool `multiply`"), "{page}");
    assert!(page.contains("Multiply two numbers."));
    assert!(page.contains("## Resource `config`"));
    let docs = mcp_trace::docs::json();
    assert_eq!(
        docs["tools"][0]["inputSchema"]["required"],
        serde_json::json!(["a"])
    );
    assert_eq!(docs["resources"][0]["uriTemplate"], "config://{key}");
}
