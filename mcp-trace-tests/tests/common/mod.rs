//! Shared harness: one global SDK provider with the in-memory exporter per test binary;
//! each test runs under its own root span and reads back only its own trace.

#![allow(dead_code)]

pub mod counting;
// `client` and `rmcp-http` turn rmcp on in the facade, not this crate's `rmcp`.
#[cfg(all(
    any(feature = "rmcp", feature = "client", feature = "rmcp-http"),
    feature = "otlp"
))]
pub mod http;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(all(feature = "rmcp", feature = "otlp"))]
pub mod pipes;
#[cfg(feature = "enable")]
pub mod trackers;

use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider);
        // Traced calls may already have run on this thread (and cached "no SDK").
        mcp_trace::provider_changed();
        exporter
    })
}

fn root() -> Context {
    exporter();
    let span = opentelemetry::global::tracer_provider()
        .tracer("test")
        .start("test-root");
    Context::current_with_span(span)
}

/// Spans of `trace_id`, oldest first, without the test's root span.
pub fn spans_of(trace_id: opentelemetry::trace::TraceId) -> Vec<SpanData> {
    exporter()
        .get_finished_spans()
        .expect("in-memory exporter readable")
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id && s.name != "test-root")
        .collect()
}

/// Runs `f` under a fresh root span; returns its value and the spans it produced.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    let cx = root();
    let trace_id = cx.span().span_context().trace_id();
    let value = {
        let _guard = cx.clone().attach();
        f()
    };
    (value, spans_of(trace_id))
}

/// Async [`capture`].
pub async fn capture_async<F: Future>(future: F) -> (F::Output, Vec<SpanData>) {
    use opentelemetry::context::FutureExt;
    let cx = root();
    let trace_id = cx.span().span_context().trace_id();
    let value = future.with_context(cx).await;
    (value, spans_of(trace_id))
}

/// The single span `spans` must hold.
pub fn only(spans: Vec<SpanData>) -> SpanData {
    assert_eq!(
        spans.len(),
        1,
        "expected exactly one span, got {:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    spans.into_iter().next().unwrap()
}

/// A span's attributes as an ordered map, for exact comparison.
pub fn attrs(span: &SpanData) -> BTreeMap<String, Value> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect()
}

/// Expected attributes, written as `KeyValue`s.
pub fn expect(pairs: impl IntoIterator<Item = KeyValue>) -> BTreeMap<String, Value> {
    pairs
        .into_iter()
        .map(|kv| (kv.key.to_string(), kv.value))
        .collect()
}

/// The attributes every tool span carries.
pub fn tool_base(name: &'static str) -> Vec<KeyValue> {
    vec![
        KeyValue::new("mcp.method.name", "tools/call"),
        KeyValue::new("gen_ai.operation.name", "execute_tool"),
        KeyValue::new("gen_ai.tool.name", name),
        KeyValue::new("mcp.tool.name", name),
    ]
}

#[cfg(feature = "args-hash")]
pub fn hash(args: serde_json::Value) -> KeyValue {
    KeyValue::new("mcp.tool.args.hash", mcp_trace::args_hash(&args))
}

/// A built example binary, found next to the running test binary
/// (`<target>/<profile>/deps/<test>` → `<target>/<profile>/examples/<name>`).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("profile dir");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "build the example first (`cargo test -p mcp-trace-tests --features rmcp` does): {}",
        path.display()
    );
    path
}

/// Exports spans to `endpoint` over OTLP/HTTP whatever the calling environment says,
/// and no metrics (the receiver decodes traces only).
pub fn export_to<C: std::borrow::BorrowMut<std::process::Command>>(
    mut command: C,
    endpoint: &str,
) -> C {
    command
        .borrow_mut()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_METRICS_EXPORTER", "none")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    command
}

/// `mcp.tool.definition.hash` of a tool as a client received it from `tools/list`: the
/// argument hash of its defining members.
#[cfg(all(feature = "rmcp", feature = "args-hash"))]
pub fn definition_hash(tool: &rmcp::model::Tool) -> String {
    mcp_trace::args_hash(&definition(tool))
}

/// The defining members of a tool as a client received it.
#[cfg(all(feature = "rmcp", feature = "args-hash"))]
pub fn definition(tool: &rmcp::model::Tool) -> serde_json::Value {
    let received = serde_json::to_value(tool).unwrap();
    let mut kept = serde_json::Map::new();
    for key in [
        "name",
        "description",
        "inputSchema",
        "outputSchema",
        "annotations",
    ] {
        if let Some(v) = received.get(key).filter(|v| !v.is_null()) {
            kept.insert(key.to_owned(), v.clone());
        }
    }
    serde_json::Value::Object(kept)
}

/// The venv's Python with the SDK, or `None` (and a loud message) without it.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("MCP_TRACE_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(PathBuf::from(home).join(".cache/mcp-trace/python-mcp-2.3.0/bin/python"))
        })?;
    let works = Command::new(&python)
        .args(["-c", "import mcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        eprintln!(
            "\n*** SKIPPED: the official Python MCP SDK is not installed ({}); \
             `bash .ci/run` installs it (python3 -m venv + pip install mcp==2.3.0) ***\n",
            python.display()
        );
        return None;
    }
    Some(python)
}
