//! The embedded logs exporter: `init()`'s logger provider writes OTLP/JSON lines beside
//! the span file, its `tracing` bridge is the global subscriber, and the guard flushes
//! on drop; the file reads back with opentelemetry-proto's serde mapping, one
//! `ExportLogsServiceRequest` per line, each record carrying the ids of the span it was
//! written in.
#![cfg(all(feature = "enable", feature = "logs"))]

use mcp_trace::{Exporter, LogsExporter, traced_tool};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;

#[traced_tool]
fn numbered(i: u32) -> u32 {
    tracing::warn!(i, "numbered");
    i
}

#[test]
fn dropping_the_guard_writes_every_record_to_the_logs_file() {
    let dir = std::env::temp_dir().join(format!("mcp-trace-logs-{}", std::process::id()));
    let spans = dir.join("spans.jsonl");
    let builder = mcp_trace::Builder::new()
        .service_name("logs-file-test")
        .exporter(Exporter::File(Some(spans.clone())))
        .logs_exporter(LogsExporter::File(None));
    #[cfg(feature = "metrics")]
    let builder = builder.metrics_exporter(mcp_trace::MetricsExporter::None);
    let guard = builder.install().expect("file exporters install");
    let logs = dir.join("spans.logs.jsonl");
    assert_eq!(guard.logs_file_path(), Some(logs.as_path()));
    assert_eq!(mcp_trace::default_logs_path(&spans), logs);
    const CALLS: u32 = 20;
    for i in 0..CALLS {
        numbered(i);
    }
    drop(guard);

    // span id → trace id of every span written.
    let mut span_ids = std::collections::HashMap::new();
    for line in std::fs::read_to_string(&spans).unwrap().lines() {
        let request: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            span_ids.insert(span.span_id.clone(), span.trace_id.clone());
        }
    }
    let text = std::fs::read_to_string(&logs).expect("logs file written");
    let mut seen = Vec::new();
    for line in text.lines() {
        let request: ExportLogsServiceRequest =
            serde_json::from_str(line).expect("each line is one ExportLogsServiceRequest");
        for resource in &request.resource_logs {
            let service: Vec<_> = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .filter(|kv| kv.key == "service.name")
                .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    any_value::Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(service, ["logs-file-test"]);
            for record in resource.scope_logs.iter().flat_map(|s| &s.log_records) {
                assert_eq!(record.severity_text, "WARN");
                let body = record.body.as_ref().and_then(|b| b.value.as_ref());
                assert_eq!(
                    body,
                    Some(&any_value::Value::StringValue("numbered".into()))
                );
                // In the span of the call that wrote it.
                assert_eq!(span_ids.get(&record.span_id), Some(&record.trace_id));
                let i = record
                    .attributes
                    .iter()
                    .find(|kv| kv.key == "i")
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        any_value::Value::IntValue(i) => Some(*i),
                        _ => None,
                    })
                    .expect("the event's field");
                seen.push(i);
            }
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..i64::from(CALLS)).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&dir);
}
