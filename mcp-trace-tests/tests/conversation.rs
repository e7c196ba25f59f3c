//! The whole conversation in process: a traced agent (`TracedClient`'s transport) and a
//! `TracedServer` over `traced_transport`, on an in-memory pipe. A tool that asks the
//! user (`elicitation/create`) makes one trace: the agent's CLIENT span, the server's
//! tool span, the server's CLIENT span for its question, and the agent's SERVER span
//! answering it. A failed `roots/list` carries its code on both sides. Progress and log
//! notifications sent while a tool works are bounded events on its span. No question
//! text, answer content or log payload is exported.
#![cfg(all(feature = "client", feature = "enable", feature = "args-hash"))]
#![allow(deprecated)] // MCP logging and roots: deprecated in 2026-07-28, still spoken.

mod common;

use mcp_trace::traced_tool;
use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig,
    ContentBlock, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    Implementation, ListRootsResult, LoggingLevel, LoggingMessageNotificationParam,
    ProgressNotificationParam, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleClient, RoleServer};
use rmcp::{ClientHandler, ErrorData, ServerHandler, ServiceExt};
use std::collections::BTreeMap;

/// Progress notifications `report` sends, past the 64 events a span keeps.
const PROGRESS: u32 = 70;

/// Asks the user to confirm.
#[traced_tool]
async fn confirm(context: RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
    let question = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: "SECRET-question: delete everything?".to_owned(),
        requested_schema: ElicitationSchema::builder().build_unchecked(),
    };
    let answer = context
        .peer
        .create_elicitation(question)
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
        "{:?}",
        answer.action
    ))]))
}

/// Asks for the client's roots, which it refuses.
#[traced_tool]
async fn roots(context: RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
    let refused = context.peer.list_roots().await.is_err();
    Ok(CallToolResult::success(vec![ContentBlock::text(
        refused.to_string(),
    )]))
}

/// Logs twice, then reports progress more often than a span keeps events.
#[traced_tool]
async fn report(context: RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
    let token = context
        .meta
        .get_progress_token()
        .expect("rmcp's client sends one");
    for logger in ["reporter", "writer"] {
        let mut log = LoggingMessageNotificationParam::new(
            LoggingLevel::Warning,
            serde_json::json!({"SECRET-payload": "the log's content"}),
        );
        log.logger = Some(logger.to_owned());
        context.peer.notify_logging_message(log).await.unwrap();
    }
    for step in 0..PROGRESS {
        let mut progress = ProgressNotificationParam::new(token.clone(), f64::from(step));
        progress.total = Some(f64::from(PROGRESS));
        progress.message = Some("SECRET-progress".to_owned());
        context.peer.notify_progress(progress).await.unwrap();
    }
    Ok(CallToolResult::success(vec![ContentBlock::text("done")]))
}

#[derive(Clone)]
struct Conversing;

impl ServerHandler for Conversing {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_logging()
                .build(),
        )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let result = match request.name.as_ref() {
            "confirm" => confirm(context).await,
            // Not traced: the adapter's span, started when the question goes out.
            "ask_plain" => {
                let question = ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: "SECRET-question, untraced".to_owned(),
                    requested_schema: ElicitationSchema::builder().build_unchecked(),
                };
                let answer = context.peer.create_elicitation(question).await;
                Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                    "{}",
                    answer.is_ok()
                ))]))
            }
            "roots" => roots(context).await,
            _ => report(context).await,
        };
        result.map(Into::into)
    }
}

/// The agent: accepts every question, refuses its roots.
#[derive(Clone)]
struct Agent;

impl ClientHandler for Agent {
    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(serde_json::json!({"SECRET-answer": "yes"})))
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        Err(ErrorData::internal_error("SECRET-roots refused", None))
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder()
                .enable_elicitation()
                .enable_roots()
                .build(),
            Implementation::new("agent", "0"),
        )
    }
}

fn one<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect();
    let [span] = &found[..] else {
        panic!(
            "one {kind:?} span {name:?}: {:?}",
            spans
                .iter()
                .map(|s| (&s.name, &s.span_kind))
                .collect::<Vec<_>>()
        )
    };
    span
}

