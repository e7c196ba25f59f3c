//! `cargo run -p mcp-trace-tests --features rmcp --example http_server -- --listen
//! 127.0.0.1:8080`: the example rmcp server over streamable HTTP at `/mcp`, traced.
//! Sessions are told apart by their `Mcp-Session-Id`. With the `rmcp-http` feature
//! each session's transport is traced too (`TracedSessionManager`): what the server
//! sends its client is observed as over stdio. Stops on Ctrl-C or SIGTERM, exporting
//! every span first.

#[path = "shared/rmcp_server.rs"]
mod rmcp_server;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

fn listen_address() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--listen" {
            if let Some(address) = args.next() {
                return address;
            }
        } else if let Some(address) = arg.strip_prefix("--listen=") {
            return address.to_owned();
        }
    }
    "127.0.0.1:8080".to_owned()
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = mcp_trace::init();
    let config = StreamableHttpServerConfig::default();
    let cancel = config.cancellation_token.clone();
    #[cfg(feature = "rmcp-http")]
    let sessions = mcp_trace::rmcp::TracedSessionManager::new(LocalSessionManager::default());
    #[cfg(not(feature = "rmcp-http"))]
    let sessions = LocalSessionManager::default();
    let service = StreamableHttpService::new(
        || Ok(mcp_trace::rmcp::TracedServer::new(rmcp_server::DocsServer)),
        sessions.into(),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(listen_address()).await?;
    eprintln!("listening on http://{}/mcp", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            cancel.cancel();
        })
        .await?;
    drop(guard);
    Ok(())
}
