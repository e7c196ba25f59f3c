//! Runs one case of the notification benchmark (13) N times, for instruction counts
//! under callgrind: `notification_cost <case> <n>`, case one of `bare` (the bare SDK
//! span), `bare-in-context` (kept in a context), `bare-entered` (also made current
//! once, as a handler's span is), `observed`
//! (the observer's span for the same notification, as a proxy makes it) and
//! `observed-handled` (with a handler run inside it, as the rmcp adapter makes it).

#[path = "../benches/common/mod.rs"]
mod common;

use opentelemetry::trace::{Span, TraceContextExt};
use opentelemetry_sdk::trace::Sampler;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("a case");
    let n: usize = args.next().expect("a count").parse().expect("a number");
    let provider = common::install(Sampler::AlwaysOn);
    common::metrics_off();
    let params = common::progress_params();
    let tracer = opentelemetry::global::tracer("bench");
    for _ in 0..n {
        match case.as_str() {
            "bare" => common::bare_notification_span(&tracer).end(),
            "bare-in-context" => {
                let cx = opentelemetry::Context::current_with_span(common::bare_notification_span(
                    &tracer,
                ));
                cx.span().end();
            }
            "bare-entered" => common::bare_notification_span_entered(&tracer, || {
                std::hint::black_box(());
            }),
            "observed" => common::observe_progress(&params),
            "observed-handled" => common::observe_progress_handled(&params),
            other => panic!("unknown case {other}"),
        }
    }
    let _ = provider.shutdown();
}
