//! The rmcp server of the adapter benchmark (12), shared by the criterion bench
//! (`benches/adapter.rs`) and the instruction-count example (`examples/adapter_cost.rs`):
//! one traced tool behind rmcp's tool router, a request as a client sends it, and a
//! peer for the request context.

#![allow(dead_code)] // each user takes its part

use mcp_trace::traced_tool;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, NumberOrString};
use rmcp::service::{Peer, RequestContext, RoleServer, RunningService};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

/// Deserialized only, as most rmcp tools' arguments: the handler cannot see them as
/// values, so outside an adapter it records no argument signal of its own.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    query: String,
    limit: Option<u32>,
    #[serde(default)]
    filters: Vec<String>,
}

/// The same arguments, also `Serialize`: outside an adapter the handler records their
/// shapes, hash and verdict from the typed values itself.
#[derive(Debug, Deserialize, serde::Serialize, schemars::JsonSchema)]
pub struct TypedArgs {
    query: String,
    limit: Option<u32>,
    #[serde(default)]
    filters: Vec<String>,
}

/// Keeps its router, as a server does: rmcp's `#[tool_handler]` otherwise builds it
/// anew for every call, which would be most of what both cases measure.
#[derive(Clone)]
pub struct Docs {
    tool_router: ToolRouter<Self>,
}

impl Docs {
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl Docs {
    /// Search documents by query string.
    #[traced_tool]
    #[tool]
    async fn search(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let n = args.query.len() + args.limit.unwrap_or(10) as usize + args.filters.len();
        Ok(CallToolResult::success(vec![ContentBlock::text(
            n.to_string(),
        )]))
    }

    /// The same search, its arguments `Serialize`.
    #[traced_tool]
    #[tool]
    async fn search_typed(
        &self,
        Parameters(args): Parameters<TypedArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let n = args.query.len() + args.limit.unwrap_or(10) as usize + args.filters.len();
        Ok(CallToolResult::success(vec![ContentBlock::text(
            n.to_string(),
        )]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Docs {}

/// The `tools/call` of `tool` of every iteration, built anew as a transport would hand
/// it over.
pub fn request(tool: &'static str, query: &str) -> CallToolRequestParams {
    let arguments = serde_json::json!({
        "query": query, "limit": 5, "filters": ["lang:rust", "year:2026"]
    });
    let serde_json::Value::Object(arguments) = arguments else {
        unreachable!()
    };
    CallToolRequestParams::new(tool).with_arguments(arguments)
}

/// Both servers of the comparison, bare and in `TracedServer`, and what a call needs:
/// a runtime, and a peer for the request context (a server on one end of an in-memory
/// pipe that nothing talks to; the handlers never use it).
pub struct Setup {
    pub runtime: tokio::runtime::Runtime,
    pub bare: Docs,
    pub traced: mcp_trace::rmcp::TracedServer<Docs>,
    peer: Peer<RoleServer>,
    _running: RunningService<RoleServer, Docs>,
    _client_io: tokio::io::DuplexStream,
}

impl Setup {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (server_io, client_io) = tokio::io::duplex(1 << 16);
        let running = runtime.block_on(async {
            rmcp::service::serve_directly::<RoleServer, _, _, _, _>(Docs::new(), server_io, None)
        });
        Self {
            peer: running.peer().clone(),
            runtime,
            bare: Docs::new(),
            traced: mcp_trace::rmcp::TracedServer::new(Docs::new()),
            _running: running,
            _client_io: client_io,
        }
    }

    /// The request context of one call.
    pub fn context(&self) -> RequestContext<RoleServer> {
        RequestContext::new(NumberOrString::Number(1), self.peer.clone())
    }
}
