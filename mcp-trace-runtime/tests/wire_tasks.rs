//! Tasks (the MCP tasks extension) seen by the wire observer, in process against the
//! in-memory exporter: a `tools/call` answered with a task starts the task's span (the
//! child of the call's, which links to it); a `tasks/get` about it links to it and
//! carries the status; the server's `notifications/tasks` with a terminal status ends
//! it, by the tool's rules.
#![cfg(all(feature = "enable", feature = "wire"))]

mod common;

use common::{attributes, exporter, send};
use mcp_trace_runtime::wire::{Observer, Sender};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde_json::json;

#[test]
fn a_task_is_spanned_from_its_creation_to_its_end() {
    let exporter = exporter();
    let observer = Observer::stdio();
    send(
        &observer,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "render", "inputSchema": {"type": "object"}}]}}),
    );
    send(
        &observer,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "render", "arguments": {}, "task": {"ttl": 60000}}}),
    );
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": 2, "result": {"resultType": "task", "taskId": "task-7",
               "status": "working", "ttlMs": 60000, "createdAt": "2026-12-07T00:00:00Z",
               "lastUpdatedAt": "2026-12-07T00:00:00Z"}}),
    );
    send(
        &observer,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tasks/get", "params": {"taskId": "task-7"}}),
    );
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": 3, "result": {"taskId": "task-7", "status": "working",
               "ttlMs": 60000, "createdAt": "x", "lastUpdatedAt": "x"}}),
    );
    // A poll about a task nobody followed.
    send(
        &observer,
        Sender::Client,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tasks/get", "params": {"taskId": "unknown"}}),
    );
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -32602, "message": "no such task"}}),
    );
    let finished = exporter.get_finished_spans().unwrap();
    assert!(
        !finished.iter().any(|s| s.name.starts_with("task ")),
        "still working"
    );
    send(
        &observer,
        Sender::Server,
        json!({"jsonrpc": "2.0", "method": "notifications/tasks", "params": {"taskId": "task-7",
               "status": "completed", "ttlMs": 60000, "createdAt": "x", "lastUpdatedAt": "x",
               "result": {"content": [{"type": "text", "text": "SECRET"}], "isError": true}}}),
    );
    let spans = exporter.get_finished_spans().unwrap();
    let named =
        |name: &str| -> Vec<&SpanData> { spans.iter().filter(|s| s.name == name).collect() };
    let call = named("tools/call render")[0];
    let task = named("task render")[0];
    let polls = named("tasks/get");
    assert_eq!(polls.len(), 2);
    // The task is the call's child, and the call links to it.
    assert_eq!(task.parent_span_id, call.span_context.span_id());
    assert_eq!(task.span_context.trace_id(), call.span_context.trace_id());
    let links: Vec<_> = call
        .links
        .iter()
        .map(|l| l.span_context.span_id())
        .collect();
    assert_eq!(links, [task.span_context.span_id()]);
    // Ended by the tool's rules: a result with isError is a tool error.
    let task_attributes = attributes(task);
    assert_eq!(task_attributes["mcp.task.status"], Value::from("completed"));
    assert_eq!(task_attributes["error.type"], Value::from("tool_error"));
    assert_eq!(task_attributes["gen_ai.tool.name"], Value::from("render"));
    let followed = polls
        .iter()
        .find(|p| attributes(p)["jsonrpc.request.id"] == Value::from("3"))
        .unwrap();
    assert_eq!(attributes(followed)["mcp.task.known"], Value::Bool(true));
    assert_eq!(
        attributes(followed)["mcp.task.status"],
        Value::from("working")
    );
    let linked: Vec<_> = followed
        .links
        .iter()
        .map(|l| l.span_context.span_id())
        .collect();
    assert_eq!(linked, [task.span_context.span_id()]);
    let unknown = polls
        .iter()
        .find(|p| attributes(p)["jsonrpc.request.id"] == Value::from("4"))
        .unwrap();
    assert_eq!(attributes(unknown)["mcp.task.known"], Value::Bool(false));
    assert!(unknown.links.is_empty());
    // No task's content is exported.
    assert!(!format!("{spans:?}").contains("SECRET"));
}
