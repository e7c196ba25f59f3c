//! The rmcp adapter takes a tool call's argument signals from the request itself, once
//! it knows that whoever records the call records what its own rules give; until then,
//! and for a handler whose rules differ, it copies the arguments for the handler.
//! Either way the spans must be the same: here a tool's first call (copied) and its
//! later calls (taken) carry exactly the same attributes, in the same order, for a
//! traced `Parameters<T>` handler, an untraced tool, arguments that fail to
//! deserialize, and a traced handler whose schema file differs from the advertised
//! schema (always copied). In debug builds the runtime counts which path each call took,
//! and the test checks that too.
#![cfg(all(
    feature = "rmcp",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]

mod common;

use common::{hash, tool_base};
use mcp_trace::traced_tool;
use opentelemetry::KeyValue;
use rmcp::ServiceExt;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ServerCapabilities, ServerConfig,
};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::{Value, json};

/// What to search for. (A doc comment: rmcp strips the top-level `description` it
/// becomes from the advertised schema, and the schemas must still count as the same.)
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    pub query: String,
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

#[derive(Clone)]
pub struct Catalog {
    #[allow(dead_code)]
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Catalog {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Records the raw arguments by the adapter's rules: taken from the request.
    #[traced_tool]
    #[tool(description = "Search")]
    async fn search(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![ContentBlock::text(
            args.query,
        )]))
    }

    /// Not traced: the adapter's span records every call.
    #[tool(description = "Not traced")]
    async fn plain(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![ContentBlock::text(
            args.query,
        )]))
    }

    /// Checked against its own schema file, not the advertised schema: copied.
    #[traced_tool(schema = "tests/schemas/adapter_filed.json")]
    #[tool(description = "Its own schema")]
    async fn filed(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![ContentBlock::text(
            args.query,
        )]))
    }
}

