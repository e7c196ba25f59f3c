//! A notification's span (benchmark 13): `notifications/progress` read from its JSON as
//! the observer reads one (its `_meta` read for a parent, its numbers and token kind, the
//! session's keyed digest, the protocol version and transport), against a bare span
//! with the same name, kind and attributes as constants, through the same global
//! tracer into the same null exporter. Metrics off: the span alone. Two pairs: nothing
//! run inside the span (the proxy's case) against the bare span, and a handler run
//! inside it (the rmcp adapter's) against the bare span kept in a context and entered.
//! Target: at most the bare span plus 25 %.
//!
//! `cargo bench -p mcp-trace-tests --features rmcp,metrics --bench notification`

mod common;

use common::{bare_notification_span, bare_notification_span_entered, install, metrics_off};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::Span;
use opentelemetry_sdk::trace::Sampler;
use std::hint::black_box;

fn notification(c: &mut Criterion) {
    let provider = install(Sampler::AlwaysOn);
    metrics_off();
    let params = common::progress_params();
    let tracer = opentelemetry::global::tracer("bench");
    let mut group = c.benchmark_group("one inbound notification");
    // Nothing runs inside the span: a proxy relaying the notification.
    group.bench_function("bare SDK span", |b| {
        b.iter(|| bare_notification_span(&tracer).end())
    });
    group.bench_function("observed, nothing inside (proxy)", |b| {
        b.iter(|| common::observe_progress(&params))
    });
    // A handler runs inside the span: the span is kept in a context and made current.
    group.bench_function("bare SDK span, entered", |b| {
        b.iter(|| bare_notification_span_entered(&tracer, || black_box(())))
    });
    group.bench_function("observed, handler inside (rmcp adapter)", |b| {
        b.iter(|| common::observe_progress_handled(&params))
    });
    group.finish();
    let _ = provider.shutdown();
}

criterion_group!(benches, notification);
criterion_main!(benches);
