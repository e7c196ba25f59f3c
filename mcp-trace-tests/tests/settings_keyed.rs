//! Fleet keys from the environment: `MCP_TRACE_SESSION_KEY` keys session and URI
//! digests, `MCP_TRACE_ARGS_HASH_KEY` turns the argument hash into a keyed HMAC, and
//! `MCP_TRACE_RESOURCE_URI=digest` is the process-wide URI mode. The expected values are
//! known answers computed independently with CPython's `hmac` module:
//!
//! ```text
//! hmac.new(b"fleet-hash-key", json.dumps({"approve": True}, sort_keys=True).encode(), "sha256").hexdigest()[:16]
//! hmac.new(b"fleet-session-key", b"session-one", "sha256").hexdigest()[:32]
//! hmac.new(b"fleet-session-key", b"docs://intro", "sha256").hexdigest()[:32]
//! ```
//!
//! Settings are fixed once per process, so this file is its own test binary with one test.
#![cfg(all(feature = "enable", feature = "args-hash", feature = "read-tracking"))]
#![allow(unsafe_code)] // `std::env::set_var` before anything reads the environment

mod common;

use common::{attrs, capture, only};
use mcp_trace::{traced_resource, traced_tool};
use opentelemetry::Value;

#[traced_tool]
fn approve(#[session] session: &str, approve: bool) -> bool {
    let _ = session;
    approve
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

fn string(attrs: &std::collections::BTreeMap<String, Value>, key: &str) -> Option<String> {
    match attrs.get(key) {
        Some(Value::String(s)) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

#[test]
fn fleet_keys_and_the_global_uri_mode_come_from_the_environment() {
    // SAFETY: the only test of this binary, run before any other thread reads the
    // environment (the harness reads it before it starts the test).
    unsafe {
        std::env::set_var("MCP_TRACE_SESSION_KEY", "fleet-session-key");
        std::env::set_var("MCP_TRACE_ARGS_HASH_KEY", "fleet-hash-key");
        std::env::set_var("MCP_TRACE_RESOURCE_URI", "digest");
    }

    let (_, spans) = capture(|| approve("session-one", true));
    let tool = attrs(&only(spans));
    assert_eq!(
        string(&tool, "mcp.tool.args.hash").as_deref(),
        Some("76fda36dfed5b516"),
        "keyed HMAC of the canonical arguments"
    );
    assert_ne!(
        mcp_trace::args_hash(&serde_json::json!({"approve": true})),
        "76fda36dfed5b516",
        "the unkeyed reference hash is unchanged and differs"
    );
    assert_eq!(
        string(&tool, "mcp.session.id").as_deref(),
        Some("be9554a70847c556849c017c062a8427")
    );
    assert_eq!(
        mcp_trace::session::exported_id("session-one"),
        "be9554a70847c556849c017c062a8427"
    );

    let (_, spans) = capture(|| read_docs("session-one", "intro"));
    let read = attrs(&only(spans));
    assert_eq!(
        string(&read, "mcp.resource.uri_digest").as_deref(),
        Some("504876364f7785311bea01ecf832c345")
    );
    assert_eq!(read.get("mcp.resource.uri"), None);
    assert_eq!(read.get("mcp.resource.read_count"), Some(&Value::I64(1)));

    // A resource's own `uri_mode` wins over the process-wide one.
    let (_, spans) = capture(|| read_docs_full("intro"));
    let read = attrs(&only(spans));
    assert_eq!(
        string(&read, "mcp.resource.uri").as_deref(),
        Some("docs://intro")
    );
    assert_eq!(read.get("mcp.resource.uri_digest"), None);
}
