//! The embedded metrics exporter: `init()`'s meter provider writes OTLP/JSON lines
//! beside the span file, the guard flushes them on drop, and the file reads back with
//! opentelemetry-proto's serde mapping, one `ExportMetricsServiceRequest` per line.
//! Sessions still open when the guard drops end with the process, on the builder's
//! session-duration buckets.
#![cfg(all(feature = "enable", feature = "metrics", feature = "schema-check"))]

use mcp_trace::{Exporter, MetricsExporter, traced_tool};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::metric;
use std::collections::BTreeMap;

#[traced_tool]
fn numbered(i: u32) -> u32 {
    i
}

const SESSION_BOUNDS: [f64; 5] = [1.0, 60.0, 600.0, 3600.0, 14400.0];

#[test]
fn dropping_the_guard_writes_every_call_to_the_metrics_file() {
    let dir = std::env::temp_dir().join(format!("mcp-trace-metrics-{}", std::process::id()));
    let spans = dir.join("spans.jsonl");
    let guard = mcp_trace::Builder::new()
        .service_name("metrics-file-test")
        .exporter(Exporter::File(Some(spans.clone())))
        .metrics_exporter(MetricsExporter::File(None))
        .session_duration_boundaries(SESSION_BOUNDS)
        .install()
        .expect("file exporters install");
    // The default metrics file sits beside the span file.
    let metrics = dir.join("spans.metrics.jsonl");
    assert_eq!(guard.metrics_file_path(), Some(metrics.as_path()));
    assert_eq!(mcp_trace::default_metrics_path(&spans), metrics);
    const CALLS: u32 = 250;
    for i in 0..CALLS {
        numbered(i);
    }
    mcp_trace::session::start("ended-session");
    mcp_trace::session::start("open-at-exit");
    mcp_trace::session::end("ended-session");
    drop(guard);

    let text = std::fs::read_to_string(&metrics).expect("metrics file written");
    let mut last_count = None;
    let mut last_sessions = None;
    for line in text.lines() {
        let request: ExportMetricsServiceRequest =
            serde_json::from_str(line).expect("each line is one ExportMetricsServiceRequest");
        for resource in &request.resource_metrics {
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
            assert_eq!(service, ["metrics-file-test"]);
            for scope in &resource.scope_metrics {
                for m in &scope.metrics {
                    assert_eq!(m.unit, "s");
                    let Some(metric::Data::Histogram(histogram)) = &m.data else {
                        panic!("not a histogram: {:?}", m.data);
                    };
                    if m.name == "mcp.server.session.duration" {
                        let [point] = &histogram.data_points[..] else {
                            panic!("one series: {:?}", histogram.data_points);
                        };
                        assert!(point.attributes.is_empty(), "no scope, no attributes");
                        assert_eq!(point.explicit_bounds, SESSION_BOUNDS);
                        last_sessions = Some(point.count);
                        continue;
                    }
                    assert_eq!(m.name, "mcp.server.operation.duration");
                    for point in &histogram.data_points {
                        let attrs: BTreeMap<_, _> = point
                            .attributes
                            .iter()
                            .map(|kv| (kv.key.clone(), format!("{:?}", kv.value)))
                            .collect();
                        assert_eq!(
                            attrs.keys().collect::<Vec<_>>(),
                            [
                                "gen_ai.operation.name",
                                "gen_ai.tool.name",
                                "mcp.method.name",
                                "mcp.tool.args.schema_valid"
                            ]
                        );
                        assert_eq!(
                            point.explicit_bounds,
                            [
                                0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
                                120.0, 300.0
                            ]
                        );
                        last_count = Some(point.count);
                    }
                }
            }
        }
    }
    // Cumulative: the last export counts every call.
    assert_eq!(last_count, Some(u64::from(CALLS)));
    // One ended by hand, one by the guard.
    assert_eq!(last_sessions, Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
