//! Runs one case of the overhead benchmark N times, for instruction counts under
//! callgrind (`benches/instructions.sh`), which are repeatable on noisy machines where
//! criterion's times are not.
//!
//! `call_cost <case> <n>`, case one of: bare, no-sdk, sampled-out, hand-built-span,
//! recipe, recording, raw-scope, schema-file.

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span, SpanKind, Tracer, TracerProvider};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};
use sha2::{Digest, Sha256};
use std::hint::black_box;

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

#[derive(Debug)]
struct NullExporter;

impl SpanExporter for NullExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        drop(black_box(batch));
        std::future::ready(Ok(()))
    }
}

/// The hand-built span, started with the four attributes every tool span carries.
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

/// The first 16 hex digits, as a user would write it.
fn hex16(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn install(sampler: Sampler) -> SdkTracerProvider {
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(NullExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    mcp_trace::provider_changed();
    provider
}

const QUERY: &str = "how do I trace an MCP server written in Rust with OpenTelemetry";

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("a case");
    let n: usize = args.next().expect("a count").parse().expect("a number");
    let filters = vec!["lang:rust".to_owned(), "year:2026".to_owned()];
    let call = |f: fn(&str, Option<u32>, &[String]) -> usize| {
        f(black_box(QUERY), black_box(Some(5)), black_box(&filters))
    };
    let mut total = 0;
    let _provider = match case.as_str() {
        "sampled-out" => Some(install(Sampler::AlwaysOff)),
        "bare" | "no-sdk" => None,
        _ => Some(install(Sampler::AlwaysOn)),
    };
    let tracer = _provider.as_ref().map(|p| p.tracer("bench"));
    let raw = serde_json::json!({"query": QUERY, "limit": 5, "filters": &filters});
    let validator = jsonschema::validator_for(&serde_json::json!({
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": ["integer", "null"], "minimum": 0},
            "filters": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["query", "filters"]
    }))
    .expect("schema compiles");
    for _ in 0..n {
        total += match case.as_str() {
            "bare" => call(bare),
            "no-sdk" | "sampled-out" | "recording" => call(traced),
            "schema-file" => call(traced_with_schema_file),
            "raw-scope" => mcp_trace::scope()
                .arguments(raw.clone())
                .run_sync(|| call(traced)),
            "recipe" => {
                // What a user would write by hand: the span, the arguments as JSON,
                // SHA-256 of their text, and a validator compiled once.
                let query = black_box(QUERY);
                let limit = black_box(Some(5u32));
                let arguments =
                    serde_json::json!({"query": query, "limit": limit, "filters": &filters});
                let digest = Sha256::digest(arguments.to_string().as_bytes());
                let valid = validator.is_valid(&arguments);
                let mut span = start_span(tracer.as_ref().expect("installed"));
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
            }
            "hand-built-span" => {
                let mut span = start_span(tracer.as_ref().expect("installed"));
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
            }
            other => panic!("unknown case {other}"),
        };
    }
    // Not stdout's business beyond the one number the caller may check.
    eprintln!("{total}");
}
