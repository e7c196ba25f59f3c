//! End to end over streamable HTTP: two concurrent rmcp clients, each its own
//! `Mcp-Session-Id`, against `examples/http_server` exporting to a receiver started here.
//! Sessions appear on the spans, and duplicate reads are counted per session, never
//! across.
#![cfg(all(feature = "rmcp", feature = "otlp", feature = "read-tracking"))]

mod common;

use common::http::HttpServer;
use common::otlp::{Receiver, attributes, spans};
use http::header::{HeaderName, HeaderValue};
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
    ReadResourceRequestParams, RequestMetaObject,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::time::Duration;

/// A traceparent whose trace id names the client (`a` or `b`) and the step.
fn meta(client: u8, step: u8) -> RequestMetaObject {
    let trace_id = format!("{client:02x}{:030x}", step);
    let object = json!({"traceparent": format!("00-{trace_id}-00f067aa0ba902b7-01")});
    let Value::Object(map) = object else {
        unreachable!()
    };
    RequestMetaObject::from(map)
}

/// One agent session: reads `intro` twice and `setup` once, and calls a tool.
async fn agent(url: String, client: u8) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // A protocol version with sessions (2026-07-28 serves HTTP statelessly).
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("e2e-http", "1"),
    )
    .with_protocol_version(ProtocolVersion::V_2025_11_25);
    // As if behind a proxy: the original client's address, one per client.
    let forwarded = HashMap::from([(
        HeaderName::from_static("x-forwarded-for"),
        HeaderValue::from_str(&format!("198.51.100.{client}, 10.0.0.1"))?,
    )]);
    let config = StreamableHttpClientTransportConfig::with_uri(url).custom_headers(forwarded);
    let service = info
        .serve(StreamableHttpClientTransport::from_config(config))
        .await?;
    for (step, page) in [(1, "intro"), (2, "setup"), (3, "intro")] {
        let params =
            ReadResourceRequestParams::new(format!("docs://{page}")).with_meta(meta(client, step));
        service.read_resource(params).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let Value::Object(arguments) = json!({"query": "setup", "limit": 1}) else {
        unreachable!()
    };
    let mut params = CallToolRequestParams::new("search_documents").with_arguments(arguments);
    params.meta = Some(meta(client, 4));
    service.call_tool(params).await?;
    service.cancel().await?;
    Ok(())
}

