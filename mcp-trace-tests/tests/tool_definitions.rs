//! Tool-definition drift through `TracedServer`, in process (rmcp's client over an
//! in-memory pipe): `mcp.tools.count` and `mcp.tools.definitions.hash` on every
//! `tools/list` span, `mcp.tool.definition.hash` on every `tools/call` span, and one
//! `mcp.tools.changed` event naming what changed when the served list changes. The
//! expected hashes are computed here from what the client received.
#![cfg(all(feature = "rmcp", feature = "args-hash"))]

mod common;

use opentelemetry::{Array, StringValue, Value as OtelValue};
use opentelemetry_sdk::trace::SpanData;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, ListToolsResult, PaginatedRequestParams, PromptMessage,
    Role, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A server whose tools change once `drifted` is set: `search` gets a new description,
/// `fetch` goes, `lookup` comes.
#[derive(Clone)]
struct Drifting {
    drifted: Arc<AtomicBool>,
}

impl Drifting {
    fn tools(&self) -> Vec<Tool> {
        let schema = |props: Value| {
            let Value::Object(map) = json!({"type": "object", "properties": props}) else {
                unreachable!()
            };
            Arc::new(map)
        };
        if self.drifted.load(Ordering::SeqCst) {
            vec![
                Tool::new(
                    "search",
                    "Search the index",
                    schema(json!({"q": {"type": "string"}})),
                ),
                Tool::new(
                    "lookup",
                    "Look one up",
                    schema(json!({"id": {"type": "integer"}})),
                ),
            ]
        } else {
            vec![
                Tool::new("search", "Search", schema(json!({"q": {"type": "string"}}))),
                Tool::new("fetch", "Fetch", schema(json!({"url": {"type": "string"}}))),
            ]
        }
    }
}

impl ServerHandler for Drifting {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().into_iter().find(|t| t.name == name)
    }

    /// Answers any prompt name: a server that vouches for whatever the client asks.
    async fn get_prompt(
        &self,
        _request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let message = PromptMessage::new_text(Role::User, "hello");
        Ok(GetPromptResult::new(vec![message]).into())
    }

    async fn call_tool(
        &self,
        _request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        Ok(CallToolResult::success(vec![]).into())
    }
}

fn list_hash(tools: &[Tool]) -> String {
    let mut sorted: Vec<&Tool> = tools.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    mcp_trace::args_hash(&Value::Array(
        sorted.into_iter().map(common::definition).collect(),
    ))
}

fn finished(name: &str) -> Vec<SpanData> {
    common::exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.name == name)
        .collect()
}

fn names(values: &[&str]) -> OtelValue {
    let values: Vec<StringValue> = values.iter().map(|v| v.to_string().into()).collect();
    OtelValue::Array(Array::String(values))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_are_hashed_and_changes_named() {
    common::exporter();
    let drifted = Arc::new(AtomicBool::new(false));
    let server = mcp_trace::rmcp::TracedServer::new(Drifting {
        drifted: drifted.clone(),
    });
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = server.serve(server_end).await.expect("server starts");
        running.waiting().await.ok();
    });
    let client = ().serve(client_end).await.expect("initialize");

    let before = client.list_all_tools().await.expect("tools/list");
    client
        .call_tool(CallToolRequestParams::new("search"))
        .await
        .expect("tools/call");
    drifted.store(true, Ordering::SeqCst);
    let after = client.list_all_tools().await.expect("tools/list");
    client
        .call_tool(CallToolRequestParams::new("search"))
        .await
        .expect("tools/call");
    client.cancel().await.expect("client closes");
    server.await.unwrap();

    let lists = finished("tools/list");
    assert_eq!(lists.len(), 2);
    let calls = finished("tools/call search");
    assert_eq!(calls.len(), 2);
    for (span, tools) in lists.iter().zip([&before, &after]) {
        let attrs = common::attrs(span);
        assert_eq!(attrs["mcp.tools.count"], 2.into());
        assert_eq!(attrs["mcp.tools.definitions.hash"], list_hash(tools).into());
    }
    assert_ne!(list_hash(&before), list_hash(&after));
    // The first list is the first: nothing to compare with.
    assert!(lists[0].events.is_empty());
    let [event] = &lists[1].events.events[..] else {
        panic!("one event: {:?}", lists[1].events);
    };
    assert_eq!(event.name, "mcp.tools.changed");
    let event_attrs: std::collections::BTreeMap<String, OtelValue> = event
        .attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect();
    assert_eq!(
        event_attrs,
        [
            ("mcp.tools.added", names(&["lookup"])),
            ("mcp.tools.added_count", 1.into()),
            ("mcp.tools.removed", names(&["fetch"])),
            ("mcp.tools.removed_count", 1.into()),
            ("mcp.tools.changed", names(&["search"])),
            ("mcp.tools.changed_count", 1.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    );
    // Each call carries the definition it was served under.
    let search = |tools: &[Tool]| {
        let tool = tools.iter().find(|t| t.name == "search").unwrap();
        common::definition_hash(tool)
    };
    for (span, tools) in calls.iter().zip([&before, &after]) {
        assert_eq!(
            common::attrs(span)["mcp.tool.definition.hash"],
            search(tools).into()
        );
    }
    assert_ne!(search(&before), search(&after));
}

/// Names the server vouches for only by answering (here: any prompt name) are capped:
/// past the first 256 the span names them `_OTHER`, so a client cannot make a series
/// (or a span name) per call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_only_answered_for_are_capped() {
    common::exporter();
    let server = mcp_trace::rmcp::TracedServer::new(Drifting {
        drifted: Arc::new(AtomicBool::new(false)),
    });
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = server.serve(server_end).await.expect("server starts");
        running.waiting().await.ok();
    });
    let client = ().serve(client_end).await.expect("initialize");
    for i in 0..260 {
        client
            .get_prompt(GetPromptRequestParams::new(format!("made-up-{i:03}")))
            .await
            .expect("answered");
    }
    client.cancel().await.expect("client closes");
    server.await.unwrap();
    let spans = common::exporter().get_finished_spans().unwrap();
    let named = spans
        .iter()
        .filter(|s| s.name.starts_with("prompts/get made-up-"))
        .count();
    let other = spans
        .iter()
        .filter(|s| s.name == "prompts/get _OTHER")
        .count();
    assert_eq!((named, other), (256, 4));
}
