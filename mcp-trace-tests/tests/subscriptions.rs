//! `subscriptions/listen` (MCP 2026-07-28): one span for the stream's life, counting
//! the notifications delivered on it (after the acknowledgement), ended when the
//! server closes the stream.
#![cfg(all(feature = "rmcp", feature = "enable"))]

mod common;

use opentelemetry::Value;
use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, ProtocolVersion, ServerCapabilities,
    ServerConfig, ServerNotification, SubscriptionFilter, ToolListChangedNotification,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, SubscriptionContext};
use rmcp::{ErrorData, ServerHandler, ServiceExt};

/// Changes made while a client listens.
const CHANGES: usize = 3;

#[derive(Clone)]
struct Changing;

impl ServerHandler for Changing {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        for _ in 0..CHANGES {
            let changed = ToolListChangedNotification::default();
            context
                .sink()
                .send(ServerNotification::ToolListChangedNotification(changed))
                .await
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        }
        // The server closes the stream.
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_stream_is_one_span_counting_what_it_delivered() {
    common::exporter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(Changing)
            .serve(mcp_trace::rmcp::traced_transport(server_end))
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let info = ClientConfig::new(ClientCapabilities::default(), Implementation::new("l", "1"));
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client = info
        .serve_with_lifecycle(client_end, lifecycle)
        .await
        .expect("server/discover");
    let filter = SubscriptionFilter::builder().tools_list_changed().build();
    let mut stream = client.listen(filter).await.expect("listen");
    let mut received = 0;
    while let Some(_notification) = stream.next().await.expect("the stream") {
        received += 1;
    }
    assert_eq!(received, CHANGES);
    client.cancel().await.unwrap();
    server.await.unwrap();

    let spans = common::exporter().get_finished_spans().unwrap();
    let listens: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "subscriptions/listen")
        .collect();
    let [listen] = &listens[..] else {
        panic!("one listen span: {}", listens.len());
    };
    let attrs = common::attrs(listen);
    let expected: std::collections::BTreeMap<String, Value> = [
        ("mcp.method.name", "subscriptions/listen".into()),
        ("mcp.protocol.version", "2026-07-28".into()),
        ("network.transport", "pipe".into()),
        ("jsonrpc.request.id", attrs["jsonrpc.request.id"].clone()),
        ("mcp.session.id", attrs["mcp.session.id"].clone()),
        ("mcp.subscription.notifications", Value::I64(CHANGES as i64)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(attrs, expected);
}