/// Under 2026-07-28 rmcp serves HTTP statelessly: no `mcp.session.id` on any span, and
/// duplicate reads are counted within the trace `_meta` names (one agent run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_requests_count_reads_per_trace() {
    let receiver = Receiver::start();
    let server = HttpServer::start(&receiver);
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("e2e-http-stateless", "1"),
    );
    // 2026-07-28 has no `initialize`: the client discovers the server instead.
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let service = info
        .serve_with_lifecycle(
            StreamableHttpClientTransport::from_uri(server.url.clone()),
            lifecycle,
        )
        .await
        .expect("server/discover");
    let trace = "c0ffee00000000000000000000000001";
    for step in 1..=3u8 {
        let object = json!({"traceparent": format!("00-{trace}-{step:016x}-01")});
        let Value::Object(map) = object else {
            unreachable!()
        };
        let params =
            ReadResourceRequestParams::new("docs://intro").with_meta(RequestMetaObject::from(map));
        service.read_resource(params).await.expect("read");
    }
    service.cancel().await.expect("client closes");
    server.stop();
    let received = receiver.stop();
    let mut reads: Vec<_> = spans(&received)
        .into_iter()
        .filter(|s| hex(&s.trace_id) == trace)
        .collect();
    reads.sort_by_key(|s| s.start_time_unix_nano);
    let counts: Vec<_> = reads
        .iter()
        .map(|s| {
            let attrs = attributes(&s.attributes);
            assert_eq!(attrs["mcp.method.name"], json!("resources/read"));
            assert_eq!(attrs["mcp.protocol.version"], json!("2026-07-28"));
            assert!(
                !attrs.contains_key("mcp.session.id"),
                "no session under 2026-07-28: {attrs:?}"
            );
            assert_eq!(attrs["mcp.resource.read_scope"], json!("trace"));
            (
                attrs["mcp.resource.read_count"].clone(),
                attrs["mcp.resource.cache_hit"].clone(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            (json!(1), json!(false)),
            (json!(2), json!(true)),
            (json!(3), json!(true)),
        ]
    );
    // No session, so no session duration either.
    #[cfg(feature = "metrics")]
    {
        let last = received
            .iter()
            .rev()
            .find_map(|r| r.metrics.as_ref())
            .expect("metrics were exported");
        let sessions = last
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .filter(|m| m.name == "mcp.server.session.duration")
            .count();
        assert_eq!(sessions, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_are_tracked_separately() {
    let receiver = Receiver::start();
    let server = HttpServer::start(&receiver);
    let url = server.url.clone();

    let (a, b) = tokio::join!(agent(url.clone(), 0xa), agent(url.clone(), 0xb));
    a.expect("client a");
    b.expect("client b");

    // Sessions end when their clients close them, not when the server exits: two
    // seconds pass in between.
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.stop();
    let received = receiver.stop();

    let spans = spans(&received);
    let of_client = |client: u8, step: u8| {
        let trace_id = meta(client, step)["traceparent"].as_str().unwrap()[3..35].to_owned();
        let found: Vec<_> = spans
            .iter()
            .filter(|s| hex(&s.trace_id) == trace_id)
            .collect();
        assert_eq!(found.len(), 1, "one span for client {client:x} step {step}");
        attributes(&found[0].attributes)
    };
    let mut sessions = BTreeMap::new();
    for client in [0xa, 0xb] {
        let session = of_client(client, 1)["mcp.session.id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!session.is_empty());
        for (step, page, count) in [(1, "intro", 1), (2, "setup", 1), (3, "intro", 2)] {
            let attrs = of_client(client, step);
            assert_eq!(attrs["mcp.method.name"], json!("resources/read"));
            assert_eq!(attrs["mcp.resource.uri"], json!(format!("docs://{page}")));
            assert_eq!(
                attrs["mcp.session.id"],
                json!(session),
                "same session throughout"
            );
            assert_eq!(attrs["network.transport"], json!("tcp"));
            assert_eq!(attrs["network.protocol.name"], json!("http"));
            assert_eq!(attrs["network.protocol.version"], json!("1.1"));
            assert_eq!(
                attrs["client.address"],
                json!(format!("198.51.100.{client}"))
            );
            assert!(!attrs.contains_key("client.port"), "none was forwarded");
            // The conventions: only a JSON-RPC version other than 2.0 is recorded.
            assert!(!attrs.contains_key("jsonrpc.protocol.version"));
            assert_eq!(
                attrs["mcp.resource.read_count"],
                json!(count),
                "client {client:x} {page}"
            );
            assert_eq!(attrs["mcp.resource.cache_hit"], json!(count > 1));
        }
        let tool = of_client(client, 4);
        assert_eq!(tool["gen_ai.tool.name"], json!("search_documents"));
        assert_eq!(tool["mcp.session.id"], json!(session));
        assert_eq!(tool["mcp.tool.args.query.length"], json!(5));
        sessions.insert(client, session);
    }
    assert_ne!(
        sessions[&0xa], sessions[&0xb],
        "each client has its own session"
    );
    session_durations(&received);
}

/// Both sessions on `mcp.server.session.duration`, each ended when its client closed
/// it: their durations add up to less than the two seconds the server then ran on.
#[cfg(feature = "metrics")]
fn session_durations(received: &[common::otlp::Received]) {
    use opentelemetry_proto::tonic::metrics::v1::metric;
    let last = received
        .iter()
        .rev()
        .find_map(|r| r.metrics.as_ref())
        .expect("metrics were exported");
    let points: Vec<_> = last
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| m.name == "mcp.server.session.duration")
        .flat_map(|m| match &m.data {
            Some(metric::Data::Histogram(h)) => h.data_points.clone(),
            other => panic!("not a histogram: {other:?}"),
        })
        .collect();
    let [point] = &points[..] else {
        panic!("one series: {points:?}")
    };
    assert_eq!(
        attributes(&point.attributes),
        BTreeMap::from([
            ("mcp.protocol.version".to_owned(), json!("2025-11-25")),
            ("network.transport".to_owned(), json!("tcp")),
            ("network.protocol.name".to_owned(), json!("http")),
            ("network.protocol.version".to_owned(), json!("1.1")),
        ])
    );
    assert_eq!(point.count, 2);
    assert!(point.sum.unwrap_or_default() < 2.0, "{:?}", point.sum);
}

#[cfg(not(feature = "metrics"))]
fn session_durations(_: &[common::otlp::Received]) {}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
