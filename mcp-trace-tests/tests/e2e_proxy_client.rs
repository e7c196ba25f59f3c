//! The traced agent's side through `mcp-trace proxy`: rmcp's client, served over
//! `mcp_trace::rmcp::client::traced`, talks to a server made with the official Python
//! SDK (`tests/python/server.py`, nobody here wrote the SDK) through the proxy, which
//! exports over OTLP/HTTP to a receiver started here. The agent's CLIENT spans and the
//! proxy's SERVER spans make one trace; the server's question to the agent is a CLIENT
//! span of the proxy's under the call it was asked in; the hash is the one the Python
//! recipe computes; and the agent gets the same results with and without the proxy.
//!
//! Needs the `mcp-trace` binary `cargo test --workspace` builds, and the SDK's venv
//! (`.ci/run` makes it); without either, the test says so loudly and skips.
#![cfg(all(feature = "client", feature = "otlp", feature = "args-hash"))]

mod common;

use common::otlp::{Receiver, attributes, spans};
use common::python;
use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;

/// The `mcp-trace` binary of this build, or `None` (and a loud message).
fn proxy_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join(format!("mcp-trace{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        eprintln!(
            "\n*** SKIPPED: no mcp-trace binary at {} (`cargo test --workspace` builds it) ***\n",
            path.display()
        );
        return None;
    }
    Some(path)
}

/// The agent's side of the server's question: accepted.
#[derive(Clone)]
struct Agent;

impl rmcp::ClientHandler for Agent {
    async fn create_elicitation(
        &self,
        _request: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<rmcp::service::RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        Ok(
            rmcp::model::ElicitResult::new(rmcp::model::ElicitationAction::Accept)
                .with_content(json!({"confirm": true})),
        )
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        rmcp::model::ClientConfig::new(
            rmcp::model::ClientCapabilities::builder()
                .enable_elicitation()
                .build(),
            rmcp::model::Implementation::new("traced-agent", "1"),
        )
    }
}

fn call(tool: &str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(map) = arguments else {
        panic!("arguments are an object")
    };
    CallToolRequestParams::new(tool.to_owned()).with_arguments(map)
}

/// The agent's tool list and two calls against `command` (the server, or the proxy in front of it);
/// their results.
async fn agent(command: &mut tokio::process::Command) -> Vec<Value> {
    let mut server = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts");
    let (stdin, stdout) = (server.stdin.take().unwrap(), server.stdout.take().unwrap());
    let client = mcp_trace::rmcp::client::TracedClient::serve(
        Agent,
        mcp_trace::rmcp::client::traced((stdout, stdin)),
    )
    .await
    .expect("initialized");
    // As an agent does: the tools first (their schemas are what the proxy checks
    // the calls against).
    client.list_all_tools().await.expect("tools/list");
    let mut results = Vec::new();
    for (tool, arguments) in [
        ("search_documents", json!({"query": "rust", "limit": 2})),
        ("delete_document", json!({"name": "SECRET-name"})),
    ] {
        let result = client
            .call_tool(call(tool, arguments))
            .await
            .expect("answered");
        results.push(serde_json::to_value(result).expect("JSON"));
    }
    client.cancel().await.expect("closed");
    // Its stdin closed, the server exits (through the proxy: the proxy exports, then).
    let _ = server.wait().await;
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traced_agent_and_the_proxied_server_make_one_trace() {
    let (Some(python), Some(proxy)) = (python(), proxy_binary()) else {
        return;
    };
    let server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/server.py");
    let direct = agent(tokio::process::Command::new(&python).arg(&server)).await;

    let receiver = Receiver::start();
    common::exporter();
    let tracer = opentelemetry::global::tracer_provider().tracer("agent");
    let run = tracer.start("agent run");
    let cx = opentelemetry::Context::current_with_span(run);
    let mut command = tokio::process::Command::new(&proxy);
    command
        .args(["proxy", "--"])
        .arg(&python)
        .arg(&server)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("MCP_TRACE_FILE");
    let proxied = {
        use opentelemetry::trace::FutureExt;
        agent(&mut command).with_context(cx.clone()).await
    };
    cx.span().end();
    // The agent gets what it gets without the proxy.
    assert_eq!(proxied, direct);

    let trace = cx.span().span_context().trace_id();
    let ours: Vec<_> = common::exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect();
    let received = receiver.stop();
    let theirs = spans(&received);
    let client_call = |tool: &str| {
        ours.iter()
            .find(|s| {
                s.name == format!("tools/call {tool}")
                    && s.span_kind == opentelemetry::trace::SpanKind::Client
            })
            .unwrap_or_else(|| panic!("the agent's call of {tool}: {ours:#?}"))
    };
    let server_call = |name: &str| {
        theirs
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("the proxy's {name}: {theirs:#?}"))
    };
    for tool in ["search_documents", "delete_document"] {
        let mine = client_call(tool);
        let served = server_call(&format!("tools/call {tool}"));
        assert_eq!(
            served.trace_id,
            trace.to_bytes().to_vec(),
            "{tool}: one trace"
        );
        assert_eq!(
            served.parent_span_id,
            mine.span_context.span_id().to_bytes().to_vec(),
            "{tool}: the proxy's span is the agent's call's child"
        );
    }
    let search = attributes(&server_call("tools/call search_documents").attributes);
    // The Python recipe's: sha256(json.dumps(arguments, sort_keys=True))[:16].
    assert_eq!(search["mcp.tool.args.hash"], json!("93999a577de43ab5"));
    assert_eq!(search["mcp.tool.args.schema_valid"], json!(true));
    assert_eq!(search["mcp.tool.args.query.length"], json!(4));
    // The server's question: the proxy's CLIENT span under the call it was asked in.
    let delete = server_call("tools/call delete_document");
    let asked = server_call("elicitation/create");
    assert_eq!(asked.parent_span_id, delete.span_id);
    assert_eq!(
        attributes(&asked.attributes)["mcp.elicitation.action"],
        json!("accept")
    );
    for span in &theirs {
        assert!(!format!("{span:?}").contains("SECRET"), "{span:?}");
    }
}
