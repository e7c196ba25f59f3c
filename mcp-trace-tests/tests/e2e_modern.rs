//! End to end in the 2026-07-28 era: rmcp's client discovers `examples/stdio_server`
//! (no `initialize`) in a child process that exports spans and metrics over OTLP/HTTP
//! to a receiver started here. `confirm_action` asks the user the 2026-07-28 way, by
//! answering `input_required` (a multi-round request the client drives): two rounds,
//! two spans, the second linked to the first, and one call on the metric. Neither the
//! question, the answer nor the request state is in any byte received.
#![cfg(all(
    feature = "rmcp",
    feature = "otlp",
    feature = "metrics",
    feature = "args-hash"
))]

mod common;

use common::otlp::{Receiver, attributes, spans};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, GetTaskParams, Implementation, ProtocolVersion, TaskStatus,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RoleClient};
use rmcp::{ClientHandler, ErrorData};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;

/// Answers every question yes, with content that must not leave the server.
#[derive(Clone)]
struct Agent;

impl ClientHandler for Agent {
    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({"SENTINEL-ANSWER": "yes"})))
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder()
                .enable_elicitation()
                .enable_tasks()
                .build(),
            Implementation::new("modern-agent", "1"),
        )
    }
}

fn call(name: &'static str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    CallToolRequestParams::new(name).with_arguments(arguments)
}

fn plain(attributes: &[KeyValue]) -> BTreeMap<String, Value> {
    common::otlp::attributes(attributes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_client_drives_the_rounds_and_they_count_once() {
    let receiver = Receiver::start();
    let mut command = tokio::process::Command::new(common::example_binary("stdio_server"));
    for var in [
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
        "OTEL_LOGS_EXPORTER",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "MCP_TRACE_FILE",
        "MCP_TRACE_METRICS_FILE",
    ] {
        command.env_remove(var);
    }
    let mut child = command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_SERVICE_NAME", "e2e-modern")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("example server starts");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client = Agent
        .serve_with_lifecycle((stdout, stdin), lifecycle)
        .await
        .expect("server/discover");
    let found = client
        .call_tool(call(
            "search_documents",
            json!({"query": "intro", "limit": 2}),
        ))
        .await
        .expect("search");
    assert_eq!(found.is_error, Some(false));
    let confirmed = client
        .call_tool(call("confirm_action", json!({"action": "SENTINEL-ACTION"})))
        .await
        .expect("the rounds end");
    assert_eq!(confirmed.is_error, Some(false));
    // A client that takes tasks gets the report as one, and polls for it.
    let CallToolResponse::Task(created) = client
        .call_tool_once(call("build_report", json!({"sections": 2})))
        .await
        .expect("build_report")
    else {
        panic!("a task");
    };
    loop {
        let polled = client
            .get_task(GetTaskParams::new(created.task.task_id.clone()))
            .await
            .expect("tasks/get");
        if polled.task.status() == TaskStatus::Completed {
            break;
        }
        assert_eq!(polled.task.status(), TaskStatus::Working);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    client.cancel().await.expect("client closes");
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("server exits after the client closes")
        .expect("server status");
    assert!(status.success(), "server exit status {status}");
    let received = receiver.stop();

    for r in &received {
        let bytes = String::from_utf8_lossy(&r.body);
        for secret in ["SENTINEL", "awaiting-confirmation", "Go ahead with"] {
            assert!(
                !bytes.contains(secret),
                "{secret} was exported ({})",
                r.path
            );
        }
    }
    let spans = spans(&received);
    let discover = spans
        .iter()
        .find(|s| s.name == "server/discover")
        .expect("the discover span");
    assert_eq!(
        attributes(&discover.attributes)["mcp.protocol.version"],
        json!("2026-07-28")
    );
    let mut rounds: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "tools/call confirm_action")
        .collect();
    rounds.sort_by_key(|s| s.start_time_unix_nano);
    let [first, last] = &rounds[..] else {
        panic!("two rounds: {}", rounds.len());
    };
    common::otlp::assert_two_rounds(first, last);

    // The report's task: its own span, the child of the call that created it, which
    // links to it, as does every poll.
    let task = spans
        .iter()
        .find(|s| s.name == "task build_report")
        .expect("the task's span");
    let created_by = spans
        .iter()
        .find(|s| s.name == "tools/call build_report")
        .expect("the creating call");
    assert_eq!(task.parent_span_id, created_by.span_id);
    assert_eq!(created_by.links[0].span_id, task.span_id);
    let task_attrs = attributes(&task.attributes);
    assert_eq!(task_attrs["mcp.task.status"], json!("completed"));
    assert_eq!(task_attrs["gen_ai.tool.name"], json!("build_report"));
    let polls: Vec<_> = spans.iter().filter(|s| s.name == "tasks/get").collect();
    assert!(!polls.is_empty());
    for poll in polls {
        assert_eq!(poll.links[0].span_id, task.span_id);
        assert_eq!(attributes(&poll.attributes)["mcp.task.known"], json!(true));
    }

    // One call of confirm_action on the metric (cumulative: the last export counts all).
    let last_export = received
        .iter()
        .rev()
        .find_map(|r| r.metrics.as_ref())
        .expect("metrics were exported");
    let mut calls = 0;
    for m in last_export
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| m.name == "mcp.server.operation.duration")
    {
        let Some(metric::Data::Histogram(histogram)) = &m.data else {
            panic!("not a histogram");
        };
        for point in &histogram.data_points {
            let attrs = plain(&point.attributes);
            if attrs.get("gen_ai.tool.name") == Some(&json!("confirm_action")) {
                assert_eq!(attrs["mcp.protocol.version"], json!("2026-07-28"));
                calls += point.count;
            }
        }
    }
    assert_eq!(calls, 1, "two rounds, one call");
}
