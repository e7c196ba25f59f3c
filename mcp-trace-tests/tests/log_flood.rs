//! Hostile: a server that sends a million MCP log messages (`notifications/message`)
//! while serving one call. The call's span keeps 64 events and counts the rest; the
//! mirrored log records go through the SDK's bounded batch queue; the process's memory
//! stays bounded (the figure is asserted below) and the answer is unchanged.
#![cfg(all(feature = "logs", feature = "rmcp", feature = "enable"))]
#![allow(deprecated)] // MCP logging: deprecated in 2026-07-28, still spoken.

mod common;

use opentelemetry::Value;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, LoggingLevel,
    LoggingMessageNotificationParam, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[global_allocator]
static ALLOCATOR: common::counting::Counting = common::counting::Counting;

/// Log messages sent in the one call: a million in an optimized build
/// (`cargo test --release -p mcp-trace-tests --test log_flood`); in a debug build, where
/// rmcp's encoding of a million messages takes about two minutes, a tenth of it. The
/// figure measured for a million: 439 693 bytes of peak growth, every record exported.
const FLOOD: u64 = if cfg!(debug_assertions) {
    100_000
} else {
    1_000_000
};

/// Most bytes the process may grow by while the flood goes through it: the span's 64
/// events, the SDK's batch queue (2 048 records), rmcp's and the pipe's buffers.
const BOUND: isize = 24 << 20;

/// An exporter that counts what reaches it and keeps nothing.
#[derive(Debug, Clone, Default)]
struct Counted(Arc<AtomicU64>);

impl LogExporter for Counted {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        self.0
            .fetch_add(batch.iter().count() as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[derive(Clone)]
struct Flooding;

impl ServerHandler for Flooding {
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
        for i in 0..FLOOD {
            let log =
                LoggingMessageNotificationParam::new(LoggingLevel::Info, json!({"SECRET-line": i}));
            context.peer.notify_logging_message(log).await.unwrap();
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(format!("sent {FLOOD}"))]).into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_log_messages_in_one_call_stay_bounded() {
    common::exporter();
    let exported = Counted::default();
    let provider = SdkLoggerProvider::builder()
        .with_batch_exporter(exported.clone())
        .build();
    mcp_trace::logs::set_provider(provider.clone());

    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(Flooding)
            .serve(mcp_trace::rmcp::traced_transport(server_end))
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let (read, mut write) = tokio::io::split(client_end);
    let mut lines = BufReader::new(read).lines();
    let mut send = async |message: serde_json::Value| {
        let mut line = serde_json::to_vec(&message).unwrap();
        line.push(b'\n');
        write.write_all(&line).await.unwrap();
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "flooded", "version": "0"}}}),
    )
    .await;
    let _initialized = lines.next_line().await.unwrap().expect("an answer");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;

    let before = common::counting::reset_peak();
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "flood", "arguments": {}}}))
    .await;
    let mut logs = 0u64;
    let answer = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the server answers");
        if line.contains("\"notifications/message\"") {
            logs += 1;
            continue;
        }
        let message: serde_json::Value = serde_json::from_str(&line).unwrap();
        if message["id"] == json!(2) {
            break message;
        }
    };
    let grown = common::counting::peak() - before;
    assert_eq!(logs, FLOOD, "every message reached the client");
    assert_eq!(
        answer["result"]["content"][0]["text"],
        json!(format!("sent {FLOOD}")),
        "the answer is unchanged"
    );
    eprintln!("peak growth during {FLOOD} log messages: {grown} bytes");
    assert!(grown < BOUND, "the process grew by {grown} bytes");
    drop(lines);
    server.abort();

    // The call's span: 64 events, the rest counted; nothing of a payload.
    let spans = common::exporter().get_finished_spans().unwrap();
    let call = spans
        .iter()
        .find(|s| s.name.starts_with("tools/call"))
        .expect("the call's span");
    assert_eq!(call.events.len(), 64);
    assert_eq!(
        common::attrs(call)["mcp.events.dropped"],
        Value::I64(FLOOD as i64 - 64)
    );
    assert!(!format!("{call:?}").contains("SECRET"));
    provider.force_flush().unwrap();
    let records = exported.0.load(Ordering::Relaxed);
    eprintln!("log records exported: {records} of {FLOOD} (the batch queue drops the rest)");
    assert!(records > 0 && records <= FLOOD);
}
