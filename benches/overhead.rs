//! The wrapper's cost, side by side in one process: a bare function, the same function
//! traced with no SDK installed, traced into a recording SDK, and a hand-built SDK span
//! carrying the same attributes (the floor any instrumentation pays).
//!
//! `cargo bench --bench overhead`; results and ratios in BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span, SpanKind, Tracer, TracerProvider};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use std::hint::black_box;

fn bare(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

#[mcp_trace::traced_tool]
fn traced(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

/// Accepts and discards: measures instrumentation, not I/O.
#[derive(Debug)]
struct NullExporter;

impl SpanExporter for NullExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        drop(black_box(batch));
        std::future::ready(Ok(()))
    }
}

fn overhead(c: &mut Criterion) {
    let query = "how do I trace an MCP server";
    let filters = vec!["lang:rust".to_owned(), "year:2026".to_owned()];
    let mut group = c.benchmark_group("tool call");

    group.bench_function("bare function", |b| {
        b.iter(|| bare(black_box(query), black_box(Some(5)), black_box(&filters)))
    });
    group.bench_function("traced, no SDK installed", |b| {
        b.iter(|| traced(black_box(query), black_box(Some(5)), black_box(&filters)))
    });

    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(NullExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    group.bench_function("traced, recording", |b| {
        b.iter(|| traced(black_box(query), black_box(Some(5)), black_box(&filters)))
    });

    let tracer = provider.tracer("bench");
    group.bench_function("hand-built SDK span, same attributes", |b| {
        b.iter(|| {
            let mut span = tracer
                .span_builder("tools/call traced")
                .with_kind(SpanKind::Server)
                .with_attributes([
                    KeyValue::new("mcp.method.name", "tools/call"),
                    KeyValue::new("gen_ai.operation.name", "execute_tool"),
                    KeyValue::new("gen_ai.tool.name", "traced"),
                    KeyValue::new("mcp.tool.name", "traced"),
                ])
                .start(&tracer);
            span.set_attributes([
                KeyValue::new("mcp.tool.args.query.length", 28),
                KeyValue::new("mcp.tool.args.limit.present", true),
                KeyValue::new("mcp.tool.args.limit", 5),
                KeyValue::new("mcp.tool.args.filters.count", 2),
                KeyValue::new("mcp.tool.args.hash", "0123456789abcdef"),
                KeyValue::new("mcp.tool.args.schema_valid", true),
            ]);
            let result = bare(black_box(query), black_box(Some(5)), black_box(&filters));
            span.end();
            result
        })
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
