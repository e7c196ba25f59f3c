//! Client-chosen strings through `TracedServer` on the stdio example are bounded: a 1 MB
//! unknown tool name, 100 undeclared argument keys, a 64 KiB request id, a 10 KB
//! `tracestate`, and 10 MB resource URIs (claimed by a traced handler or not).
#![cfg(all(feature = "rmcp", feature = "otlp"))]

mod common;

use common::otlp::{self, Receiver};
use common::pipes::PipeServer;
use serde_json::{Map, Value, json};

/// `(key, value)` of a span's attributes, as JSON.
fn attributes(
    span: &opentelemetry_proto::tonic::trace::v1::Span,
) -> std::collections::BTreeMap<String, Value> {
    otlp::attributes(&span.attributes)
}

fn truncated(keys: &[&str]) -> Value {
    json!(keys)
}

#[test]
fn client_chosen_strings_are_bounded() {
    let receiver = Receiver::start();
    let mut server = PipeServer::start(&receiver.endpoint(), |_| {});
    server.initialize();

    // An unknown tool: 1 MB name, 100 undeclared keys, a 64 KiB string id, and a
    // 10 KB tracestate under a valid traceparent.
    let name = "n".repeat(1 << 20);
    let id = "i".repeat(64 << 10);
    let mut arguments = Map::new();
    for k in 0..100 {
        arguments.insert(format!("key{k:03}"), json!(k));
    }
    let sent = arguments.clone();
    let tracestate: Vec<String> = (0..100)
        .map(|m| format!("vendor{m:03}={}", "v".repeat(90)))
        .collect();
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    server.send(
        &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": name, "arguments": sent,
            "_meta": {"traceparent": traceparent, "tracestate": tracestate.join(",")}}})
        .to_string(),
    );
    assert!(
        server.response(id.as_str())["error"].is_object(),
        "unknown tool refused"
    );

    // A 10 MB URI read by the traced handler, and one no handler claims.
    let page = "p".repeat(10 << 20);
    for (n, uri) in [
        (1u64, format!("docs://{page}")),
        (2, format!("other://{page}")),
    ] {
        server.send(
            &json!({"jsonrpc": "2.0", "id": n, "method": "resources/read",
                    "params": {"uri": uri}})
            .to_string(),
        );
        let _ = server.response(n);
    }
    let (status, stderr) = server.finish();
    assert!(status.success(), "{stderr}");

    let received = receiver.stop();
    let spans = otlp::spans(&received);

    let tool = spans
        .iter()
        .find(|s| s.name.starts_with("tools/call"))
        .expect("the unknown tool's span");
    assert_eq!(tool.name, "tools/call _OTHER");
    let attrs = attributes(tool);
    let bounded_name = format!("{}…", "n".repeat(mcp_trace::MAX_NAME_BYTES - 3));
    let bounded_id = format!("{}…", "i".repeat(mcp_trace::MAX_NAME_BYTES - 3));
    // The stdio session is a random id per process: only its digest's form is known.
    let session = attrs["mcp.session.id"].as_str().unwrap_or_default();
    assert!(session.len() == 32 && session.bytes().all(|b| b.is_ascii_hexdigit()));
    let expected: std::collections::BTreeMap<String, Value> = [
        ("mcp.method.name", json!("tools/call")),
        ("gen_ai.operation.name", json!("execute_tool")),
        ("gen_ai.tool.name", json!(bounded_name)),
        ("mcp.tool.name", json!(bounded_name)),
        ("jsonrpc.request.id", json!(bounded_id)),
        (
            "mcp.trace.truncated",
            truncated(&["gen_ai.tool.name", "mcp.tool.name", "jsonrpc.request.id"]),
        ),
        ("mcp.session.id", json!(session)),
        ("mcp.protocol.version", json!("2025-06-18")),
        ("network.transport", json!("pipe")),
        // Keys are counted, never named; values are hashed.
        ("mcp.tool.args.undeclared_count", json!(100)),
        (
            "mcp.tool.args.hash",
            json!(mcp_trace::args_hash(&Value::Object(arguments))),
        ),
        // Counted under `_OTHER`, never under the client's name.
        ("mcp.tool.call.repeat_run", json!(1)),
        // An unknown tool is the client's mistake: the code, no error type.
        ("rpc.response.status_code", json!("-32602")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(attrs, expected);
    // The trace state keeps whole leading members within 512 bytes.
    assert!(
        tool.trace_state.len() <= 512,
        "{} bytes",
        tool.trace_state.len()
    );
    let kept: Vec<&str> = tool.trace_state.split(',').collect();
    assert!(kept.len() >= 4, "{kept:?}");
    assert_eq!(
        kept,
        tracestate[..kept.len()]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );

    let reads: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "resources/read")
        .collect();
    assert_eq!(reads.len(), 2, "one span per read");
    for read in reads {
        let attrs = attributes(read);
        let Some(Value::String(uri)) = attrs.get("mcp.resource.uri") else {
            panic!("no URI: {attrs:?}");
        };
        assert!(uri.len() <= mcp_trace::MAX_URI_BYTES, "{} bytes", uri.len());
        assert!(uri.ends_with("pppp…"), "{}", &uri[..40]);
        assert_eq!(
            attrs["mcp.trace.truncated"],
            truncated(&["mcp.resource.uri"])
        );
    }
}
