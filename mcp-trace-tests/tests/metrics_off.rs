//! With the `metrics` feature off, a traced call records no metric, even with a meter
//! provider installed: the runtime's metric code is not compiled in. (CI runs this with
//! every signal but `metrics`.)
#![cfg(all(feature = "enable", not(feature = "metrics")))]

use mcp_trace::traced_tool;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

#[traced_tool]
fn counted(n: u32) -> u32 {
    n + 1
}

#[test]
fn no_metric_is_recorded() {
    let metrics = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_periodic_exporter(metrics.clone())
        .build();
    opentelemetry::global::set_meter_provider(meters.clone());
    let spans = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    mcp_trace::provider_changed();
    for n in 0..10 {
        counted(n);
    }
    mcp_trace::session::start("metrics-off-session");
    mcp_trace::session::end("metrics-off-session");
    meters.force_flush().expect("flush");
    let ours: Vec<String> = metrics
        .get_finished_metrics()
        .expect("readable")
        .iter()
        .flat_map(|r| r.scope_metrics())
        .filter(|s| s.scope().name() == "mcp-trace")
        .flat_map(|s| s.metrics().map(|m| m.name().to_owned()))
        .collect();
    assert_eq!(ours, Vec::<String>::new());
    // The spans still are.
    assert_eq!(spans.get_finished_spans().unwrap().len(), 10);
}
