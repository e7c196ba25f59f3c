//! The client side in process: rmcp's client served over `client::traced(…)` talks to
//! the example server (`TracedServer`) over an in-memory pipe. Every request is a
//! CLIENT span with exactly the convention's attributes and the server's span as its
//! child, in one trace under the session span; the argument hash is the same on both
//! sides; `isError`, JSON-RPC errors and a closed transport are marked.
#![cfg(all(
    feature = "client",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check",
    feature = "read-tracking"
))]

mod common;
#[path = "../examples/shared/rmcp_server.rs"]
#[allow(dead_code)]
mod rmcp_server;

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use serde_json::json;
use std::collections::BTreeMap;

fn call(tool: &str, arguments: serde_json::Value) -> CallToolRequestParams {
    let serde_json::Value::Object(map) = arguments else {
        panic!("arguments are an object")
    };
    CallToolRequestParams::new(tool.to_owned()).with_arguments(map)
}

/// Runs the scripted client against the example server; returns the spans of its
/// trace (the session span's).
async fn scripted_session() -> Vec<SpanData> {
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(rmcp_server::DocsServer)
            .serve(server_end)
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let client = ().serve(mcp_trace::rmcp::client::traced(client_end)).await.expect("initialize");
    client.list_all_tools().await.expect("tools/list");
    let ok = client
        .call_tool(call(
            "search_documents",
            json!({"query": "intro", "limit": 3}),
        ))
        .await
        .expect("tools/call");
    assert_ne!(ok.is_error, Some(true));
    let failed = client
        .call_tool(call(
            "create_issue",
            json!({"title": " ", "body": "b", "priority": 2}),
        ))
        .await
        .expect("an isError result");
    assert_eq!(failed.is_error, Some(true));
    let refused = client
        .call_tool(call("run_query", json!({"sql": "DELETE FROM users"})))
        .await;
    assert!(refused.is_err());
    client
        .read_resource(ReadResourceRequestParams::new("docs://intro"))
        .await
        .expect("resources/read");
    client
        .get_prompt(rmcp::model::GetPromptRequestParams::new("summarize"))
        .await
        .expect("prompts/get");
    client.cancel().await.expect("client closes");
    server.await.unwrap();
    let spans = common::exporter().get_finished_spans().unwrap();
    // This test's trace: the one with a `create_issue` call (tests share the exporter).
    let session = spans
        .iter()
        .find(|s| s.name == "tools/call create_issue" && s.span_kind == SpanKind::Client)
        .expect("the session's create_issue call")
        .span_context
        .trace_id();
    spans
        .into_iter()
        .filter(|s| s.span_context.trace_id() == session)
        .collect()
}

fn attrs(span: &SpanData) -> BTreeMap<String, Value> {
    common::attrs(span)
}

/// The client span named `name` and the server span whose parent it is.
fn pair<'a>(spans: &'a [SpanData], name: &str) -> (&'a SpanData, &'a SpanData) {
    let client = spans
        .iter()
        .find(|s| s.name == name && s.span_kind == SpanKind::Client)
        .unwrap_or_else(|| panic!("a client span {name}"));
    let server = spans
        .iter()
        .find(|s| s.parent_span_id == client.span_context.span_id())
        .unwrap_or_else(|| panic!("a server span under {name}"));
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.name, name, "the server names its span alike");
    (client, server)
}

