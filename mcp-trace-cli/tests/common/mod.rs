//! Hand-built span files: OTLP/JSON lines as the embedded exporter writes them.

#![allow(dead_code)]

use serde_json::{Value, json};

/// 2027-01-15T08:00:00Z, on a minute boundary.
pub const T0_NS: u64 = 1_800_000_000 * 1_000_000_000;
pub const MINUTE_NS: u64 = 60 * 1_000_000_000;
pub const MS_NS: u64 = 1_000_000;

/// One span as OTLP/JSON: attribute values typed as the exporter types them.
pub fn span(name: &str, attrs: &[(&str, Value)], start_ns: u64, duration_ns: u64) -> Value {
    let attributes: Vec<Value> = attrs
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Bool(b) => json!({"boolValue": b}),
                Value::Number(n) => json!({"intValue": n.to_string()}),
                other => json!({"stringValue": other.as_str().unwrap()}),
            };
            json!({"key": k, "value": value})
        })
        .collect();
    json!({
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": name,
        "kind": 2,
        "startTimeUnixNano": start_ns.to_string(),
        "endTimeUnixNano": (start_ns + duration_ns).to_string(),
        "attributes": attributes,
    })
}

/// One OTLP/JSON line (an export request) holding `spans`.
pub fn line(spans: Vec<Value>) -> String {
    json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).to_string()
}

/// A `tools/call` span.
pub fn tool_call(
    tool: &str,
    session: &str,
    hash: &str,
    start_ns: u64,
    duration_ns: u64,
    extra: &[(&str, Value)],
) -> Value {
    let mut attrs = vec![
        ("mcp.method.name", json!("tools/call")),
        ("gen_ai.tool.name", json!(tool)),
        ("mcp.session.id", json!(session)),
        ("mcp.tool.args.hash", json!(hash)),
    ];
    attrs.extend(extra.iter().cloned());
    span(&format!("tools/call {tool}"), &attrs, start_ns, duration_ns)
}

/// A `resources/read` span of `docs://{page}`.
pub fn read(session: Option<&str>, hit: Option<bool>, start_ns: u64) -> Value {
    let mut attrs = vec![
        ("mcp.method.name", json!("resources/read")),
        ("mcp.resource.template", json!("docs://{page}")),
        ("mcp.resource.uri", json!("docs://intro")),
    ];
    if let Some(session) = session {
        attrs.push(("mcp.session.id", json!(session)));
    }
    if let Some(hit) = hit {
        attrs.push(("mcp.resource.cache_hit", json!(hit)));
    }
    span("resources/read", &attrs, start_ns, 2 * MS_NS)
}

/// Spans into a file's text, a batch of up to 64 spans per line as a batching
/// exporter writes them.
pub fn file(spans: Vec<Value>) -> String {
    let mut text = String::new();
    for batch in spans.chunks(64) {
        text.push_str(&line(batch.to_vec()));
        text.push('\n');
    }
    text
}