fn attributes(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_the_agent_through_the_servers_question_and_back() {
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 20);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(Conversing)
            .serve(mcp_trace::rmcp::traced_transport(server_end))
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let client = Agent
        .serve(mcp_trace::rmcp::client::traced(client_end))
        .await
        .expect("initialize");
    // Each answer's size in bytes of JSON, as the client received it.
    let mut received = BTreeMap::new();
    for tool in ["confirm", "roots", "report", "ask_plain"] {
        let answer = client
            .call_tool(CallToolRequestParams::new(tool))
            .await
            .expect(tool);
        assert_eq!(answer.is_error, Some(false), "{tool}");
        received.insert(tool, serde_json::to_string(&answer).unwrap().len());
    }
    client.cancel().await.unwrap();
    server.await.unwrap();

    let all = common::exporter().get_finished_spans().unwrap();
    let session = all
        .iter()
        .rfind(|s| s.name == "mcp.client.session")
        .expect("the agent's session span");
    let trace = session.span_context.trace_id();
    let spans: Vec<SpanData> = all
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect();

    // agent → server tool span → the server's question → the agent's answer.
    let asked = one(&spans, "tools/call confirm", SpanKind::Client);
    let tool = one(&spans, "tools/call confirm", SpanKind::Server);
    let child_of = |parent: &SpanData, name: &str, kind: SpanKind| -> SpanData {
        spans
            .iter()
            .find(|s| {
                s.name == name
                    && s.span_kind == kind
                    && s.parent_span_id == parent.span_context.span_id()
            })
            .unwrap_or_else(|| panic!("no {kind:?} {name:?} under {:?}", parent.name))
            .clone()
    };
    let question = &child_of(tool, "elicitation/create", SpanKind::Client);
    let answered = &child_of(question, "elicitation/create", SpanKind::Server);
    assert_eq!(tool.parent_span_id, asked.span_context.span_id());

    let server_session = common::attrs(tool)["mcp.session.id"].clone();
    let id = common::attrs(answered)["jsonrpc.request.id"].clone();
    let protocol = common::attrs(tool)["mcp.protocol.version"].clone();
    assert_eq!(
        common::attrs(question),
        attributes(&[
            ("mcp.method.name", "elicitation/create".into()),
            ("jsonrpc.request.id", id.clone()),
            ("mcp.session.id", server_session.clone()),
            ("mcp.protocol.version", protocol.clone()),
            ("network.transport", "pipe".into()),
            ("mcp.elicitation.action", "accept".into()),
        ])
    );
    assert_eq!(question.status, Status::Unset);
    assert_eq!(
        common::attrs(answered),
        attributes(&[
            ("mcp.method.name", "elicitation/create".into()),
            ("jsonrpc.request.id", id),
            ("mcp.protocol.version", protocol.clone()),
            ("network.transport", "pipe".into()),
            ("mcp.elicitation.action", "accept".into()),
        ])
    );
    // The wait on the user is inside the tool's span.
    assert!(question.start_time >= tool.start_time && question.end_time <= tool.end_time);

    // A tool with no traced handler: the adapter's span starts when the question goes
    // out, so the question is its child; the span ends with the call, as always.
    let plain = one(&spans, "tools/call ask_plain", SpanKind::Server);
    let asked_plain = one(&spans, "tools/call ask_plain", SpanKind::Client);
    let plain_question = spans
        .iter()
        .filter(|s| s.name == "elicitation/create" && s.span_kind == SpanKind::Client)
        .find(|s| s.parent_span_id == plain.span_context.span_id())
        .expect("the untraced tool's question is the child of its span");
    assert_eq!(plain.parent_span_id, asked_plain.span_context.span_id());
    assert!(plain_question.end_time <= plain.end_time);
    assert_eq!(
        common::attrs(plain),
        attributes(&[
            ("mcp.method.name", "tools/call".into()),
            ("gen_ai.operation.name", "execute_tool".into()),
            ("gen_ai.tool.name", "ask_plain".into()),
            ("mcp.tool.name", "ask_plain".into()),
            ("mcp.session.id", server_session.clone()),
            (
                "jsonrpc.request.id",
                common::attrs(plain)["jsonrpc.request.id"].clone()
            ),
            ("mcp.protocol.version", protocol.clone()),
            ("network.transport", "pipe".into()),
            (
                "mcp.tool.args.hash",
                mcp_trace::args_hash(&serde_json::json!({})).into()
            ),
            ("mcp.tool.call.repeat_run", 1.into()),
            ("mcp.tool.result.count", 1.into()),
            (
                "mcp.tool.result.size",
                Value::I64(received["ask_plain"] as i64)
            ),
        ])
    );

    // A refused roots/list: the code on both sides, never the client's message.
    let roots_tool = one(&spans, "tools/call roots", SpanKind::Server);
    let asked_roots = one(&spans, "roots/list", SpanKind::Client);
    let refused = one(&spans, "roots/list", SpanKind::Server);
    assert_eq!(
        asked_roots.parent_span_id,
        roots_tool.span_context.span_id()
    );
    assert_eq!(refused.parent_span_id, asked_roots.span_context.span_id());
    let roots_attrs = common::attrs(asked_roots);
    assert_eq!(roots_attrs["error.type"], "-32603".into());
    assert_eq!(roots_attrs["rpc.response.status_code"], "-32603".into());
    assert_eq!(asked_roots.status, Status::error("Internal error"));
    assert_eq!(common::attrs(refused)["error.type"], "-32603".into());

    // Events: the two log messages, then progress up to 64 events; the rest counted.
    let report = one(&spans, "tools/call report", SpanKind::Server);
    let events = &report.events.events;
    assert_eq!(events.len(), 64);
    let event_attrs = |event: &opentelemetry::trace::Event| -> BTreeMap<String, Value> {
        event
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.clone()))
            .collect()
    };
    let payload = serde_json::json!({"SECRET-payload": "the log's content"})
        .to_string()
        .len() as i64;
    for (event, logger) in events.iter().zip(["reporter", "writer"]) {
        assert_eq!(event.name, "notifications/message");
        assert_eq!(
            event_attrs(event),
            attributes(&[
                ("mcp.logging.level", "warning".into()),
                ("mcp.logging.logger", logger.into()),
                ("mcp.logging.data_size", payload.into()),
            ])
        );
    }
    for (step, event) in events[2..].iter().enumerate() {
        assert_eq!(event.name, "notifications/progress");
        assert_eq!(
            event_attrs(event),
            attributes(&[
                ("mcp.progress.value", (step as f64).into()),
                ("mcp.progress.total", f64::from(PROGRESS).into()),
                ("mcp.progress.token_type", "integer".into()),
            ])
        );
    }
    assert_eq!(
        common::attrs(report)["mcp.events.dropped"],
        i64::from(PROGRESS + 2 - 64).into()
    );
    assert_ne!(report.span_context.span_id(), SpanId::INVALID);

    let exported = format!("{spans:?}");
    for secret in [
        "SECRET-question",
        "SECRET-answer",
        "SECRET-roots",
        "SECRET-payload",
        "SECRET-progress",
    ] {
        assert!(!exported.contains(secret), "{secret} was exported");
    }
}
