//! A notification's span (benchmark 13): `notifications/progress` observed as the rmcp
//! adapter observes one (its `_meta` read for a parent, its numbers and token kind, the
//! session's keyed digest, the protocol version and transport), against a bare span
//! with the same name, kind and attributes as constants, through the same global
//! tracer into the same null exporter. Metrics off: the span alone. Target: at most
//! the bare span plus 25 %.
//!
//! `cargo bench -p mcp-trace-tests --features rmcp --bench notification`

mod common;

use common::{install, metrics_off};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Sampler;
use std::hint::black_box;

/// The span a hand-instrumented server would make for the notification: the same
/// name, kind and attributes, as constants.
fn bare_span<T: Tracer>(tracer: &T) -> T::Span {
    tracer
        .span_builder("notifications/progress")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("mcp.method.name", "notifications/progress"),
            KeyValue::new("mcp.session.id", "0123456789abcdef0123456789abcdef"),
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("network.transport", "pipe"),
            KeyValue::new("mcp.progress.value", black_box(3.0)),
            KeyValue::new("mcp.progress.total", black_box(10.0)),
            KeyValue::new("mcp.progress.token_type", "string"),
        ])
        .start(tracer)
}

fn notification(c: &mut Criterion) {
    let provider = install(Sampler::AlwaysOn);
    metrics_off();
    let serde_json::Value::Object(params) = serde_json::json!({
        "progressToken": "report-7", "progress": 3, "total": 10
    }) else {
        unreachable!()
    };
    let tracer = opentelemetry::global::tracer("bench");
    let mut group = c.benchmark_group("one inbound notification");
    group.bench_function("bare SDK span", |b| b.iter(|| bare_span(&tracer).end()));
    // The same, in a context (as a span is kept to be made current around a handler).
    group.bench_function("bare SDK span in a context", |b| {
        b.iter(|| {
            let cx = Context::current_with_span(bare_span(&tracer));
            cx.span().end();
        })
    });
    group.bench_function("observed notification", |b| {
        b.iter(|| {
            mcp_trace::__private::observe_notification(
                "notifications/progress",
                Some(black_box(&params)),
                Some("session-1"),
                Some("2025-11-25"),
            )
        })
    });
    group.finish();
    let _ = provider.shutdown();
}

criterion_group!(benches, notification);
criterion_main!(benches);
