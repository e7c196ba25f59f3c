//! The rmcp adapter's own cost (benchmark 12): one `tools/call` through rmcp's tool
//! router, into the same traced handler, called in process with a real
//! `RequestContext` and no transport: the bare `ServerHandler` against the same server
//! wrapped in `mcp_trace::rmcp::TracedServer`. Both record into the SDK with a null
//! exporter, so the difference is what the adapter adds: the request scope, the copy of
//! the raw arguments, and the handler's shapes, hash and verdict taken from them.
//!
//! `cargo bench -p mcp-trace-tests --features rmcp --bench adapter`

mod common;

use common::{QUERY, install};
use criterion::{Criterion, criterion_group, criterion_main};
use mcp_trace::traced_tool;
use opentelemetry_sdk::trace::Sampler;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, NumberOrString};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SearchArgs {
    query: String,
    limit: Option<u32>,
    #[serde(default)]
    filters: Vec<String>,
}

#[derive(Clone, Default)]
struct Docs;

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
}

#[tool_handler]
impl ServerHandler for Docs {}

fn request() -> CallToolRequestParams {
    let arguments = serde_json::json!({
        "query": QUERY, "limit": 5, "filters": ["lang:rust", "year:2026"]
    });
    let serde_json::Value::Object(arguments) = arguments else {
        unreachable!()
    };
    CallToolRequestParams::new("search").with_arguments(arguments)
}

fn adapter(c: &mut Criterion) {
    let provider = install(Sampler::AlwaysOn);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // A peer for the request context: a server on one end of an in-memory pipe that
    // nothing talks to; the handlers never use it.
    let (server_io, _client_io) = tokio::io::duplex(1 << 16);
    let running = runtime.block_on(async {
        rmcp::service::serve_directly::<RoleServer, _, _, _, _>(Docs, server_io, None)
    });
    let peer = running.peer().clone();
    let context = || RequestContext::new(NumberOrString::Number(1), peer.clone());

    let bare = Docs;
    let traced = mcp_trace::rmcp::TracedServer::new(Docs);
    let mut group = c.benchmark_group("rmcp adapter, one tools/call");
    group.bench_function("bare ServerHandler", |b| {
        b.iter(|| runtime.block_on(bare.call_tool(request(), context())))
    });
    group.bench_function("TracedServer", |b| {
        b.iter(|| runtime.block_on(traced.call_tool(request(), context())))
    });
    group.finish();
    drop(running);
    let _ = provider.shutdown();
}

criterion_group!(benches, adapter);
criterion_main!(benches);
