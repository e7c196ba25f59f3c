//! Runs one case of the adapter benchmark (12) N times, for instruction counts under
//! callgrind (`benches/instructions.sh`): `adapter_cost <case> <n>`, case `bare` (the
//! rmcp server alone, its traced handler recording) or `traced` (the same server in
//! `mcp_trace::rmcp::TracedServer`), and `bare-typed`, `traced-typed` for the tool whose
//! arguments are also `Serialize`. The difference per call is what the adapter adds.

#[path = "../benches/adapter_server/mod.rs"]
mod adapter_server;
#[path = "../benches/common/mod.rs"]
mod common;

use adapter_server::{Setup, request};
use opentelemetry_sdk::trace::Sampler;
use rmcp::ServerHandler;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("a case");
    let n: usize = args.next().expect("a count").parse().expect("a number");
    let provider = common::install(Sampler::AlwaysOn);
    let setup = Setup::new();
    for _ in 0..n {
        let tool = match case.ends_with("-typed") {
            true => "search_typed",
            false => "search",
        };
        let request = request(tool, common::QUERY);
        let call = match case.trim_end_matches("-typed") {
            "bare" => setup
                .runtime
                .block_on(setup.bare.call_tool(request, setup.context())),
            "traced" => setup
                .runtime
                .block_on(setup.traced.call_tool(request, setup.context())),
            other => panic!("unknown case {other}"),
        };
        std::hint::black_box(call).expect("the call succeeds");
    }
    drop(setup);
    let _ = provider.shutdown();
}