/// What the client and the server both record, the same: the server's attributes
/// without those only it can know (its session, the tool's definition, the result,
/// the read tracking).
fn shared_with_client(server: &SpanData) -> BTreeMap<String, Value> {
    let only_server = [
        "mcp.session.id",
        "mcp.tool.definition.hash",
        "mcp.tool.definition.size",
        "mcp.tool.result.count",
        "mcp.tool.result.size",
        "mcp.resource.cache_hit",
        "mcp.resource.content.length",
        "mcp.resource.name",
        "mcp.resource.read_count",
        "mcp.resource.read_scope",
        "mcp.resource.template",
    ];
    attrs(server)
        .into_iter()
        .filter(|(k, _)| !only_server.contains(&k.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_a_client_span_with_the_servers_as_its_child() {
    let spans = scripted_session().await;
    let session = spans
        .iter()
        .find(|s| s.name == "mcp.client.session")
        .unwrap();
    assert_eq!(session.span_kind, SpanKind::Internal);
    assert_eq!(session.parent_span_id, SpanId::INVALID, "the trace's root");
    assert_eq!(
        attrs(session),
        common::expect([
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("mcp.server.name", "mcp-trace-example"),
            KeyValue::new("mcp.server.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("network.transport", "pipe"),
        ])
    );
    let clients: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect();
    assert_eq!(
        clients.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>(),
        [
            "initialize",
            "tools/list",
            "tools/call search_documents",
            "tools/call create_issue",
            "tools/call run_query",
            "resources/read",
            "prompts/get summarize"
        ]
    );
    for client in &clients {
        assert_eq!(client.parent_span_id, session.span_context.span_id());
    }

    let (client, server) = pair(&spans, "initialize");
    assert_eq!(
        attrs(client),
        common::expect([
            KeyValue::new("jsonrpc.request.id", "0"),
            KeyValue::new("mcp.method.name", "initialize"),
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("mcp.server.name", "mcp-trace-example"),
            KeyValue::new("mcp.server.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("network.transport", "pipe"),
        ])
    );
    assert_eq!(client.status, Status::Unset);
    assert!(server.end_time <= client.end_time && server.start_time >= client.start_time);

    let (client, server) = pair(&spans, "tools/list");
    assert_eq!(
        attrs(client),
        common::expect([
            KeyValue::new("jsonrpc.request.id", "1"),
            KeyValue::new("mcp.method.name", "tools/list"),
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("network.transport", "pipe"),
        ])
    );
    assert_eq!(attrs(server)["mcp.tools.count"], 5.into());

    // The same shapes, hash and verdict on both sides: the client checks against the
    // schema the server listed.
    let (client, server) = pair(&spans, "tools/call search_documents");
    assert_eq!(
        attrs(client),
        common::expect([
            KeyValue::new("gen_ai.operation.name", "execute_tool"),
            KeyValue::new("gen_ai.tool.name", "search_documents"),
            KeyValue::new("jsonrpc.request.id", "2"),
            KeyValue::new("mcp.method.name", "tools/call"),
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("mcp.tool.args.filters.present", false),
            common::hash(json!({"query": "intro", "limit": 3})),
            KeyValue::new("mcp.tool.args.limit", 3),
            KeyValue::new("mcp.tool.args.limit.present", true),
            KeyValue::new("mcp.tool.args.query.length", 5),
            KeyValue::new("mcp.tool.args.schema_valid", true),
            KeyValue::new("mcp.tool.call.repeat_run", 1),
            KeyValue::new("mcp.tool.name", "search_documents"),
            KeyValue::new("network.transport", "pipe"),
        ])
    );
    assert_eq!(attrs(client), shared_with_client(server));

    // `isError`: a tool error on both sides.
    let (client, server) = pair(&spans, "tools/call create_issue");
    assert_eq!(client.status, Status::error("tool_error"));
    assert_eq!(attrs(client)["error.type"], "tool_error".into());
    assert_eq!(attrs(client), shared_with_client(server));

    // A JSON-RPC error: its code on both sides. For the server `-32602` is the
    // caller's mistake, not its failure; for the client it is its request failing.
    let (client, server) = pair(&spans, "tools/call run_query");
    assert_eq!(attrs(client)["rpc.response.status_code"], "-32602".into());
    assert_eq!(attrs(client)["error.type"], "-32602".into());
    assert_eq!(client.status, Status::error("Invalid params"));
    assert!(!attrs(server).contains_key("error.type"));
    let mut expected = shared_with_client(server);
    expected.insert("error.type".into(), "-32602".into());
    assert_eq!(attrs(client), expected);

    let (client, server) = pair(&spans, "resources/read");
    assert_eq!(
        attrs(client),
        common::expect([
            KeyValue::new("jsonrpc.request.id", "5"),
            KeyValue::new("mcp.method.name", "resources/read"),
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("mcp.resource.uri", "docs://intro"),
            KeyValue::new("network.transport", "pipe"),
        ])
    );
    assert_eq!(attrs(client), shared_with_client(server));

    let (client, server) = pair(&spans, "prompts/get summarize");
    assert_eq!(
        attrs(client),
        common::expect([
            KeyValue::new("gen_ai.prompt.name", "summarize"),
            KeyValue::new("jsonrpc.request.id", "6"),
            KeyValue::new("mcp.method.name", "prompts/get"),
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("network.transport", "pipe"),
        ])
    );
    assert_eq!(attrs(client), shared_with_client(server));
    // Never an argument value on a client span.
    let values = ["intro", "DELETE FROM users", " ", "b"];
    for client in &clients {
        for (key, value) in attrs(client) {
            assert!(!values.contains(&&*value.as_str()), "{key} = {value:?}");
        }
    }
}

/// A server whose one tool never answers.
#[derive(Clone)]
struct Stuck;

impl rmcp::ServerHandler for Stuck {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        rmcp::model::ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        )
    }

    async fn call_tool(
        &self,
        _request: CallToolRequestParams,
        _context: rmcp::service::RequestContext<rmcp::service::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        std::future::pending().await
    }
}

/// A request the caller gives up on is `cancelled`; one still waiting when the
/// server goes away is `transport_closed`, and the session ends with it. The caller's
/// own span, named in `_meta`, is the request's parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_end_with_why() {
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = Stuck.serve(server_end).await.expect("server starts");
        running.waiting().await.ok();
    });
    let client =
        ().serve(mcp_trace::rmcp::client::traced(client_end).without_session_span())
            .await
            .expect("initialize");
    // Under a span of the caller's own, handed over in `_meta`.
    let tracer = opentelemetry::global::tracer("agent");
    let agent = opentelemetry::trace::Tracer::start(&tracer, "agent step");
    let agent_cx = opentelemetry::Context::current_with_span(agent);
    let agent_span = agent_cx.span().span_context().clone();
    let mut meta = rmcp::model::RequestMetaObject::new();
    meta.set_traceparent(format!(
        "00-{}-{}-01",
        agent_span.trace_id(),
        agent_span.span_id()
    ));
    let mut params = call("slow", json!({"n": 1}));
    params.meta = Some(meta);
    let given_up = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        client.call_tool(params),
    )
    .await;
    assert!(given_up.is_err(), "the call timed out");
    let pending = {
        let peer = client.peer().clone();
        tokio::spawn(async move { peer.call_tool(call("slow", json!({"n": 2}))).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    server.abort();
    let _ = server.await;
    assert!(pending.await.unwrap().is_err(), "no answer");
    client.cancel().await.ok();
    agent_cx.span().end();

    let spans = common::exporter().get_finished_spans().unwrap();
    let calls: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "tools/call slow" && s.span_kind == SpanKind::Client)
        .filter(|s| {
            s.span_context.trace_id() == agent_span.trace_id()
                || s.parent_span_id == SpanId::INVALID
        })
        .collect();
    let cancelled = calls
        .iter()
        .find(|s| s.span_context.trace_id() == agent_span.trace_id())
        .expect("the call under the agent's span");
    assert_eq!(cancelled.parent_span_id, agent_span.span_id());
    assert_eq!(attrs(cancelled)["error.type"], "cancelled".into());
    assert_eq!(attrs(cancelled)["mcp.call.cancelled"], true.into());
    assert_eq!(cancelled.status, Status::error("cancelled"));
    let closed = calls
        .iter()
        .find(|s| {
            let hash = common::hash(json!({"n": 2}));
            attrs(s).get(hash.key.as_str()) == Some(&hash.value)
        })
        .expect("the call left waiting");
    assert_eq!(attrs(closed)["error.type"], "transport_closed".into());
    assert_eq!(closed.status, Status::error("transport_closed"));
    assert!(
        !spans.iter().any(|s| s.name == "mcp.client.session"
            && s.span_context.trace_id() == agent_span.trace_id()),
        "no session span when told so"
    );
}

/// A `TracedClient` hands the caller's span over: the request's span is its child.
/// Merging, the caller's `execute_tool` span itself gets the MCP attributes, no second
/// span is made, and the server's span is the caller's span's child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_client_calls_under_or_into_the_callers_span() {
    use mcp_trace::rmcp::client::{TracedClient, traced};
    use opentelemetry::trace::{FutureExt, Span as _, Tracer as _};
    common::exporter();
    let serve = || {
        let (server_end, client_end) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let running = mcp_trace::rmcp::TracedServer::new(rmcp_server::DocsServer)
                .serve(server_end)
                .await
                .expect("server starts");
            running.waiting().await.ok();
        });
        (server, client_end)
    };
    let tracer = opentelemetry::global::tracer("agent");

    // Under the caller's span.
    let (server, client_end) = serve();
    let client = TracedClient::serve((), traced(client_end)).await.unwrap();
    let step = tracer.start("agent step");
    let step_id = step.span_context().clone();
    let cx = opentelemetry::Context::current_with_span(step);
    client
        .call_tool(call("search_documents", json!({"query": "api"})))
        .with_context(cx.clone())
        .await
        .unwrap();
    cx.span().end();
    client.cancel().await.unwrap();
    server.await.unwrap();

    // Into the caller's span.
    let (server, client_end) = serve();
    let client = TracedClient::serve((), traced(client_end))
        .await
        .unwrap()
        .merge_into_current_span();
    let outer = tracer.start("execute_tool search_documents");
    let outer_id = outer.span_context().clone();
    let cx = opentelemetry::Context::current_with_span(outer);
    client
        .call_tool(call("search_documents", json!({"query": "faq"})))
        .with_context(cx.clone())
        .await
        .unwrap();
    cx.span().end();
    client.cancel().await.unwrap();
    server.await.unwrap();

    let spans = common::exporter().get_finished_spans().unwrap();
    let under: Vec<SpanData> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == step_id.trace_id())
        .cloned()
        .collect();
    let (client_span, server_span) = pair(&under, "tools/call search_documents");
    assert_eq!(client_span.parent_span_id, step_id.span_id());
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id()
    );

    let merged: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == outer_id.trace_id())
        .collect();
    assert!(
        !merged.iter().any(|s| s.span_kind == SpanKind::Client),
        "no second span: {:?}",
        merged.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let outer = merged
        .iter()
        .find(|s| s.span_context.span_id() == outer_id.span_id())
        .unwrap();
    assert_eq!(
        outer.name, "execute_tool search_documents",
        "its own name kept"
    );
    let outer_attrs = attrs(outer);
    assert_eq!(outer_attrs["mcp.method.name"], "tools/call".into());
    assert_eq!(outer_attrs["gen_ai.tool.name"], "search_documents".into());
    let hash = common::hash(json!({"query": "faq"}));
    assert_eq!(outer_attrs[hash.key.as_str()], hash.value);
    let server = merged
        .iter()
        .find(|s| s.span_kind == SpanKind::Server && s.name == "tools/call search_documents")
        .expect("the server's span in the caller's trace");
    assert_eq!(server.parent_span_id, outer_id.span_id());
    assert_eq!(attrs(server)[hash.key.as_str()], hash.value);
}

