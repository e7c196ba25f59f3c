//! Context cost: a tool call's span records the size of the result the client
//! receives, in bytes of JSON, for a traced handler and for the adapter's own span
//! alike; a result past the measuring budget (1 MiB) is marked `too_large` instead,
//! and measuring it stops there; an error answer has no result to measure.
#![cfg(all(feature = "rmcp", feature = "enable"))]

mod common;

use mcp_trace::traced_tool;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use std::collections::BTreeMap;

/// Text of `n` bytes, none of it worth exporting.
fn text(n: usize) -> String {
    "SECRET-result ".repeat(n / 14 + 1)[..n].to_owned()
}

#[traced_tool]
async fn small() -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text(100))]))
}

#[derive(Clone)]
struct Answering;

impl ServerHandler for Answering {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let result = match request.name.as_ref() {
            "small" => small().await?,
            // Not traced: the adapter's own span.
            "medium" => CallToolResult::success(vec![ContentBlock::text(text(5_000))]),
            "huge" => CallToolResult::success(vec![ContentBlock::text(text(3 << 20))]),
            _ => return Err(ErrorData::internal_error("SECRET-failure", None)),
        };
        Ok(result.into())
    }
}

/// The size attributes of `tool`'s one span.
fn size_attributes(spans: &[SpanData], tool: &str) -> BTreeMap<String, Value> {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| common::attrs(s).get("gen_ai.tool.name") == Some(&Value::from(tool.to_owned())))
        .collect();
    let [span] = &found[..] else {
        panic!("one span of {tool}: {} found", found.len());
    };
    common::attrs(span)
        .into_iter()
        .filter(|(key, _)| key.starts_with("mcp.tool.result.size"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_result_is_measured_as_the_client_receives_it() {
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(Answering)
            .serve(server_end)
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let client = ().serve(client_end).await.expect("initialize");
    let mut received = BTreeMap::new();
    for tool in ["small", "medium", "huge"] {
        let answer = client
            .call_tool(CallToolRequestParams::new(tool))
            .await
            .expect(tool);
        received.insert(tool, serde_json::to_string(&answer).unwrap().len());
    }
    assert!(
        client
            .call_tool(CallToolRequestParams::new("failing"))
            .await
            .is_err()
    );
    client.cancel().await.unwrap();
    server.await.unwrap();

    let spans = common::exporter().get_finished_spans().unwrap();
    for tool in ["small", "medium"] {
        let size = i64::try_from(received[tool]).unwrap();
        assert_eq!(
            size_attributes(&spans, tool),
            BTreeMap::from([("mcp.tool.result.size".to_owned(), Value::I64(size))]),
            "{tool}"
        );
    }
    assert!(received["huge"] > 3 << 20);
    assert_eq!(
        size_attributes(&spans, "huge"),
        BTreeMap::from([(
            "mcp.tool.result.size_skipped".to_owned(),
            Value::from("too_large")
        )]),
    );
    assert_eq!(size_attributes(&spans, "failing"), BTreeMap::new());
    for span in &spans {
        assert!(!format!("{span:?}").contains("SECRET"), "{span:?}");
    }
}
