//! Metrics end to end: rmcp's client drives `examples/stdio_server`, which exports
//! spans and metrics over OTLP/HTTP to a receiver started here. When the client closes,
//! the server's last metrics export (`POST /v1/metrics`, decoded as
//! `ExportMetricsServiceRequest`) must count every call, with the attributes each
//! call's span carries, and nothing of a call's identity (session, request id, URI,
//! hash) or of its arguments; and the session's duration, ended with the process.
#![cfg(all(
    feature = "rmcp",
    feature = "otlp",
    feature = "metrics",
    feature = "schema-check",
    feature = "read-tracking"
))]

mod common;

use common::otlp::{Receiver, attributes, spans};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;

/// What a call's metric point may carry, taken from its span.
const METRIC_KEYS: [&str; 11] = [
    "mcp.method.name",
    "gen_ai.operation.name",
    "gen_ai.tool.name",
    "gen_ai.prompt.name",
    "mcp.protocol.version",
    "network.transport",
    "error.type",
    "rpc.response.status_code",
    "mcp.tool.args.schema_valid",
    "mcp.resource.cache_hit",
    "mcp.tool.call.repeated",
];

/// The stdio example, exporting spans and metrics to `receiver` whatever the calling
/// environment says.
fn stdio_server(receiver: &Receiver, service: &str) -> std::process::Command {
    let mut command = std::process::Command::new(common::example_binary("stdio_server"));
    for var in [
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "MCP_TRACE_FILE",
        "MCP_TRACE_METRICS_FILE",
    ] {
        command.env_remove(var);
    }
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_SERVICE_NAME", service)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

fn call(name: &'static str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    CallToolRequestParams::new(name).with_arguments(arguments)
}

/// Attributes as sorted `key=value` text, for grouping.
fn text(attributes: &BTreeMap<String, Value>) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn plain(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    attributes(kvs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_counted_over_otlp_with_its_spans_attributes() {
    let receiver = Receiver::start();
    let mut child = tokio::process::Command::from(stdio_server(&receiver, "e2e-metrics"))
        .kill_on_drop(true)
        .spawn()
        .expect("example server starts");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let client = ().serve((stdout, stdin)).await.expect("initialize");

    const VALID: usize = 5;
    for i in 0..VALID {
        let result = client
            .call_tool(call(
                "search_documents",
                json!({"query": format!("q{i}"), "limit": 2}),
            ))
            .await
            .expect("valid call");
        assert_eq!(result.is_error, Some(false));
    }
    // Sent twice unchanged: the second repeats the first.
    for _ in 0..2 {
        client
            .call_tool(call(
                "search_documents",
                json!({"query": "q", "limit": 500}),
            ))
            .await
            .expect("out-of-range limit is served");
    }
    let rpc_error = client
        .call_tool(call("run_query", json!({"sql": "DELETE FROM t"})))
        .await;
    assert!(rpc_error.is_err());
    for _ in 0..3 {
        client
            .read_resource(ReadResourceRequestParams::new("docs://intro"))
            .await
            .expect("resources/read");
    }
    client
        .get_prompt(GetPromptRequestParams::new("summarize"))
        .await
        .expect("a known prompt");
    client
        .get_prompt(GetPromptRequestParams::new(
            "prompt-the-client-made-up-4711",
        ))
        .await
        .expect_err("an unknown prompt");
    client.cancel().await.expect("client closes");
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("server exits after the client closes")
        .expect("server status");
    assert!(status.success(), "server exit status {status}");
    let received = receiver.stop();

    // What each call's span says, reduced to the metric's attributes and counted.
    let mut expected: BTreeMap<String, (BTreeMap<String, Value>, u64)> = BTreeMap::new();
    for span in spans(&received) {
        let attrs = plain(&span.attributes);
        let method = attrs.get("mcp.method.name").and_then(Value::as_str);
        if !matches!(method, Some("tools/call" | "resources/read")) {
            continue;
        }
        // The span's place in a run is, on the metric, whether the call repeated.
        let repeated = attrs
            .get("mcp.tool.call.repeat_run")
            .and_then(Value::as_i64)
            .map(|run| ("mcp.tool.call.repeated".to_owned(), json!(run >= 2)));
        let kept: BTreeMap<String, Value> = attrs
            .into_iter()
            .filter(|(k, _)| METRIC_KEYS.contains(&k.as_str()))
            .chain(repeated)
            .collect();
        expected.entry(text(&kept)).or_insert((kept, 0)).1 += 1;
    }
    assert_eq!(
        expected.values().map(|(_, n)| n).sum::<u64>(),
        (VALID + 3 + 3) as u64,
        "one span per call: {expected:#?}"
    );

    // The last metrics export: cumulative, so it counts every call.
    let last = received
        .iter()
        .rev()
        .find_map(|r| r.metrics.as_ref())
        .expect("metrics were exported to /v1/metrics");
    let mut got: BTreeMap<String, (BTreeMap<String, Value>, u64)> = BTreeMap::new();
    let mut sessions = Vec::new();
    let mut all_points = Vec::new();
    for resource in &last.resource_metrics {
        for scope in &resource.scope_metrics {
            for m in &scope.metrics {
                assert_eq!(m.unit, "s");
                let Some(metric::Data::Histogram(histogram)) = &m.data else {
                    panic!("not a histogram: {:?}", m.data);
                };
                if m.name == "mcp.server.session.duration" {
                    sessions.extend(
                        histogram
                            .data_points
                            .iter()
                            .map(|p| (plain(&p.attributes), p.count)),
                    );
                    continue;
                }
                assert_eq!(m.name, "mcp.server.operation.duration");
                for point in &histogram.data_points {
                    let attrs = plain(&point.attributes);
                    for key in attrs.keys() {
                        assert!(
                            METRIC_KEYS.contains(&key.as_str()),
                            "unexpected metric attribute {key}"
                        );
                    }
                    let method = attrs.get("mcp.method.name").and_then(Value::as_str);
                    if matches!(method, Some("tools/call" | "resources/read")) {
                        got.insert(text(&attrs), (attrs.clone(), point.count));
                    }
                    all_points.push((attrs, point.count));
                }
            }
        }
    }
    assert_eq!(got, expected);
    // The three kinds of call each carry their own signal.
    let has = |key: &str, value: Value| got.values().any(|(a, _)| a.get(key) == Some(&value));
    assert!(has("mcp.tool.args.schema_valid", json!(false)));
    assert!(has("mcp.tool.call.repeated", json!(false)));
    assert!(has("mcp.tool.call.repeated", json!(true)));
    assert!(has("mcp.resource.cache_hit", json!(true)));
    assert!(has("network.transport", json!("pipe")));
    // Prompts: a known one by name, an unknown one as `_OTHER` (the span keeps the
    // bounded name; the metric never the client's string).
    let mut prompts: Vec<_> = all_points
        .iter()
        .filter(|(a, _)| a.get("mcp.method.name") == Some(&json!("prompts/get")))
        .map(|(a, n)| {
            let kept: BTreeMap<&str, &Value> = a
                .iter()
                .filter(|(k, _)| {
                    [
                        "gen_ai.prompt.name",
                        "error.type",
                        "rpc.response.status_code",
                    ]
                    .contains(&k.as_str())
                })
                .map(|(k, v)| (k.as_str(), v))
                .collect();
            (kept, *n)
        })
        .collect();
    prompts.sort_by_key(|(a, _)| a.len());
    assert_eq!(
        prompts,
        vec![
            (
                BTreeMap::from([("gen_ai.prompt.name", &json!("summarize"))]),
                1
            ),
            (
                BTreeMap::from([
                    ("gen_ai.prompt.name", &json!("_OTHER")),
                    ("rpc.response.status_code", &json!("-32602")),
                ]),
                1
            ),
        ]
    );
    // The one stdio session, ended with the process, with the protocol version the
    // spans carry.
    let protocol = expected
        .values()
        .find_map(|(a, _)| a.get("mcp.protocol.version").cloned())
        .expect("the spans carry the negotiated version");
    let session: BTreeMap<String, Value> = [
        ("mcp.protocol.version".to_owned(), protocol),
        ("network.transport".to_owned(), json!("pipe")),
    ]
    .into();
    assert_eq!(sessions, vec![(session, 1)]);
}

/// A line on stdin that is not JSON is answered `-32700` and counted: `_OTHER`, with
/// the code as its status code (no error type: the client's mistake), over the pipe.
#[test]
fn parse_errors_are_counted() {
    use std::io::{Read, Write};
    let receiver = Receiver::start();
    let mut child = stdio_server(&receiver, "e2e-metrics-parse")
        .spawn()
        .expect("server starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"this is not json\n{\"also\": \n").unwrap();
    drop(stdin);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(
        stdout.contains("-32700"),
        "answered with a parse error: {stdout}"
    );
    // With no `initialize` before stdin closed, the server exits with an error, after
    // its guard exported what it had.
    child.wait().expect("server exits");
    let received = receiver.stop();

    let last = received
        .iter()
        .rev()
        .find_map(|r| r.metrics.as_ref())
        .expect("metrics were exported to /v1/metrics");
    let points: Vec<(BTreeMap<String, Value>, u64)> = last
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter_map(|m| match &m.data {
            Some(metric::Data::Histogram(h)) => Some(&h.data_points),
            _ => None,
        })
        .flatten()
        .map(|p| (plain(&p.attributes), p.count))
        .collect();
    let parse_error: BTreeMap<String, Value> = [
        ("mcp.method.name", json!("_OTHER")),
        ("rpc.response.status_code", json!("-32700")),
        ("network.transport", json!("pipe")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(points, [(parse_error, 2)]);
}
