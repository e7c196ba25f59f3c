//! Logs, the third signal, in process: a `tracing` event written inside a traced
//! handler becomes a log record carrying that handler's span's trace and span ids
//! (through `mcp_trace::logs::layer()` and the SDK's in-memory log exporter); events of
//! rmcp and of OpenTelemetry's own crates do not; and an MCP log message a server sends
//! (`notifications/message`) is mirrored as a log record about the request it was sent
//! while serving, with the severity of its level, and without its payload.
#![cfg(all(feature = "logs", feature = "rmcp", feature = "enable"))]
#![allow(deprecated)] // MCP logging: deprecated in 2026-07-28, still spoken.

mod common;

use mcp_trace::traced_tool;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, LoggingLevel,
    LoggingMessageNotificationParam, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use std::sync::{Mutex, MutexGuard, OnceLock};
use tracing_subscriber::layer::SubscriberExt;

/// The test binary's logger provider, with the in-memory exporter behind it; one test
/// at a time, the exporter emptied.
fn logs() -> (&'static InMemoryLogExporter, MutexGuard<'static, ()>) {
    static ONE: Mutex<()> = Mutex::new(());
    static EXPORTER: OnceLock<InMemoryLogExporter> = OnceLock::new();
    let guard = ONE.lock().unwrap_or_else(|p| p.into_inner());
    let exporter = EXPORTER.get_or_init(|| {
        let exporter = InMemoryLogExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        mcp_trace::logs::set_provider(provider);
        exporter
    });
    common::exporter();
    exporter.reset();
    (exporter, guard)
}

/// Searches, and says so.
#[traced_tool]
fn search(query: String) -> usize {
    tracing::info!(hits = 2, "searched");
    // rmcp's own events (it logs whole messages) never become records.
    tracing::info!(target: "rmcp::service", "received SECRET-message");
    query.len()
}

#[test]
fn tracing_events_in_a_traced_handler_carry_its_span() {
    let (exporter, _one) = logs();
    let subscriber = tracing_subscriber::registry().with(mcp_trace::logs::layer());
    let (_, spans) = tracing::subscriber::with_default(subscriber, || {
        common::capture(|| {
            search("rust".into());
            tracing::debug!("below the level: not recorded");
        })
    });
    let span = common::only(spans);
    let records = exporter.get_emitted_logs().unwrap();
    let [log] = &records[..] else {
        panic!("one record: {records:#?}")
    };
    let record = &log.record;
    assert_eq!(record.body(), Some(&AnyValue::String("searched".into())));
    assert_eq!(record.severity_number(), Some(Severity::Info));
    let context = record.trace_context().expect("the span's context");
    assert_eq!(context.trace_id, span.span_context.trace_id());
    assert_eq!(context.span_id, span.span_context.span_id());
    let attributes: Vec<String> = record
        .attributes_iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    assert_eq!(attributes, ["hits=Int(2)"]);
}

/// A tool that logs through MCP while it works.
#[traced_tool]
async fn chatty(context: RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
    let log = LoggingMessageNotificationParam::new(
        LoggingLevel::Warning,
        serde_json::json!({"SECRET-payload": 1}),
    )
    .with_logger("chatty");
    context.peer.notify_logging_message(log).await.unwrap();
    Ok(CallToolResult::success(vec![ContentBlock::text("ok")]))
}

#[derive(Clone)]
struct Chatty;

impl ServerHandler for Chatty {
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
        _request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        chatty(context).await.map(Into::into)
    }
}

#[test]
fn mcp_log_messages_are_mirrored_as_log_records() {
    let (exporter, _one) = logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (server_end, client_end) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let running = mcp_trace::rmcp::TracedServer::new(Chatty)
                .serve(mcp_trace::rmcp::traced_transport(server_end))
                .await
                .expect("server starts");
            running.waiting().await.ok();
        });
        let client = ().serve(client_end).await.unwrap();
        client
            .call_tool(CallToolRequestParams::new("chatty"))
            .await
            .unwrap();
        client.cancel().await.unwrap();
        server.await.unwrap();
    });
    let span = common::exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .rfind(|s| s.name == "tools/call chatty")
        .expect("the tool's span");
    let records = exporter.get_emitted_logs().unwrap();
    let [log] = &records[..] else {
        panic!("one record: {records:#?}")
    };
    let record = &log.record;
    assert_eq!(record.event_name(), Some("notifications/message"));
    assert_eq!(record.severity_number(), Some(Severity::Warn));
    assert_eq!(record.severity_text(), Some("warning"));
    assert_eq!(record.body(), None, "the payload only on opt-in");
    let context = record.trace_context().expect("the request's context");
    assert_eq!(context.trace_id, span.span_context.trace_id());
    assert_eq!(context.span_id, span.span_context.span_id());
    let attributes: Vec<String> = record
        .attributes_iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    assert_eq!(
        attributes,
        [r#"mcp.logging.logger=String(Owned("chatty"))"#]
    );
}
