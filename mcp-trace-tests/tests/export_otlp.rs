//! OTLP/HTTP: a loopback receiver decodes the protobuf `POST /v1/traces` requests of a
//! child process configured only through the standard environment.
#![cfg(all(feature = "enable", feature = "otlp"))]

mod common;

use common::otlp::{Receiver, attributes, spans};
use mcp_trace::traced_tool;

const CHILD: &str = "MCP_TRACE_OTLP_CHILD";
const CALLS: i64 = 20;

#[traced_tool]
fn numbered(i: i64) -> i64 {
    i
}

#[test]
fn otlp_http_receives_every_span_as_protobuf() {
    if std::env::var_os(CHILD).is_some() {
        // The child: configured from the environment alone, like a real server.
        let guard = mcp_trace::init();
        assert!(guard.is_active());
        for i in 0..CALLS {
            numbered(i);
        }
        return; // the guard's drop exports everything
    }

    let receiver = Receiver::start();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "otlp_http_receives_every_span_as_protobuf",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::null())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_SERVICE_NAME", "otlp-child")
        // The receiver decodes traces only.
        .env("OTEL_METRICS_EXPORTER", "none")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .status()
        .expect("child runs");
    assert!(status.success());

    let received = receiver.stop();
    assert!(!received.is_empty(), "the receiver got requests");
    for r in &received {
        assert_eq!(
            r.path, "/v1/traces",
            "/v1/traces appended to the generic endpoint"
        );
        for resource_spans in &r.request.resource_spans {
            let resource = attributes(&resource_spans.resource.as_ref().unwrap().attributes);
            assert_eq!(resource["service.name"], "otlp-child");
        }
    }
    let mut seen: Vec<i64> = spans(&received)
        .iter()
        .map(|span| {
            assert_eq!(span.name, "tools/call numbered");
            attributes(&span.attributes)["mcp.tool.args.i"]
                .as_i64()
                .unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..CALLS).collect::<Vec<_>>());
}
