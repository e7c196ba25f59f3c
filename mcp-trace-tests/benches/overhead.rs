//! The wrapper's cost, side by side in one process, one criterion group per comparison so
//! ratios come from one run: the same 3-argument handler bare, traced with no SDK,
//! traced but sampled out, a hand-built SDK span with the same attributes (the floor any
//! instrumentation pays), the hand-written recipe a user would write instead, and the
//! traced handler recording (typed parameters, raw arguments from the request scope, an
//! explicit schema file that must be validated). Then duplicate-read tracking (hits and
//! misses, one and two threads) and the argument hash's throughput against plain SHA-256.
//!
//! `cargo bench -p mcp-trace-tests --bench overhead`; results and ratios in BENCHMARKS.md.

mod common;

use common::{
    QUERY, bare, canonical_arguments, filters, floor, floor_current, floor_written,
    hand_built_current, hand_built_span, install as provider, recipe, recipe_validator, traced,
    traced_with_schema_file, written_arguments,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_trace::session::{self, ReadTrackerLimits};
use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::Sampler;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[mcp_trace::traced_resource(uri = "docs://{page}")]
fn read(#[session] session: &str, page: u32) -> usize {
    session.len() + page as usize
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
    let global = opentelemetry::global::tracer("bench");
    group.bench_function("4f global-tracer span made current, sampled out", |b| {
        b.iter(|| hand_built_current(&global, &filters))
    });

    let provider = provider(Sampler::AlwaysOn);
    let tracer = provider.tracer("bench");
    group.bench_function("5 hand-built SDK span, same attributes", |b| {
        b.iter(|| hand_built_span(&tracer, &filters))
    });
    let global = opentelemetry::global::tracer("bench");
    group.bench_function("5g global-tracer span made current, same attributes", |b| {
        b.iter(|| hand_built_current(&global, &filters))
    });

    let canonical = canonical_arguments(&filters);
    assert_eq!(
        common::hex16(&Sha256::digest(&canonical)),
        mcp_trace::args_hash(&json!({"query": QUERY, "limit": 5, "filters": &filters})),
        "the floor hashes the text the library hashes"
    );
    group.bench_function(
        "F floor: span (5) + SHA-256 of the canonical text + 16 hex",
        |b| b.iter(|| floor(&tracer, &canonical, &filters)),
    );
    group.bench_function(
        "Fg floor through the global tracer, made current (F as 5g)",
        |b| b.iter(|| floor_current(&global, &canonical, &filters)),
    );
    assert_eq!(written_arguments(QUERY, Some(5), &filters), canonical);
    let odd = ["tab\there \"quoted\" é 😀".to_owned()];
    // Printed by CPython 3.11, the same strings in Python's own literals:
    // hashlib.sha256(json.dumps({"query": "back\\slash\n", "filters": ["tab\there
    // \"quoted\" é 😀"]}, sort_keys=True).encode()).hexdigest()[:16]
    let expected = "6a1263516c6d4c9e";
    let written = written_arguments("back\\slash\n", None, &odd);
    assert_eq!(
        common::hex16(&Sha256::digest(written)),
        expected,
        "the written floor writes the text Python hashes"
    );
    assert_eq!(
        mcp_trace::args_hash(&json!({"query": "back\\slash\n", "filters": odd})),
        expected
    );
    group.bench_function(
        "Fw floor with the arguments' text written and their shapes counted (Fg + both)",
        |b| b.iter(|| floor_written(&global, black_box(QUERY), black_box(Some(5)), &filters)),
    );

    let validator = recipe_validator();
    group.bench_function(
        "6 hand-written recipe (span + json! + SHA-256 + is_valid)",
        |b| b.iter(|| recipe(&tracer, &validator, &filters)),
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
            on_two_threads(iters, |session| {
                read(black_box(session), black_box(7));
            })
        })
    });
    group.finish();

    // The tracker alone, without the span around it: reads per second are the
    // element throughput; "2 threads" counts the reads of both threads.
    let mut group = c.benchmark_group("read tracker alone");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hit", |b| {
        b.iter(|| mcp_trace::__private::record_read(black_box("s"), black_box("docs://7")))
    });
    let mut page = 0u32;
    group.bench_function("miss (oldest evicted)", |b| {
        b.iter(|| {
            page = page.wrapping_add(1);
            let uri = format!("docs://{page}");
            mcp_trace::__private::record_read(black_box("s"), black_box(&uri))
        })
    });
    group.throughput(Throughput::Elements(2));
    group.bench_function("hit, 2 threads", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, |session| {
                mcp_trace::__private::record_read(black_box(session), black_box("docs://7"));
            })
        })
    });
    group.finish();
}

