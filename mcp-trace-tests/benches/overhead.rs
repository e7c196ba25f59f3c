//! The wrapper's cost, side by side in one process, one criterion group per comparison so
//! ratios come from one run: the same 3-argument handler bare, traced with no SDK,
//! traced but sampled out, a hand-built SDK span with the same attributes (the floor any
//! instrumentation pays), the hand-written recipe a user would write instead, and the
//! traced handler recording (typed parameters, raw arguments from the request scope, an
//! explicit schema file that must be validated). Then duplicate-read tracking (hits and
//! misses, one and two threads) and the argument hash's throughput against plain SHA-256.
//!
//! `cargo bench -p mcp-trace-tests --bench overhead`; results and ratios in BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_trace::session::{self, ReadTrackerLimits};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span, SpanKind, Tracer, TracerProvider};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn bare(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

#[mcp_trace::traced_tool]
fn traced(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

#[mcp_trace::traced_tool(schema = "benches/schemas/search.json")]
fn traced_with_schema_file(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

#[mcp_trace::traced_resource(uri = "docs://{page}")]
fn read(#[session] session: &str, page: u32) -> usize {
    session.len() + page as usize
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

fn provider(sampler: Sampler) -> SdkTracerProvider {
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(NullExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    mcp_trace::provider_changed();
    provider
}

/// A hand-built server span with the attributes every tool span starts with.
fn start_span(tracer: &opentelemetry_sdk::trace::SdkTracer) -> opentelemetry_sdk::trace::Span {
    tracer
        .span_builder("tools/call traced")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("mcp.method.name", "tools/call"),
            KeyValue::new("gen_ai.operation.name", "execute_tool"),
            KeyValue::new("gen_ai.tool.name", "traced"),
            KeyValue::new("mcp.tool.name", "traced"),
        ])
        .start(tracer)
}

/// About 60 characters, as the handler.
const QUERY: &str = "how do I trace an MCP server written in Rust with OpenTelemetry";

fn filters() -> Vec<String> {
    vec!["lang:rust".to_owned(), "year:2026".to_owned()]
}

fn tool_call(c: &mut Criterion) {
    let filters = filters();
    let call = |f: fn(&str, Option<u32>, &[String]) -> usize| {
        f(black_box(QUERY), black_box(Some(5)), black_box(&filters))
    };
    let mut group = c.benchmark_group("tool call");

    group.bench_function("1 bare function", |b| b.iter(|| call(bare)));
    // No provider installed yet: the global no-op tracer.
    group.bench_function("3 traced, no SDK installed", |b| b.iter(|| call(traced)));

    provider(Sampler::AlwaysOff);
    group.bench_function("4 traced, sampled out", |b| b.iter(|| call(traced)));

    let provider = provider(Sampler::AlwaysOn);
    let tracer = provider.tracer("bench");
    group.bench_function("5 hand-built SDK span, same attributes", |b| {
        b.iter(|| {
            let mut span = start_span(&tracer);
            span.set_attributes([
                KeyValue::new("mcp.tool.args.query.length", 62),
                KeyValue::new("mcp.tool.args.limit.present", true),
                KeyValue::new("mcp.tool.args.limit", 5),
                KeyValue::new("mcp.tool.args.filters.count", 2),
                KeyValue::new("mcp.tool.args.hash", "0123456789abcdef"),
                KeyValue::new("mcp.tool.args.schema_valid", true),
            ]);
            let result = call(bare);
            span.end();
            result
        })
    });

    // What a user would write by hand: the span, the arguments as JSON, SHA-256 of
    // their text, and a validator compiled once.
    let validator = jsonschema::validator_for(&json!({
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": ["integer", "null"], "minimum": 0},
            "filters": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["query", "filters"]
    }))
    .expect("schema compiles");
    group.bench_function(
        "6 hand-written recipe (span + json! + SHA-256 + is_valid)",
        |b| {
            b.iter(|| {
                let query = black_box(QUERY);
                let limit = black_box(Some(5u32));
                let arguments = json!({"query": query, "limit": limit, "filters": &filters});
                let digest = Sha256::digest(arguments.to_string().as_bytes());
                let valid = validator.is_valid(&arguments);
                let mut span = start_span(&tracer);
                span.set_attributes([
                    KeyValue::new("mcp.tool.args.query.length", query.chars().count() as i64),
                    KeyValue::new("mcp.tool.args.limit.present", limit.is_some()),
                    KeyValue::new("mcp.tool.args.limit", i64::from(limit.unwrap_or(0))),
                    KeyValue::new("mcp.tool.args.filters.count", filters.len() as i64),
                    KeyValue::new("mcp.tool.args.hash", hex16(&digest)),
                    KeyValue::new("mcp.tool.args.schema_valid", valid),
                ]);
                let result = bare(query, limit, &filters);
                span.end();
                result
            })
        },
    );

    group.bench_function("7 traced, recording", |b| b.iter(|| call(traced)));

    let raw = json!({"query": QUERY, "limit": 5, "filters": &filters});
    group.bench_function("8 traced, recording, raw arguments in scope", |b| {
        b.iter(|| {
            mcp_trace::scope()
                .arguments(raw.clone())
                .run_sync(|| call(traced))
        })
    });
    group.bench_function("9 traced, recording, schema file validated", |b| {
        b.iter(|| call(traced_with_schema_file))
    });
    group.finish();
}

fn resource_read(c: &mut Criterion) {
    provider(Sampler::AlwaysOn);
    session::set_limits(ReadTrackerLimits {
        max_pairs: 10_000,
        idle: Duration::from_secs(3600),
    });
    let mut group = c.benchmark_group("resource read, duplicate tracking");
    group.bench_function("hit (same page again)", |b| {
        b.iter(|| read(black_box("bench-session"), black_box(7)))
    });
    let mut page = 0u32;
    group.bench_function("miss (a new page, oldest evicted)", |b| {
        b.iter(|| {
            page = page.wrapping_add(1);
            read(black_box("bench-session"), black_box(page))
        })
    });
    group.bench_function("hit, 2 threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..2 {
                    s.spawn(move || {
                        let session = format!("bench-thread-{t}");
                        for _ in 0..iters {
                            read(black_box(&session), black_box(7));
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

/// The first 16 hex digits, as a user would write it.
fn hex16(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// An arguments object whose JSON text is about `bytes` long.
fn arguments_of(bytes: usize) -> Value {
    let item = "x".repeat(90);
    let items = (bytes / 96).max(1);
    json!({"query": "q", "items": vec![item; items]})
}

fn args_hash(c: &mut Criterion) {
    let mut group = c.benchmark_group("args hash");
    for (label, bytes) in [("100 B", 100), ("10 KB", 10_000), ("1 MB", 1_000_000)] {
        let value = arguments_of(bytes);
        let text = value.to_string();
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("mcp_trace::args_hash", label),
            &value,
            |b, v| b.iter(|| mcp_trace::args_hash(black_box(v))),
        );
        group.bench_with_input(
            BenchmarkId::new("SHA-256 of the text", label),
            &text,
            |b, t| b.iter(|| Sha256::digest(black_box(t.as_bytes()))),
        );
    }
    group.finish();
}

criterion_group!(benches, tool_call, resource_read, args_hash);
criterion_main!(benches);
