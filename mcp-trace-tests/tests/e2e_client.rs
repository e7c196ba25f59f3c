//! End to end from the agent's side: `examples/agent` (rmcp's client served as a
//! `TracedClient`) drives the example server, over stdio (a child of the agent) and
//! over streamable HTTP, every process exporting to one receiver started here. Each
//! agent run is one trace: the run's span, the client's session span under it, a
//! client span per request, and the server's span of each request as that client
//! span's child, with the same argument hash on both sides; `isError` and a JSON-RPC
//! error are marked on both sides.
#![cfg(all(
    feature = "client",
    feature = "otlp",
    feature = "args-hash",
    feature = "schema-check"
))]

mod common;

use common::http::HttpServer;
use common::otlp::{Receiver, attributes, spans};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;

/// Runs the agent example with `args`, exporting to `receiver`.
fn run_agent(receiver: &Receiver, args: &[&str]) {
    let mut command = Command::new(common::example_binary("agent"));
    let output = common::export_to(&mut command, &receiver.endpoint())
        .env_remove("MCP_TRACE_FILE")
        .args(args)
        .output()
        .expect("the agent runs");
    assert!(
        output.status.success(),
        "agent: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn attrs(span: &Span) -> BTreeMap<String, Value> {
    attributes(&span.attributes)
}

/// Checks the traces of the agent's two runs; returns the client spans of tool calls.
fn check_runs(all: &[&Span], transport: &str) -> Vec<(Span, Span)> {
    let roots: Vec<&&Span> = all
        .iter()
        .filter(|s| s.name.starts_with("agent run ") && s.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 2, "one trace per agent run");
    let mut calls = Vec::new();
    for root in roots {
        let trace: Vec<&Span> = all
            .iter()
            .copied()
            .filter(|s| s.trace_id == root.trace_id)
            .collect();
        let by_id = |id: &[u8]| trace.iter().find(|s| s.span_id == id).copied();
        let session = trace
            .iter()
            .find(|s| s.name == "mcp.client.session")
            .expect("the client's session span");
        assert_eq!(session.parent_span_id, root.span_id, "the run's child");
        assert_eq!(
            attrs(session)["mcp.server.name"],
            json!("mcp-trace-example")
        );
        assert_eq!(attrs(session)["network.transport"], json!(transport));
        // The agent's requests; the server's own (its question) are checked below.
        let clients: Vec<&Span> = trace
            .iter()
            .copied()
            .filter(|s| s.kind == SpanKind::Client as i32 && s.name != "elicitation/create")
            .collect();
        assert!(
            clients.len() >= 12,
            "initialize, tools/list, eight calls, two reads"
        );
        // confirm_action: the server's question is its tool span's child, and the
        // agent's answer the question's.
        let confirm = trace
            .iter()
            .find(|s| s.name == "tools/call confirm_action" && s.kind == SpanKind::Server as i32)
            .expect("the server's confirm_action span");
        let question = trace
            .iter()
            .find(|s| s.parent_span_id == confirm.span_id)
            .expect("the server's question under its tool span");
        assert_eq!(
            (question.name.as_str(), question.kind),
            ("elicitation/create", SpanKind::Client as i32)
        );
        assert_eq!(attrs(question)["mcp.elicitation.action"], json!("accept"));
        let answer = trace
            .iter()
            .find(|s| s.parent_span_id == question.span_id)
            .expect("the agent's answer under the server's question");
        assert_eq!(
            (answer.name.as_str(), answer.kind),
            ("elicitation/create", SpanKind::Server as i32)
        );
        assert_eq!(attrs(answer)["mcp.elicitation.action"], json!("accept"));
        // build_report: its logs and progress are events on its span.
        let report = trace
            .iter()
            .find(|s| s.name == "tools/call build_report" && s.kind == SpanKind::Server as i32)
            .expect("the server's build_report span");
        let events: Vec<&str> = report.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            events,
            [
                "notifications/message",
                "notifications/progress",
                "notifications/message",
                "notifications/progress",
                "notifications/message",
                "notifications/progress"
            ]
        );
        for client in &clients {
            let parent = by_id(&client.parent_span_id).expect("a parent in the trace");
            assert!(
                ["mcp.client.session", "agent run"]
                    .iter()
                    .any(|p| parent.name.starts_with(p))
                    || parent.name.starts_with("agent step "),
                "{} under {}",
                client.name,
                parent.name
            );
            assert_eq!(attrs(client)["network.transport"], json!(transport));
            // The server's span of the request: the client span's child.
            let server = trace
                .iter()
                .find(|s| s.parent_span_id == client.span_id)
                .unwrap_or_else(|| panic!("a server span under {}", client.name));
            assert_eq!(server.kind, SpanKind::Server as i32);
            assert_eq!(server.name, client.name);
            let (c, s) = (attrs(client), attrs(server));
            for key in [
                "mcp.tool.args.hash",
                "mcp.tool.args.schema_valid",
                "rpc.response.status_code",
            ] {
                assert_eq!(c.get(key), s.get(key), "{key} of {}", client.name);
            }
            // A server's failure is the client's too; a JSON-RPC error the server
            // counts as the caller's mistake is still the client's request failing.
            match s.get("error.type") {
                Some(error) => assert_eq!(c.get("error.type"), Some(error)),
                None => assert_eq!(c.get("error.type"), c.get("rpc.response.status_code")),
            }
            if client.name.starts_with("tools/call") {
                assert!(
                    by_id(&client.parent_span_id)
                        .unwrap()
                        .name
                        .starts_with("agent step "),
                    "a tool call under the agent's step"
                );
                calls.push(((*client).clone(), (*server).clone()));
            }
        }
    }
    assert_eq!(calls.len(), 16, "eight calls a run");
    let marked = |name: &str, key: &str, value: Value| {
        calls
            .iter()
            .filter(|(c, s)| {
                c.name == name
                    && attrs(c).get(key) == Some(&value)
                    && attrs(s).get(key) == Some(&value)
            })
            .count()
    };
    assert_eq!(
        marked("tools/call create_issue", "error.type", json!("tool_error")),
        2,
        "isError on both sides, each run"
    );
    assert_eq!(
        marked(
            "tools/call run_query",
            "rpc.response.status_code",
            json!("-32602")
        ),
        2,
        "the JSON-RPC error on both sides, each run"
    );
    assert_eq!(
        marked(
            "tools/call search_documents",
            "mcp.tool.args.schema_valid",
            json!(false)
        ),
        2,
        "the out-of-range limit, seen by both"
    );
    calls
}

