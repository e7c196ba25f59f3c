//! Runs one case of the adapter benchmark (12) N times, for instruction counts under
//! callgrind (`benches/instructions.sh`): `adapter_cost <case> <n>`, case `bare` (the
//! rmcp server alone, its traced handler recording) or `traced` (the same server in
//! `mcp_trace::rmcp::TracedServer`), and `bare-typed`, `traced-typed` for the tool whose
//! arguments are also `Serialize`. The difference per call is what the adapter adds.

#[path = "../benches/adapter_server/mod.rs"]
mod adapter_server;
#[path = "../benches/common/mod.rs"]
mod common;

use adapter_server::{Docs, context, idle_peer, request};
use opentelemetry_sdk::trace::Sampler;
use rmcp::ServerHandler;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("a case");
    let n: usize = args.next().expect("a count").parse().expect("a number");
    let provider = common::install(Sampler::AlwaysOn);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (running, peer, _client_io) = idle_peer(&runtime);
    let bare = Docs::new();
    let traced = mcp_trace::rmcp::TracedServer::new(Docs::new());
    for _ in 0..n {
        let tool = match case.ends_with("-typed") {
            true => "search_typed",
            false => "search",
        };
        let request = request(tool, common::QUERY);
        let result = match case.trim_end_matches("-typed") {
            "bare" => runtime.block_on(bare.call_tool(request, context(&peer))),
            "traced" => runtime.block_on(traced.call_tool(request, context(&peer))),
            other => panic!("unknown case {other}"),
        };
        std::hint::black_box(result).expect("the call succeeds");
    }
    drop(running);
    let _ = provider.shutdown();
}