/// A server that answers a tool call with the `_meta` keys it received.
#[derive(Clone)]
struct MetaEcho;

impl rmcp::ServerHandler for MetaEcho {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        rmcp::model::ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        )
        .with_server_info(rmcp::model::Implementation::new("echo", "2.0").with_title("Meta Echo"))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::service::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        if request.name == "slow" {
            return std::future::pending().await;
        }
        let meta = serde_json::to_value(&context.meta).unwrap();
        Ok(
            rmcp::model::CallToolResult::success(vec![rmcp::model::ContentBlock::text(
                meta.to_string(),
            )])
            .into(),
        )
    }
}

/// The caller's own `_meta` keys travel on, beside the trace context written over; the
/// server's title is on the session span; rmcp's request timeout is `timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_kept_title_recorded_timeout_named() {
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = MetaEcho.serve(server_end).await.expect("server starts");
        running.waiting().await.ok();
    });
    let client = ().serve(mcp_trace::rmcp::client::traced(client_end)).await.unwrap();
    let mut params = call("echo", json!({}));
    let mut meta = rmcp::model::RequestMetaObject::new();
    meta.0.insert("user".into(), json!("u-1"));
    params.meta = Some(meta);
    let answer = client.call_tool(params).await.unwrap();
    let text = answer.content[0].as_text().unwrap().text.clone();
    let received: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(received["user"], json!("u-1"), "{received}");
    let traceparent = received["traceparent"]
        .as_str()
        .expect("a traceparent")
        .to_owned();
    // No arguments at all: hashed as the empty object, as the server hashes them.
    client
        .call_tool(CallToolRequestParams::new("bare"))
        .await
        .unwrap();

    let request = rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(
        call("slow", json!({})),
    ));
    let mut options = rmcp::service::PeerRequestOptions::default();
    options.timeout = Some(std::time::Duration::from_millis(100));
    let handle = client
        .peer()
        .send_request_with_option(request, options)
        .await
        .unwrap();
    assert!(handle.await_response().await.is_err(), "timed out");
    client.cancel().await.unwrap();
    server.abort();

    let spans = common::exporter().get_finished_spans().unwrap();
    let echo = spans
        .iter()
        .find(|s| {
            s.name == "tools/call echo"
                && traceparent.contains(&s.span_context.span_id().to_string())
        })
        .expect("the client span the server was told of");
    let session = spans
        .iter()
        .find(|s| s.span_context.span_id() == echo.parent_span_id)
        .unwrap();
    assert_eq!(attrs(session)["mcp.server.title"], "Meta Echo".into());
    assert_eq!(attrs(session)["mcp.server.version"], "2.0".into());
    let slow = spans
        .iter()
        .find(|s| {
            s.name == "tools/call slow" && s.span_context.trace_id() == echo.span_context.trace_id()
        })
        .unwrap();
    assert_eq!(attrs(slow)["error.type"], "timeout".into());
    assert_eq!(attrs(slow)["mcp.call.cancelled"], true.into());
    let bare = spans
        .iter()
        .find(|s| {
            s.name == "tools/call bare" && s.span_context.trace_id() == echo.span_context.trace_id()
        })
        .expect("the call without arguments");
    let empty = common::hash(json!({}));
    assert_eq!(attrs(bare)[empty.key.as_str()], empty.value);
}