#[test]
fn agent_runs_are_one_trace_each_over_stdio() {
    let receiver = Receiver::start();
    run_agent(&receiver, &[]);
    let received = receiver.stop();
    no_argument_value_leaves(&received);
    let all = spans(&received);
    check_runs(&all, "pipe");
}

/// The agent's argument values appear nowhere in what either side exported.
fn no_argument_value_leaves(received: &[common::otlp::Received]) {
    for value in [
        "DELETE FROM docs",
        "In the intro.",
        "intro setup",
        "Docs typo",
        "No title.",
        "Publish the docs",
    ] {
        for r in received {
            assert!(
                !r.body.windows(value.len()).any(|w| w == value.as_bytes()),
                "{value:?} left a process"
            );
        }
    }
}

#[test]
fn agent_runs_are_one_trace_each_over_http() {
    let receiver = Receiver::start();
    let server = HttpServer::start(&receiver);
    run_agent(&receiver, &["--http", &server.url]);
    let port = server
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse::<i64>().ok())
        .expect("the server's port");
    server.stop();
    let received = receiver.stop();
    no_argument_value_leaves(&received);
    let all = spans(&received);
    for (client, _) in check_runs(&all, "tcp") {
        let a = attrs(&client);
        assert_eq!(a["server.address"], json!("127.0.0.1"));
        assert_eq!(a["server.port"], json!(port));
    }
}
