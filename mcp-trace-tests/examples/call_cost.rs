//! Runs one case of the overhead benchmark N times, for instruction counts under
//! callgrind (`benches/instructions.sh`), which are repeatable on noisy machines where
//! criterion's times are not.
//!
//! `call_cost <case> <n>`, case one of: bare, no-sdk, sampled-out,
//! global-span-sampled-out, hand-built-span, global-span, floor (the span and SHA-256 of
//! the canonical text already written), floor-current (the floor through the global
//! tracer, made current), floor-written (that floor with the arguments' text written
//! and their shapes counted), recipe, recording, raw-scope,
//! session-scope (recording inside a request scope with a session: the run of
//! identical calls is counted), schema-file; and with the `metrics` feature,
//! session-sampled-out-metrics (session-scope sampled out, the metric recorded: the
//! hash is taken for the run alone); and with the `metrics` feature, sampled-out-metrics and
//! recording-metrics (the SDK's meter provider installed), sampled-out-metrics-off and
//! recording-metrics-off (`init` chose no metrics).

#[path = "../benches/common/mod.rs"]
mod common;

use common::{
    QUERY, bare, canonical_arguments, filters, floor, floor_current, floor_written,
    hand_built_current, hand_built_span, install, recipe, recipe_validator, traced,
    traced_with_schema_file,
};
use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::Sampler;
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("a case");
    let n: usize = args.next().expect("a count").parse().expect("a number");
    let filters = filters();
    let call = |f: fn(&str, Option<u32>, &[String]) -> usize| {
        f(black_box(QUERY), black_box(Some(5)), black_box(&filters))
    };
    let mut total = 0;
    let provider = match case.as_str() {
        "sampled-out"
        | "global-span-sampled-out"
        | "sampled-out-metrics"
        | "session-sampled-out-metrics"
        | "sampled-out-metrics-off" => Some(install(Sampler::AlwaysOff)),
        "bare" | "no-sdk" => None,
        _ => Some(install(Sampler::AlwaysOn)),
    };
    #[cfg(feature = "metrics")]
    let meters = case.ends_with("-metrics").then(|| {
        let sdk = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_periodic_exporter(opentelemetry_sdk::metrics::InMemoryMetricExporter::default())
            .build();
        opentelemetry::global::set_meter_provider(sdk.clone());
        mcp_trace::provider_changed();
        sdk
    });
    #[cfg(feature = "metrics")]
    if case.ends_with("-metrics-off") {
        common::metrics_off();
    }
    let tracer = provider.as_ref().map(|p| p.tracer("bench"));
    let global = opentelemetry::global::tracer("bench");
    let raw = serde_json::json!({"query": QUERY, "limit": 5, "filters": &filters});
    let validator = recipe_validator();
    let canonical = canonical_arguments(&filters);
    for _ in 0..n {
        total += match case.as_str() {
            "bare" => call(bare),
            "no-sdk"
            | "sampled-out"
            | "recording"
            | "sampled-out-metrics"
            | "recording-metrics"
            | "sampled-out-metrics-off"
            | "recording-metrics-off" => call(traced),
            "schema-file" => call(traced_with_schema_file),
            "raw-scope" => mcp_trace::scope()
                .arguments(raw.clone())
                .run_sync(|| call(traced)),
            "session-scope" | "session-sampled-out-metrics" => mcp_trace::scope()
                .session_id("bench-session")
                .run_sync(|| call(traced)),
            "recipe" => recipe(tracer.as_ref().expect("installed"), &validator, &filters),
            "hand-built-span" => hand_built_span(tracer.as_ref().expect("installed"), &filters),
            "floor" => floor(tracer.as_ref().expect("installed"), &canonical, &filters),
            "floor-current" => floor_current(&global, &canonical, &filters),
            "floor-written" => {
                floor_written(&global, black_box(QUERY), black_box(Some(5)), &filters)
            }
            "global-span" | "global-span-sampled-out" => hand_built_current(&global, &filters),
            other => panic!("unknown case {other}"),
        };
    }
    #[cfg(feature = "metrics")]
    if let Some(sdk) = meters {
        let _ = sdk.shutdown();
    }
    // Not stdout's business beyond the one number the caller may check.
    eprintln!("{total}");
}
