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
    CallToolRequestParams, CallToolResponse, CallToolResult, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
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
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
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

    async fn call_tool(
        &self,
        _request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        Ok(CallToolResult::success(vec![]).into())
    }
}

/// The defining members of a tool as the client received it, and their hash.
fn definition(tool: &Tool) -> Value {
    let received = serde_json::to_value(tool).unwrap();
    let mut kept = serde_json::Map::new();
    for key in [
        "name",
        "description",
        "inputSchema",
        "outputSchema",
        "annotations",
    ] {
        if let Some(v) = received.get(key).filter(|v| !v.is_null()) {
            kept.insert(key.to_owned(), v.clone());
        }
    }
    Value::Object(kept)
}

fn list_hash(tools: &[Tool]) -> String {
    let mut sorted: Vec<&Tool> = tools.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    mcp_trace::args_hash(&Value::Array(sorted.into_iter().map(definition).collect()))
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
        mcp_trace::args_hash(&definition(tool))
    };
    for (span, tools) in calls.iter().zip([&before, &after]) {
        assert_eq!(
            common::attrs(span)["mcp.tool.definition.hash"],
            search(tools).into()
        );
    }
    assert_ne!(search(&before), search(&after));
}
