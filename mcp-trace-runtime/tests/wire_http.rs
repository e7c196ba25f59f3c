//! The wire observer's streamable-HTTP face, in process against the in-memory
//! exporter: conversations of one server share what it listed; an HTTP exchange that
//! ends unanswered ends its requests (with the HTTP status when there was one); the
//! HTTP request's `traceparent` is the parent when `_meta` carries none, and `_meta`
//! wins when both do; the session the server assigned is on the spans, digested.
#![cfg(all(
    feature = "enable",
    feature = "wire",
    feature = "args-hash",
    feature = "schema-check"
))]

mod common;

use common::{attributes, exporter, send};
use mcp_trace_runtime::wire::{Http, Observer, Sender};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde_json::json;
use std::time::SystemTime;

/// The finished spans whose `jsonrpc.request.id` is `id` (each test its own ids).
fn spans_of(id: &str) -> Vec<SpanData> {
    exporter()
        .get_finished_spans()
        .expect("readable")
        .into_iter()
        .filter(|s| {
            s.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "jsonrpc.request.id" && kv.value.as_str() == id)
        })
        .collect()
}

#[test]
fn a_tool_listed_in_one_conversation_is_checked_in_the_next() {
    exporter();
    let first = Observer::http();
    send(
        &first,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": "list-a", "method": "tools/list"}),
    );
    send(
        &first,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": "list-a", "result": {"tools": [{
            "name": "lookup",
            "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}}
        }]}}),
    );
    first.closed();
    // A stateless exchange: a conversation of its own, with what `first` learnt.
    let next = first.same_server();
    send(
        &next,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": "call-a", "method": "tools/call",
               "params": {"name": "lookup", "arguments": {"query": 5}}}),
    );
    send(
        &next,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": "call-a", "result": {"content": [], "isError": true}}),
    );
    let spans = spans_of("call-a");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "tools/call lookup");
    let attrs = attributes(&spans[0]);
    assert_eq!(attrs["mcp.tool.args.schema_valid"], Value::Bool(false));
    assert_eq!(
        attrs["mcp.tool.args.schema_error_path"],
        Value::from("/query")
    );
    assert_eq!(attrs["network.transport"], Value::from("tcp"));
    assert_eq!(attrs["network.protocol.name"], Value::from("http"));
    assert_eq!(attrs["network.protocol.version"], Value::from("1.1"));
    assert!(!attrs.contains_key("mcp.session.id"), "no session given");
}

#[test]
fn an_exchange_that_ends_unanswered_ends_its_requests() {
    exporter();
    let observer = Observer::http();
    let batch = json!([
        {"jsonrpc": "2.0", "id": "ended-1", "method": "ping"},
        {"jsonrpc": "2.0", "id": "ended-2", "method": "prompts/list"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"}
    ])
    .to_string();
    observer.observe(Sender::Client, batch.as_bytes(), SystemTime::now());
    // One was answered before the exchange ended; the other never was.
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": "ended-1", "result": {}}),
    );
    observer.exchange_ended(batch.as_bytes(), Some(503));
    let answered = attributes(&spans_of("ended-1")[0]);
    assert!(!answered.contains_key("error.type"));
    let unanswered = spans_of("ended-2");
    assert_eq!(unanswered.len(), 1);
    assert_eq!(attributes(&unanswered[0])["error.type"], Value::from("503"));

    // A request whose exchange broke off (no status): `transport_closed`. Ended once:
    // a second word on it changes nothing.
    let one = json!({"jsonrpc": "2.0", "id": "ended-3", "method": "resources/list"}).to_string();
    observer.observe(Sender::Client, one.as_bytes(), SystemTime::now());
    observer.exchange_ended(one.as_bytes(), Some(200));
    observer.exchange_ended(one.as_bytes(), Some(500));
    let closed = spans_of("ended-3");
    assert_eq!(closed.len(), 1);
    assert_eq!(
        attributes(&closed[0])["error.type"],
        Value::from("transport_closed")
    );
    // What is not JSON-RPC is passed by.
    observer.exchange_ended(b"not json", Some(500));
    observer.exchange_ended(b"", None);
}

#[test]
fn the_http_context_is_the_parent_unless_meta_carries_one() {
    exporter();
    let observer = Observer::http();
    observer.in_session("raw-session-id");
    let header = "00-11111111111111111111111111111111-2222222222222222-01";
    let client: std::net::SocketAddr = "10.1.2.3:4567".parse().unwrap();
    let http = Http {
        traceparent: Some(header),
        tracestate: Some("k=v"),
        client: Some(client),
    };
    let from_header = json!({"jsonrpc": "2.0", "id": "parent-1", "method": "tools/list"});
    observer.observe_http(
        Sender::Client,
        from_header.to_string().as_bytes(),
        SystemTime::now(),
        &http,
    );
    let meta = "00-33333333333333333333333333333333-4444444444444444-01";
    let from_meta = json!({"jsonrpc": "2.0", "id": "parent-2", "method": "tools/list",
        "params": {"_meta": {"traceparent": meta}}});
    observer.observe_http(
        Sender::Client,
        from_meta.to_string().as_bytes(),
        SystemTime::now(),
        &http,
    );
    for id in ["parent-1", "parent-2"] {
        send(
            &observer,
            Sender::Server,
            json!({"jsonrpc": "2.0", "id": id, "result": {"tools": []}}),
        );
    }
    let by_header = &spans_of("parent-1")[0];
    assert_eq!(
        by_header.span_context.trace_id().to_string(),
        "11111111111111111111111111111111"
    );
    assert_eq!(by_header.parent_span_id.to_string(), "2222222222222222");
    assert_eq!(by_header.span_context.trace_state().header(), "k=v");
    let by_meta = &spans_of("parent-2")[0];
    assert_eq!(
        by_meta.span_context.trace_id().to_string(),
        "33333333333333333333333333333333"
    );
    assert_eq!(by_meta.parent_span_id.to_string(), "4444444444444444");
    let attrs = attributes(by_header);
    assert_eq!(attrs["client.address"], Value::from("10.1.2.3"));
    assert_eq!(attrs["client.port"], Value::I64(4567));
    let session = attrs["mcp.session.id"].as_str();
    assert_eq!(session.len(), 32, "a digest: {session}");
    assert!(!session.contains("raw-session-id"));
    // The first session given stays.
    observer.in_session("another");
    send(
        &observer,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": "parent-3", "method": "ping"}),
    );
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": "parent-3", "result": {}}),
    );
    assert_eq!(
        attributes(&spans_of("parent-3")[0])["mcp.session.id"].as_str(),
        session
    );
}

#[test]
fn a_session_holds_few_of_the_server_s_requests_awaiting_answers() {
    exporter();
    let observer = Observer::http();
    observer.in_session("flooded");
    // A server asking its client a hundred questions no one answers.
    for n in 0..100 {
        let id = format!("asked-{n}");
        send(
            &observer,
            Sender::Server,
            json!({"jsonrpc": "2.0", "id": id, "method": "sampling/createMessage", "params": {}}),
        );
    }
    observer.closed();
    let ended: Vec<SpanData> = exporter()
        .get_finished_spans()
        .expect("readable")
        .into_iter()
        .filter(|s| {
            s.attributes.iter().any(|kv| {
                kv.key.as_str() == "jsonrpc.request.id" && kv.value.as_str().starts_with("asked-")
            })
        })
        .collect();
    // At most 64 held per session, each ended as the conversation closed.
    assert_eq!(ended.len(), 64);
    assert!(
        ended
            .iter()
            .all(|s| attributes(s)["error.type"] == Value::from("transport_closed"))
    );
}