/// Merging, the token that names the caller's span stays in the process: the server
/// sees the caller's trace context and nothing of ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merge_token_never_leaves() {
    use mcp_trace::rmcp::client::{TracedClient, traced};
    use opentelemetry::trace::{FutureExt, Tracer as _};
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = MetaEcho.serve(server_end).await.expect("server starts");
        running.waiting().await.ok();
    });
    let client = TracedClient::serve((), traced(client_end))
        .await
        .unwrap()
        .merge_into_current_span();
    let outer = opentelemetry::global::tracer("agent").start("execute_tool echo");
    let cx = opentelemetry::Context::current_with_span(outer);
    let answer = client
        .call_tool(call("echo", json!({})))
        .with_context(cx.clone())
        .await
        .unwrap();
    let text = answer.content[0].as_text().unwrap().text.clone();
    let received: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&String> = received.as_object().unwrap().keys().collect();
    assert!(!keys.iter().any(|k| k.starts_with("mcp-trace")), "{keys:?}");
    let outer_id = cx.span().span_context().span_id().to_string();
    assert!(
        received["traceparent"]
            .as_str()
            .unwrap()
            .contains(&outer_id),
        "the server's parent is the caller's span: {received}"
    );
    client.cancel().await.unwrap();
    server.abort();
}