/// Runs `read` `iters` times on each of two threads at once, each thread with its own
/// session, and returns the wall time.
fn on_two_threads(iters: u64, read: impl Fn(&str) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2 {
            let read = &read;
            s.spawn(move || {
                let session = format!("bench-thread-{t}");
                for _ in 0..iters {
                    read(&session);
                }
            });
        }
    });
    start.elapsed()
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

/// The operation-duration metric on top of the span path: each case with metrics off
/// (`init` chose no metrics exporter: the span path alone), with no meter provider
/// (the API's no-op), and with the SDK's, recording into a cumulative histogram (the
/// in-memory exporter, never read).
#[cfg(feature = "metrics")]
fn metric_recording(c: &mut Criterion) {
    use opentelemetry::metrics::NoopMeterProvider;
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
    let filters = filters();
    let call = |f: fn(&str, Option<u32>, &[String]) -> usize| {
        f(black_box(QUERY), black_box(Some(5)), black_box(&filters))
    };
    let sdk = SdkMeterProvider::builder()
        .with_periodic_exporter(InMemoryMetricExporter::default())
        .build();
    let mut group = c.benchmark_group("metric recording");
    for (sampler, label) in [
        (Sampler::AlwaysOff, "sampled out"),
        (Sampler::AlwaysOn, "recording"),
    ] {
        provider(sampler);
        common::metrics_off();
        group.bench_function(format!("{label}, metrics off"), |b| b.iter(|| call(traced)));
        opentelemetry::global::set_meter_provider(NoopMeterProvider::new());
        mcp_trace::provider_changed();
        group.bench_function(format!("{label}, no meter provider"), |b| {
            b.iter(|| call(traced))
        });
        opentelemetry::global::set_meter_provider(sdk.clone());
        mcp_trace::provider_changed();
        group.bench_function(format!("{label}, SDK meter provider"), |b| {
            b.iter(|| call(traced))
        });
    }
    // The floor of what the metric adds to a sampled-out call: its two clock reads,
    // and one record through a bound handle of the SDK's histogram.
    group.bench_function("floor: two clock reads", |b| {
        b.iter(|| {
            let start = black_box(std::time::SystemTime::now());
            black_box(std::time::SystemTime::now().duration_since(start))
        })
    });
    let bound = {
        use opentelemetry::metrics::MeterProvider;
        sdk.meter("floor")
            .f64_histogram("floor")
            .build()
            .bind(&[opentelemetry::KeyValue::new(
                "mcp.method.name",
                "tools/call",
            )])
    };
    group.bench_function("floor: one bound SDK record", |b| {
        b.iter(|| bound.record(black_box(0.001)))
    });
    group.finish();
    opentelemetry::global::set_meter_provider(NoopMeterProvider::new());
    mcp_trace::provider_changed();
    let _ = sdk.shutdown();
}

#[cfg(not(feature = "metrics"))]
fn metric_recording(_: &mut Criterion) {}

criterion_group!(
    benches,
    tool_call,
    metric_recording,
    resource_read,
    args_hash
);
criterion_main!(benches);
