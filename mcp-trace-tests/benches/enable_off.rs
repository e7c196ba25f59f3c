//! Benchmark 2: a handler annotated with `#[traced_tool]` in a build with the `enable`
//! feature off, against the same function bare, in one process. Meaningful only when
//! built without `enable`:
//!
//! `cargo bench -p mcp-trace-tests --no-default-features --bench enable_off`
//!
//! Built with `enable` on (as `cargo test --workspace --all-features` builds every
//! target), it still runs, measuring no SDK installed instead, and says so.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bare(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

#[mcp_trace::traced_tool]
fn annotated(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

const QUERY: &str = "how do I trace an MCP server written in Rust with OpenTelemetry";

fn enable_off(c: &mut Criterion) {
    if cfg!(feature = "enable") {
        eprintln!(
            "enable_off: built WITH the `enable` feature, so this measures no SDK installed; \
             run it with --no-default-features"
        );
    }
    let filters = vec!["lang:rust".to_owned(), "year:2026".to_owned()];
    let call = |f: fn(&str, Option<u32>, &[String]) -> usize| {
        f(black_box(QUERY), black_box(Some(5)), black_box(&filters))
    };
    let mut group = c.benchmark_group("enable off");
    group.bench_function("1 bare function", |b| b.iter(|| call(bare)));
    group.bench_function("2 annotated, feature enable off", |b| {
        b.iter(|| call(annotated))
    });
    group.finish();
}

criterion_group!(benches, enable_off);
criterion_main!(benches);