/// From 2026-07-28 a client may discover the server instead of `initialize`: the
/// session span starts with `server/discover`, and requests carry the version they
/// name in `_meta`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovering_client_is_one_session_too() {
    use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(rmcp_server::DocsServer)
            .serve(server_end)
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("discovering", "1"),
    );
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client = info
        .serve_with_lifecycle(mcp_trace::rmcp::client::traced(client_end), lifecycle)
        .await
        .expect("server/discover");
    client
        .call_tool(call("search_documents", json!({"query": "setup"})))
        .await
        .unwrap();
    client.cancel().await.unwrap();
    server.await.unwrap();
    let spans = common::exporter().get_finished_spans().unwrap();
    let discover = spans
        .iter()
        .find(|s| s.name == "server/discover" && s.span_kind == SpanKind::Client)
        .expect("the discover request's span");
    let trace: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == discover.span_context.trace_id())
        .collect();
    let session = trace
        .iter()
        .find(|s| s.name == "mcp.client.session")
        .expect("a session span");
    assert_eq!(discover.parent_span_id, session.span_context.span_id());
    let search = trace
        .iter()
        .find(|s| s.name == "tools/call search_documents" && s.span_kind == SpanKind::Client)
        .expect("the call in the session's trace");
    assert_eq!(search.parent_span_id, session.span_context.span_id());
    assert_eq!(attrs(search)["mcp.protocol.version"], "2026-07-28".into());
}
