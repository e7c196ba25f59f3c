//! `#[traced_tool]` stacked with rmcp's `#[tool]` inside `#[tool_router]`, in both
//! orders: tool names, `Parameters<T>` flattening against the `schemars` schema rmcp
//! advertises, in-band tool errors and JSON-RPC error codes.
#![cfg(all(
    feature = "rmcp",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]

mod common;

use common::{attrs, capture_async, expect, hash, only, tool_base};
use mcp_trace::traced_tool;
use opentelemetry::KeyValue;
use opentelemetry::trace::Status;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData as McpError, schemars, tool, tool_router};
use serde_json::json;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// What to look for.
    pub query: String,
    /// How many results, 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct QueryArgs {
    pub sql: String,
}

#[derive(Clone)]
pub struct Docs {
    #[allow(dead_code)]
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Docs {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Traced first, then rmcp: the name comes from `#[tool(name)]`.
    #[traced_tool]
    #[tool(name = "search_documents", description = "Search the documents")]
    async fn search(
        &self,
        Parameters(SearchArgs { query, limit }): Parameters<SearchArgs>,
    ) -> Result<CallToolResult, McpError> {
        let hits = (0..limit.unwrap_or(3)).map(|i| ContentBlock::text(format!("{query} {i}")));
        Ok(CallToolResult::success(hits.collect()))
    }

    /// rmcp first (it boxes the future), then traced.
    #[tool(description = "Run a read-only query")]
    #[traced_tool]
    async fn run_query(
        &self,
        Parameters(args): Parameters<QueryArgs>,
    ) -> Result<CallToolResult, McpError> {
        tokio::task::yield_now().await;
        if args.sql.starts_with("SELECT") {
            Ok(CallToolResult::success(vec![ContentBlock::text("1 row")]))
        } else {
            Err(McpError::invalid_params("only SELECT is allowed", None))
        }
    }

    /// Fails on the server's side, with a message that quotes its argument.
    #[traced_tool]
    #[tool(description = "Always fails inside the server")]
    fn broken(&self, Parameters(args): Parameters<QueryArgs>) -> Result<CallToolResult, McpError> {
        if args.sql == "custom" {
            return Err(McpError::new(
                rmcp::model::ErrorCode(-32001),
                format!("backend refused {}", args.sql),
                None,
            ));
        }
        Err(McpError::internal_error(
            format!("cannot run {}", args.sql),
            None,
        ))
    }

    #[traced_tool]
    #[tool(description = "Always reports an in-band failure")]
    fn flaky(&self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::error(vec![ContentBlock::text(
            "upstream down",
        )]))
    }
}

fn scoped(args: serde_json::Value) -> mcp_trace::RequestScope {
    mcp_trace::scope()
        .arguments(args)
        .session_id("rmcp-session")
        .request_id(3)
}

#[tokio::test]
async fn parameters_are_flattened_and_checked_against_the_advertised_schema() {
    let docs = Docs::new();
    let raw = json!({"query": "otel", "limit": 500});
    let args = SearchArgs {
        query: "otel".into(),
        limit: Some(2),
    };
    let (result, spans) =
        capture_async(scoped(raw.clone()).run(docs.search(Parameters(args)))).await;
    assert_eq!(result.unwrap().content.len(), 2);
    let span = only(spans);
    assert_eq!(span.name, "tools/call search_documents");
    let mut expected = tool_base("search_documents");
    expected.extend([
        KeyValue::new(
            "mcp.session.id",
            mcp_trace::session::exported_id("rmcp-session"),
        ),
        KeyValue::new("jsonrpc.request.id", "3"),
        KeyValue::new("mcp.tool.args.query.length", 4),
        KeyValue::new("mcp.tool.args.limit.present", true),
        KeyValue::new("mcp.tool.args.limit", 500),
        hash(raw),
        KeyValue::new("mcp.tool.args.schema_valid", false),
        KeyValue::new("mcp.tool.args.schema_error_path", "/limit"),
        KeyValue::new(
            "mcp.tool.args.schema_error_message",
            "value is greater than the maximum of 100",
        ),
        KeyValue::new("mcp.tool.args.schema_error_count", 1),
        KeyValue::new("mcp.tool.call.repeat_run", 1),
        KeyValue::new("mcp.tool.result.count", 2),
    ]);
    assert_eq!(attrs(&span), expect(expected));
}

#[tokio::test]
async fn rmcp_first_order_traces_the_execution_and_records_the_rpc_code() {
    let docs = Docs::new();
    let call = scoped(json!({"sql": "DROP TABLE x"})).run(docs.run_query(Parameters(QueryArgs {
        sql: "DROP TABLE x".into(),
    })));
    let (result, spans) = capture_async(call).await;
    assert_eq!(result.unwrap_err().code.0, -32602);
    let span = only(spans);
    assert_eq!(span.name, "tools/call run_query");
    // Invalid params is the client's mistake, not the server's failure (the MCP
    // conventions): the code is recorded, with no error type and no error status.
    assert_eq!(span.status, Status::Unset);
    let attributes = attrs(&span);
    assert!(!attributes.contains_key("error.type"));
    assert_eq!(attributes["rpc.response.status_code"], "-32602".into());
    assert_eq!(attributes["mcp.tool.args.sql.length"], 12.into());
    // The span covered the awaited body, not just the creation of the future.
    let duration = span.end_time.duration_since(span.start_time).unwrap();
    assert!(duration > std::time::Duration::ZERO);
}

#[tokio::test]
async fn in_band_tool_error() {
    let docs = Docs::new();
    let (result, spans) = capture_async(async { docs.flaky() }).await;
    assert_eq!(result.unwrap().is_error, Some(true));
    let span = only(spans);
    assert_eq!(span.status, Status::error("tool_error"));
    assert_eq!(attrs(&span)["error.type"], "tool_error".into());
}

#[test]
fn rmcp_still_advertises_the_tools() {
    let names: Vec<String> = Docs::tool_router()
        .list_all()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    for name in ["search_documents", "run_query", "flaky"] {
        assert!(names.contains(&name.to_owned()), "{names:?}");
    }
}

/// A code the conventions count as the server's failure: error type and status, whose
/// description is the code's standard text or none, never the server's own message
/// (it quotes the argument here).
#[tokio::test]
async fn server_failures_carry_the_codes_standard_text_only() {
    for (sql, code, description) in [
        ("SELECT secret_column", -32603, "Internal error"),
        ("custom", -32001, ""),
    ] {
        let docs = Docs::new();
        let args = json!({ "sql": sql });
        let call =
            scoped(args).run(async { docs.broken(Parameters(QueryArgs { sql: sql.into() })) });
        let (result, spans) = capture_async(call).await;
        assert_eq!(result.unwrap_err().code.0, code);
        let span = only(spans);
        assert_eq!(span.status, Status::error(description));
        let attributes = attrs(&span);
        assert_eq!(attributes["error.type"], code.to_string().into());
        assert_eq!(
            attributes["rpc.response.status_code"],
            code.to_string().into()
        );
    }
}
