//! End to end against a client nobody here wrote: the official Python MCP SDK
//! (`mcp==2.3.0`, installed by `.ci/run` into a venv) drives `examples/stdio_server`,
//! which exports over OTLP/HTTP to a receiver started here, in both protocol eras.
//! 2026-07-28: the SDK discovers the server and drives `confirm_action`'s
//! `input_required` rounds itself: two linked spans. 2025-11-25: it initializes and
//! answers the server's `elicitation/create`, a CLIENT span under the tool's span. In
//! both, the `_meta` traceparent it sends parents the tool spans, and no argument,
//! question or answer is in any byte received.
//!
//! Without the SDK (`MCP_TRACE_PYTHON`, else the venv `.ci/run` makes), the test says
//! so loudly and skips.
#![cfg(all(feature = "rmcp", feature = "otlp", feature = "args-hash"))]

mod common;

use common::otlp::{Receiver, attributes, spans};
use common::python;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The traceparent the Python client sends in every call's `_meta`.
const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_ID: &str = "b7ad6b7169203331";

/// Runs the Python client against the stdio example in `protocol`; returns its output
/// lines and every span the server exported.
fn converse(python: &PathBuf, protocol: &str) -> (Vec<Value>, Vec<Span>) {
    let receiver = Receiver::start();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/client.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(common::example_binary("stdio_server"))
        .arg(protocol);
    for var in [
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "MCP_TRACE_FILE",
    ] {
        command.env_remove(var);
    }
    let mut child = command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env("OTEL_SERVICE_NAME", "e2e-python")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("python status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the Python client did not finish in 90 s ({protocol})");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(
        status.success(),
        "python client ({protocol}): {status}\n{out}"
    );
    // The server exports on its way out, which the client waits for (it closes
    // stdin, then gives the server 2 s).
    std::thread::sleep(Duration::from_millis(200));
    let received = receiver.stop();
    for r in &received {
        let bytes = String::from_utf8_lossy(&r.body);
        for secret in ["SENTINEL", "awaiting-confirmation", "Go ahead with"] {
            assert!(!bytes.contains(secret), "{secret} exported ({protocol})");
        }
    }
    let lines = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let spans = spans(&received).into_iter().cloned().collect();
    (lines, spans)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    let mut found: Vec<&Span> = spans.iter().filter(|s| s.name == name).collect();
    found.sort_by_key(|s| s.start_time_unix_nano);
    found
}

fn answered(lines: &[Value]) {
    assert_eq!(
        lines,
        &[
            json!({"tools": ["build_report", "confirm_action", "create_issue", "run_query", "search_documents"]}),
            json!({"tool": "search_documents", "isError": false}),
            json!({"tool": "confirm_action", "isError": false}),
        ]
    );
}

/// The tool spans are the children of the traceparent the client sent.
fn parented(spans: &[&Span]) {
    for span in spans {
        assert_eq!(hex(&span.trace_id), TRACE_ID, "{}", span.name);
        assert_eq!(hex(&span.parent_span_id), PARENT_ID, "{}", span.name);
    }
}

fn request_keys(span: &Span) -> BTreeMap<String, Value> {
    attributes(&span.attributes)
        .into_iter()
        .filter(|(k, _)| k.starts_with("mcp.request.") || k == "mcp.protocol.version")
        .collect()
}

#[test]
fn the_python_sdk_drives_the_example_in_both_eras() {
    let Some(python) = python() else { return };

    // 2026-07-28: discovered, and two rounds for the question.
    let (lines, spans) = converse(&python, "2026-07-28");
    answered(&lines);
    assert_eq!(named(&spans, "server/discover").len(), 1);
    assert!(named(&spans, "initialize").is_empty());
    let rounds = named(&spans, "tools/call confirm_action");
    let [first, last] = &rounds[..] else {
        panic!("two rounds: {}", rounds.len());
    };
    parented(&rounds);
    parented(&named(&spans, "tools/call search_documents"));
    common::otlp::assert_two_rounds(first, last);

    // 2025-11-25: initialized, and the server asks while the call waits.
    let (lines, spans) = converse(&python, "2025-11-25");
    answered(&lines);
    assert_eq!(named(&spans, "initialize").len(), 1);
    let calls = named(&spans, "tools/call confirm_action");
    let [call] = &calls[..] else {
        panic!("one call: {}", calls.len());
    };
    parented(&calls);
    assert_eq!(
        request_keys(call),
        BTreeMap::from([("mcp.protocol.version".to_owned(), json!("2025-11-25"))])
    );
    let questions = named(&spans, "elicitation/create");
    let [question] = &questions[..] else {
        panic!("one question: {}", questions.len());
    };
    assert_eq!(question.parent_span_id, call.span_id);
    assert_eq!(
        attributes(&question.attributes)["mcp.elicitation.action"],
        json!("accept")
    );
}
