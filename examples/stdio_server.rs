//! `cargo run --features rmcp --example stdio_server`: the example rmcp server over
//! stdio, traced. Point any MCP host at it; spans go where `OTEL_*` says (by default the
//! OTLP/JSON lines file announced on stderr). stdout carries only the protocol.

#[path = "shared/rmcp_server.rs"]
mod rmcp_server;

use rmcp::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = mcp_trace::init();
    let server = mcp_trace::rmcp::TracedServer::new(rmcp_server::DocsServer)
        // rmcp's stdio, plus a reply and a span for every line that is not JSON.
        .serve(mcp_trace::rmcp::stdio())
        .await?;
    // Returns when the client closes stdin; the guard then exports every span.
    let reason = server.waiting().await;
    drop(guard);
    reason?;
    Ok(())
}
