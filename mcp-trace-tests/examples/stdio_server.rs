//! `cargo run -p mcp-trace-tests --features rmcp --example stdio_server`: the example
//! rmcp server over stdio, traced. Point any MCP host at it; spans go where `OTEL_*`
//! says (by default the OTLP/JSON lines file announced on stderr). stdout carries only
//! the protocol.

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
    // Ends when the client closes stdin, or on SIGTERM / Ctrl-C; either way the guard
    // is dropped, which exports every finished span (within its shutdown timeout).
    tokio::select! {
        reason = server.waiting() => {
            drop(guard);
            reason?;
        }
        () = terminated() => {
            drop(guard);
            // tokio reads stdin with a blocking read it cannot cancel: leaving `main`
            // normally would wait for a line that may never come. Spans are flushed.
            std::process::exit(0);
        }
    }
    Ok(())
}

/// SIGTERM (what process supervisors send) or Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