#[tool_handler]
impl ServerHandler for Catalog {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// One test at a time: they share the exporter and the debug-build counters.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Calls `calls` in order on a traced `Catalog` through rmcp's client, and returns the
/// attributes of each call's span, in the same order.
async fn spans_of_calls(calls: &[(&str, Value)]) -> Vec<Vec<KeyValue>> {
    common::exporter().reset();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(Catalog::new())
            .serve(server_end)
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let client = ().serve(client_end).await.expect("initialize");
    for (tool, args) in calls {
        let params = CallToolRequestParams::new(tool.to_string())
            .with_arguments(args.as_object().expect("an object").clone());
        let _ = client.call_tool(params).await;
    }
    client.cancel().await.expect("the client stops");
    server.await.expect("the server stops");
    let spans: Vec<_> = common::exporter()
        .get_finished_spans()
        .expect("in-memory exporter readable")
        .into_iter()
        .filter(|s| s.name.starts_with("tools/call"))
        .collect();
    assert_eq!(spans.len(), calls.len(), "one span per call");
    spans.into_iter().map(|s| s.attributes).collect()
}

/// `attrs` without what differs from call to call by design: the request id, the
/// session (each server is a session of its own), and the call's place in the run of
/// identical calls (returned).
fn split_run(attrs: &[KeyValue]) -> (Vec<KeyValue>, Option<i64>) {
    let mut run = None;
    let rest = attrs
        .iter()
        .filter(|kv| match kv.key.as_str() {
            "jsonrpc.request.id" | "mcp.session.id" => false,
            "mcp.tool.call.repeat_run" => {
                if let opentelemetry::Value::I64(n) = kv.value {
                    run = Some(n);
                }
                false
            }
            _ => true,
        })
        .cloned()
        .collect();
    (rest, run)
}

/// The argument signals among `attrs`, in order.
fn argument_signals(attrs: &[KeyValue]) -> Vec<KeyValue> {
    attrs
        .iter()
        .filter(|kv| kv.key.as_str().starts_with("mcp.tool.args."))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_and_copied_arguments_give_the_same_spans() {
    let invalid = json!({"query": "rust", "limit": 500, "page": 2});
    let undeserializable = json!({"query": 5});
    let mut calls = Vec::new();
    for tool in ["search", "plain", "filed"] {
        for args in [
            &invalid,
            &invalid,
            &invalid,
            &undeserializable,
            &undeserializable,
        ] {
            calls.push((tool, args.clone()));
        }
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let before = mcp_trace::__private::taken_signals();
    let spans = spans_of_calls(&calls).await;
    // Which path each call took (counted in debug builds): the adapter took the signals
    // of every call of `search` and `plain` after the first, and `search`'s handler
    // those of its second and third (the last two reached no handler); `filed`, whose
    // schema is its own, was copied every time.
    if let (Some(before), Some(after)) = (before, mcp_trace::__private::taken_signals()) {
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (8, 2),
            "calls whose signals the adapter took, and of those the handler"
        );
    }
    for (tool, spans) in ["search", "plain", "filed"].iter().zip(spans.chunks(5)) {
        let split: Vec<_> = spans.iter().map(|s| split_run(s)).collect();
        // The first call (copied: nothing is known of the tool yet) and the later ones.
        assert_eq!(split[0].0, split[1].0, "{tool}: first and second call");
        assert_eq!(split[0].0, split[2].0, "{tool}: first and third call");
        assert_eq!(split[3].0, split[4].0, "{tool}: undeserializable, twice");
        let runs: Vec<_> = split.iter().map(|(_, run)| *run).collect();
        assert_eq!(
            runs,
            [Some(1), Some(2), Some(3), Some(1), Some(2)],
            "{tool}: the runs of identical calls"
        );
    }

    // What they are: the declared fields shaped, the undeclared key counted, the hash of
    // the arguments as sent, the advertised schema's verdict (the handler's schema file
    // for `filed`).
    let expected_valid = |tool: &str| {
        vec![
            KeyValue::new("mcp.tool.args.limit.present", true),
            KeyValue::new("mcp.tool.args.limit", 500),
            KeyValue::new("mcp.tool.args.query.length", 4),
            KeyValue::new("mcp.tool.args.undeclared_count", 1),
            hash(invalid.clone()),
            KeyValue::new("mcp.tool.args.schema_valid", false),
            KeyValue::new("mcp.tool.args.schema_error_path", "/limit"),
            KeyValue::new(
                "mcp.tool.args.schema_error_message",
                "value is greater than the maximum of 100",
            ),
            // `filed`'s own schema also limits the query to 3 characters.
            KeyValue::new(
                "mcp.tool.args.schema_error_count",
                if tool == "filed" { 2 } else { 1 },
            ),
        ]
    };
    for (i, tool) in ["search", "plain", "filed"].into_iter().enumerate() {
        let third = &spans[i * 5 + 2];
        assert_eq!(
            argument_signals(third),
            expected_valid(tool),
            "{tool}: the third call's argument signals"
        );
        for kv in tool_base(tool) {
            assert!(third.contains(&kv), "{tool}: {kv:?}");
        }
        let undeserializable_signals = argument_signals(&spans[i * 5 + 4]);
        assert!(
            undeserializable_signals.contains(&hash(undeserializable.clone())),
            "{tool}: the hash of arguments that failed to deserialize"
        );
        assert!(
            undeserializable_signals.contains(&KeyValue::new("mcp.tool.args.schema_valid", false)),
            "{tool}: the verdict of arguments that failed to deserialize"
        );
    }
}

/// `[[[…]]]` nested `depth` deep (rmcp's JSON parser stops at 128 levels).
fn nested(depth: usize) -> Value {
    let mut value = json!(0);
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// Hostile arguments on the path where the adapter takes their signals (after a first
/// call taught it) record exactly what they record as a tool's first call (copied): 120
/// levels of nesting, 20 000 client-chosen keys, a 200 000-element array, a string of
/// every Unicode plane, and arguments over the schema check's budget. No panic, and
/// the same spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_arguments_taken_are_recorded_as_copied() {
    let mut many_keys = serde_json::Map::new();
    many_keys.insert("query".into(), json!("rust"));
    for i in 0..20_000 {
        many_keys.insert(format!("k{i}"), json!(i));
    }
    let planes: String = ['a', 'é', '€', '𝄞', '\u{10FFFD}'].iter().collect();
    let hostile = [
        json!({"query": "rust", "deep": nested(120)}),
        Value::Object(many_keys),
        json!({"query": "rust", "limit": 5, "big": vec![7; 200_000]}),
        json!({"query": planes.repeat(1000)}),
        json!({"query": "x".repeat(2 << 20)}),
    ];
    let _one = ONE_AT_A_TIME.lock().await;
    let before = mcp_trace::__private::taken_signals();
    for tool in ["search", "plain"] {
        // Taught first, then the hostile calls: their signals taken by the adapter.
        let mut taught = vec![(tool, json!({"query": "warm"}))];
        taught.extend(hostile.iter().map(|args| (tool, args.clone())));
        let taken = spans_of_calls(&taught).await;
        for (i, args) in hostile.iter().enumerate() {
            // Each one the first call of a fresh server: copied.
            let copied = spans_of_calls(&[(tool, args.clone())]).await;
            assert_eq!(
                split_run(&taken[i + 1]).0,
                split_run(&copied[0]).0,
                "{tool}: hostile arguments {i}, taken and copied"
            );
        }
    }
    // Taken by the adapter: the four under the budget, for each tool; by `search`'s
    // handler in turn, all four (each deserializes). The first calls took nothing.
    if let (Some(before), Some(after)) = (before, mcp_trace::__private::taken_signals()) {
        assert_eq!((after.0 - before.0, after.1 - before.1), (8, 4));
    }
}
