//! Opt-ins and bounds from the environment: `MCP_TRACE_SESSION_ID=raw` exports the
//! session id itself (bounded), `MCP_TRACE_RESOURCE_URI=template` drops URIs,
//! `MCP_TRACE_SCHEMA_CHECK_MAX_BYTES` skips the schema check of larger arguments, and
//! `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` lowers the bound on client-chosen strings.
//!
//! Settings are fixed once per process, so this file is its own test binary with one test.
#![cfg(all(
    feature = "enable",
    feature = "args-shape",
    feature = "schema-check",
    feature = "read-tracking"
))]
#![allow(unsafe_code)] // `std::env::set_var` before anything reads the environment

mod common;

use common::{attrs, capture, only};
use mcp_trace::{traced_resource, traced_tool};
use opentelemetry::{Array, StringValue, Value};

#[traced_tool]
fn search(#[session] session: &str, query: String) -> usize {
    let _ = session;
    query.len()
}

#[traced_resource(uri = "docs://{page}", name = "docs")]
fn read_docs(#[session] session: &str, page: &str) -> String {
    let _ = session;
    format!("# {page}")
}

#[traced_resource(uri = "docs://{page}", name = "docs", uri_mode = "full")]
fn read_docs_full(page: &str) -> String {
    format!("# {page}")
}

#[test]
fn opt_ins_and_bounds_come_from_the_environment() {
    // SAFETY: the only test of this binary, run before any other thread reads the
    // environment (the harness reads it before it starts the test).
    unsafe {
        std::env::set_var("MCP_TRACE_SESSION_ID", "raw");
        std::env::set_var("MCP_TRACE_RESOURCE_URI", "template");
        std::env::set_var("MCP_TRACE_SCHEMA_CHECK_MAX_BYTES", "64");
        std::env::set_var("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "24");
    }
    let long_session = "s".repeat(1000);

    // Small arguments: checked. Raw session ids are bounded like any client string.
    let (_, spans) = capture(|| search(&long_session, "short".into()));
    let tool = attrs(&only(spans));
    assert_eq!(
        tool.get("mcp.tool.args.schema_valid"),
        Some(&Value::Bool(true))
    );
    let Some(Value::String(session)) = tool.get("mcp.session.id") else {
        panic!("no session id: {tool:?}");
    };
    assert_eq!(
        session.as_str(),
        format!("{}…", "s".repeat(21)),
        "raw, cut to 24 bytes"
    );
    assert_eq!(
        tool.get(mcp_trace::TRUNCATED_KEY),
        Some(&Value::Array(Array::String(vec![StringValue::from(
            "mcp.session.id"
        )])))
    );

    // Over the 64-byte budget, but the parameter types guarantee the derived schema:
    // nothing to validate, so nothing skipped.
    let (_, spans) = capture(|| search("s1", "q".repeat(100)));
    let tool = attrs(&only(spans));
    assert_eq!(
        tool.get("mcp.tool.args.schema_valid"),
        Some(&Value::Bool(true))
    );
    assert_eq!(tool.get("mcp.tool.args.schema_skipped"), None);

    // Over the budget as sent by the client: the validator would run, and is skipped.
    let raw = serde_json::json!({"query": "q".repeat(100)});
    let (_, spans) = capture(|| {
        mcp_trace::scope()
            .arguments(raw)
            .run_sync(|| search("s1", "q".repeat(100)))
    });
    let tool = attrs(&only(spans));
    assert_eq!(tool.get("mcp.session.id"), Some(&Value::from("s1")));
    assert_eq!(tool.get("mcp.tool.args.schema_valid"), None);
    assert_eq!(
        tool.get("mcp.tool.args.schema_skipped"),
        Some(&Value::from("too_large"))
    );
    assert_eq!(
        tool.get("mcp.tool.args.query.length"),
        Some(&Value::I64(100))
    );

    // Template mode: no URI, the template says which resource.
    let (_, spans) = capture(|| read_docs("s1", "intro"));
    let read = attrs(&only(spans));
    assert_eq!(read.get("mcp.resource.uri"), None);
    assert_eq!(read.get("mcp.resource.uri_digest"), None);
    assert_eq!(
        read.get("mcp.resource.template"),
        Some(&Value::from("docs://{page}"))
    );

    // A resource exporting full URIs: cut to the environment's 24-byte limit.
    let (_, spans) = capture(|| read_docs_full("a-rather-long-page-name"));
    let read = attrs(&only(spans));
    assert_eq!(
        read.get("mcp.resource.uri"),
        Some(&Value::from("docs://a-rather-long-…")) // 21 bytes and a 3-byte ellipsis
    );
}
