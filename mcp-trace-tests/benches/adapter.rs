//! The rmcp adapter's own cost (benchmark 12): one `tools/call` through rmcp's tool
//! router, into the same traced handler, called in process with a real
//! `RequestContext` and no transport: the bare `ServerHandler` against the same server
//! wrapped in `mcp_trace::rmcp::TracedServer`. Both record into the SDK with a null
//! exporter, so the difference is what the adapter adds: the request scope, the
//! arguments as the client sent them, and the handler's shapes, hash and verdict taken
//! from them. Twice: for arguments that are only `Deserialize` (the handler alone
//! records no argument signal) and for `Serialize` ones (it records them from its
//! typed values: what the adapter adds is then beyond the handler's own).
//!
//! `cargo bench -p mcp-trace-tests --features rmcp --bench adapter`

mod adapter_server;
mod common;

use adapter_server::{Setup, request};
use common::{QUERY, install};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry_sdk::trace::Sampler;
use rmcp::ServerHandler;

fn adapter(c: &mut Criterion) {
    let provider = install(Sampler::AlwaysOn);
    let setup = Setup::new();
    let runtime = &setup.runtime;
    let mut group = c.benchmark_group("rmcp adapter, one tools/call");
    for (tool, label) in [("search", ""), ("search_typed", ", Serialize arguments")] {
        group.bench_function(format!("bare ServerHandler{label}"), |b| {
            b.iter(|| runtime.block_on(setup.bare.call_tool(request(tool, QUERY), setup.context())))
        });
        group.bench_function(format!("TracedServer{label}"), |b| {
            b.iter(|| {
                runtime.block_on(
                    setup
                        .traced
                        .call_tool(request(tool, QUERY), setup.context()),
                )
            })
        });
    }
    group.finish();
    drop(setup);
    let _ = provider.shutdown();
}

criterion_group!(benches, adapter);
criterion_main!(benches);
