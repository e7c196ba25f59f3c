//! Runs of identical tool calls seen by the wire observer (what the proxy records), in
//! process against the in-memory exporter: the issue's sequence of one listed tool, a
//! session's runs apart from another's, names the server never listed kept under one
//! `_OTHER` entry per session (however many names a client makes up) yet told apart,
//! and, with no session, the trace a valid `_meta` names.
#![cfg(all(feature = "enable", feature = "wire", feature = "args-hash"))]

mod common;

use common::{attributes, exporter, send};
use mcp_trace_runtime::wire::{Observer, Sender};
use opentelemetry::Value;
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};

/// A conversation over HTTP in session `id`, its tools listed: `search` and `fetch`.
fn conversation(id: &str) -> Observer {
    let observer = Observer::http();
    observer.in_session(id);
    send(
        &observer,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list"}),
    );
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": 0, "result": {"tools": [
            {"name": "search", "inputSchema": {"type": "object"}},
            {"name": "fetch", "inputSchema": {"type": "object"}}
        ]}}),
    );
    observer
}

/// Calls `tool` with `arguments` and answers it: the span's `mcp.tool.call.repeat_run`.
fn call(observer: &Observer, tool: &str, arguments: serde_json::Value) -> Option<i64> {
    call_with(observer, json!({"name": tool, "arguments": arguments}))
}

/// A `tools/call` with `params`, answered: the span's `mcp.tool.call.repeat_run`.
fn call_with(observer: &Observer, params: serde_json::Value) -> Option<i64> {
    static IDS: AtomicI64 = AtomicI64::new(1);
    let id = IDS.fetch_add(1, Ordering::Relaxed);
    send(
        observer,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}),
    );
    send(
        observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": id, "result": {"content": []}}),
    );
    let spans = exporter().get_finished_spans().unwrap();
    let span = spans
        .iter()
        .rev()
        .find(|s| attributes(s).get("jsonrpc.request.id") == Some(&Value::from(id.to_string())))
        .expect("the call's span");
    match attributes(span).get("mcp.tool.call.repeat_run") {
        Some(Value::I64(run)) => Some(*run),
        None => None,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn the_issues_sequence_through_the_observer() {
    exporter();
    let observer = conversation("wire-runs-1");
    let a = || json!({"query": "a"});
    let runs: Vec<Option<i64>> = vec![
        call(&observer, "search", a()),
        call(&observer, "search", a()),
        call(&observer, "fetch", a()),
        call(&observer, "search", a()),
        call(&observer, "search", a()),
        call(&observer, "search", json!({"query": "b"})),
        call(&observer, "search", a()),
        call(&observer, "search", a()),
    ];
    assert_eq!(runs, [1, 2, 1, 3, 4, 1, 1, 2].map(Some));
    // Another session's runs are its own.
    let other = conversation("wire-runs-2");
    assert_eq!(call(&other, "search", a()), Some(1));
    assert_eq!(call(&observer, "search", a()), Some(3));
}

#[test]
fn names_the_server_never_listed_share_one_entry_and_are_told_apart() {
    exporter();
    let observer = conversation("wire-runs-3");
    // A thousand made-up names with the same arguments: one `_OTHER` entry for the
    // session, not a thousand, and no made-up name repeats another.
    let runs: Vec<Option<i64>> = (0..1000)
        .map(|i| call(&observer, &format!("made-up-{i}"), json!({})))
        .collect();
    assert_eq!(runs, vec![Some(1); 1000]);
    // One made-up name again and again is a run; a listed tool's run is apart.
    assert_eq!(call(&observer, "made-up-x", json!({})), Some(1));
    assert_eq!(call(&observer, "search", json!({})), Some(1));
    assert_eq!(call(&observer, "made-up-x", json!({})), Some(2));
}

#[test]
fn without_a_session_a_valid_meta_trace_is_the_scope() {
    exporter();
    let observer = Observer::http();
    let call_in = |traceparent: &str| {
        call_with(
            &observer,
            json!({"name": "search", "arguments": {"query": "a"},
                   "_meta": {"traceparent": traceparent}}),
        )
    };
    let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(call_in(valid), Some(1));
    assert_eq!(call_in(valid), Some(2));
    // No valid context: no scope, no run (and nothing kept for it).
    assert_eq!(call_in("not-a-traceparent"), None);
    assert_eq!(call_in("not-a-traceparent"), None);
}
