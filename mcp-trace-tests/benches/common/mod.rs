//! What the overhead cases share between the criterion benches and the
//! instruction-count example (`examples/call_cost.rs`): the handler bare and traced,
//! a null exporter, the hand-built span and the hand-written recipe.

#![allow(dead_code)] // each bench uses its part

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanExporter};
use sha2::{Digest, Sha256};
use std::hint::black_box;

/// The benchmarked handler, with nothing around it.
pub fn bare(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

#[mcp_trace::traced_tool]
pub fn traced(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

#[mcp_trace::traced_tool(schema = "benches/schemas/search.json")]
pub fn traced_with_schema_file(query: &str, limit: Option<u32>, filters: &[String]) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len()
}

/// About 60 characters, as the issue's handler.
pub const QUERY: &str = "how do I trace an MCP server written in Rust with OpenTelemetry";

pub fn filters() -> Vec<String> {
    vec!["lang:rust".to_owned(), "year:2026".to_owned()]
}

/// Accepts and discards: measures instrumentation, not I/O.
#[derive(Debug)]
pub struct NullExporter;

impl SpanExporter for NullExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        drop(black_box(batch));
        std::future::ready(Ok(()))
    }
}

/// Installs a global provider exporting to [`NullExporter`], and says so to the cache.
pub fn install(sampler: Sampler) -> SdkTracerProvider {
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(NullExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    mcp_trace::provider_changed();
    provider
}

/// Metrics off, as `init` leaves them when told to export none: the tracer provider
/// already installed is kept, and calls skip the metric until the next
/// `provider_changed`.
#[cfg(feature = "metrics")]
#[allow(dead_code)] // Not every bench target turns metrics off.
pub fn metrics_off() {
    let guard = quiet_builder().install().expect("nothing to set up");
    drop(guard);
}

/// A hand-built server span with the attributes every tool span starts with, from the
/// SDK's tracer (case 5) or the global one (5g).
pub fn start_span<T: Tracer>(tracer: &T) -> T::Span {
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

/// The argument attributes of a recorded call, as constants.
fn constant_arguments() -> [KeyValue; 6] {
    [
        KeyValue::new("mcp.tool.args.query.length", 62),
        KeyValue::new("mcp.tool.args.limit.present", true),
        KeyValue::new("mcp.tool.args.limit", 5),
        KeyValue::new("mcp.tool.args.filters.count", 2),
        KeyValue::new("mcp.tool.args.hash", "0123456789abcdef"),
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]
}

/// Case 5: the span with the same attributes as constants, nothing computed.
pub fn hand_built_span(tracer: &SdkTracer, filters: &[String]) -> usize {
    let mut span = start_span(tracer);
    span.set_attributes(constant_arguments());
    let result = bare(black_box(QUERY), black_box(Some(5)), black_box(filters));
    span.end();
    result
}

/// The validator a user would compile once for the recipe.
pub fn recipe_validator() -> jsonschema::Validator {
    jsonschema::validator_for(&serde_json::json!({
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": ["integer", "null"], "minimum": 0},
            "filters": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["query", "filters"]
    }))
    .expect("schema compiles")
}

/// The arguments' canonical text, as the hash reads it (Python's
/// `json.dumps(arguments, sort_keys=True)`): what the floor case (F) hashes, written
/// once beforehand.
pub fn canonical_arguments(filters: &[String]) -> Vec<u8> {
    let filters: Vec<String> = filters.iter().map(|f| format!("\"{f}\"")).collect();
    format!(
        r#"{{"filters": [{}], "limit": 5, "query": "{QUERY}"}}"#,
        filters.join(", ")
    )
    .into_bytes()
}

/// Case F, the floor of a recording call (issue 22): the hand-built span (5) with its
/// attributes, and SHA-256 over the canonical argument text already written, as its
/// first 16 hex digits. What no implementation of the signals can skip.
pub fn floor(tracer: &SdkTracer, canonical: &[u8], filters: &[String]) -> usize {
    let hash = floor_hash(canonical);
    let mut span = start_span(tracer);
    let mut attributes = constant_arguments();
    attributes[4] = KeyValue::new("mcp.tool.args.hash", hash);
    span.set_attributes(attributes);
    let result = bare(black_box(QUERY), black_box(Some(5)), black_box(filters));
    span.end();
    result
}

/// The floor's hash: SHA-256 of the canonical text, its first 16 hex digits.
fn floor_hash(canonical: &[u8]) -> String {
    let digest = Sha256::digest(black_box(canonical));
    let mut hex = [0u8; 16];
    for (pair, byte) in hex.chunks_exact_mut(2).zip(&digest[..8]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    String::from_utf8_lossy(&hex).into_owned()
}

/// Case Fg, the floor of a library that builds its span as the OpenTelemetry API asks
/// (through the global tracer) and makes it current while the handler runs, so that
/// the handler's own spans are its children: [`floor`] as [`hand_built_current`] builds
/// its span. What [`floor`] leaves out, and `#[traced_tool]` cannot.
pub fn floor_current(tracer: &BoxedTracer, canonical: &[u8], filters: &[String]) -> usize {
    let hash = floor_hash(canonical);
    let mut span = start_span(tracer);
    if span.is_recording() {
        let mut attributes = constant_arguments();
        attributes[4] = KeyValue::new("mcp.tool.args.hash", hash);
        span.set_attributes(attributes);
    }
    current_while(span, || {
        bare(black_box(QUERY), black_box(Some(5)), black_box(filters))
    })
}

/// Case Fw, the floor with every argument signal computed (issue 22): [`floor_current`]
/// with the canonical text written here from the typed arguments, as no implementation
/// can have it already written, and the shapes counted from them; each written the
/// shortest way for exactly these three parameter types. What a hand-specialised
/// implementation of the same signals does per call: what is left above it is the cost
/// of doing the same for any handler.
pub fn floor_written(
    tracer: &BoxedTracer,
    query: &str,
    limit: Option<u32>,
    filters: &[String],
) -> usize {
    let hash = floor_hash(&written_arguments(query, limit, filters));
    let mut span = start_span(tracer);
    if span.is_recording() {
        let mut attributes = Vec::with_capacity(6);
        attributes.extend([
            KeyValue::new("mcp.tool.args.query.length", query.chars().count() as i64),
            KeyValue::new("mcp.tool.args.limit.present", limit.is_some()),
        ]);
        if let Some(limit) = limit {
            attributes.push(KeyValue::new("mcp.tool.args.limit", i64::from(limit)));
        }
        attributes.extend([
            KeyValue::new("mcp.tool.args.filters.count", filters.len() as i64),
            KeyValue::new("mcp.tool.args.hash", hash),
            KeyValue::new("mcp.tool.args.schema_valid", true),
        ]);
        span.set_attributes(attributes);
    }
    current_while(span, || bare(query, limit, filters))
}

/// The canonical text of [`floor_written`]'s arguments, written for these three
/// parameters alone: members in name order, an absent `limit` left out.
pub fn written_arguments(query: &str, limit: Option<u32>, filters: &[String]) -> Vec<u8> {
    let mut text = Vec::with_capacity(160);
    text.extend_from_slice(b"{\"filters\": [");
    for (i, filter) in filters.iter().enumerate() {
        if i > 0 {
            text.extend_from_slice(b", ");
        }
        written_str(filter, &mut text);
    }
    text.push(b']');
    if let Some(limit) = limit {
        text.extend_from_slice(b", \"limit\": ");
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut rest = limit;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        text.extend_from_slice(&digits[at..]);
    }
    text.extend_from_slice(b", \"query\": ");
    written_str(query, &mut text);
    text.push(b'}');
    text
}

/// A JSON string as Python's `ensure_ascii` writes it: copied whole when every byte is
/// printable ASCII other than `"` and `\` (the one check no writer can skip), else
/// escaped character by character.
fn written_str(s: &str, text: &mut Vec<u8>) {
    text.push(b'"');
    // Branch-free, so that the compiler checks many bytes at once.
    let escaped = s.bytes().fold(false, |escaped, b| {
        escaped | !(0x20..0x7f).contains(&b) | (b == b'"') | (b == b'\\')
    });
    if !escaped {
        text.extend_from_slice(s.as_bytes());
    } else {
        for c in s.chars() {
            match c {
                '"' => text.extend_from_slice(b"\\\""),
                '\\' => text.extend_from_slice(b"\\\\"),
                '\n' => text.extend_from_slice(b"\\n"),
                '\r' => text.extend_from_slice(b"\\r"),
                '\t' => text.extend_from_slice(b"\\t"),
                '\u{8}' => text.extend_from_slice(b"\\b"),
                '\u{c}' => text.extend_from_slice(b"\\f"),
                ' '..='~' => text.push(c as u8),
                _ => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        text.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                    }
                }
            }
        }
    }
    text.push(b'"');
}

/// Case 6, what a user would write by hand: the span, the arguments as JSON, SHA-256
/// of their text, and the validator's `is_valid`.
pub fn recipe(tracer: &SdkTracer, validator: &jsonschema::Validator, filters: &[String]) -> usize {
    let query = black_box(QUERY);
    let limit = black_box(Some(5u32));
    let arguments = serde_json::json!({"query": query, "limit": limit, "filters": filters});
    let digest = Sha256::digest(arguments.to_string().as_bytes());
    let valid = validator.is_valid(&arguments);
    let mut span = start_span(tracer);
    span.set_attributes([
        KeyValue::new("mcp.tool.args.query.length", query.chars().count() as i64),
        KeyValue::new("mcp.tool.args.limit.present", limit.is_some()),
        KeyValue::new("mcp.tool.args.limit", i64::from(limit.unwrap_or(0))),
        KeyValue::new("mcp.tool.args.filters.count", filters.len() as i64),
        KeyValue::new("mcp.tool.args.hash", hex16(&digest)),
        KeyValue::new("mcp.tool.args.schema_valid", valid),
    ]);
    let result = bare(query, limit, filters);
    span.end();
    result
}

/// Cases 4f and 5g: what any library pays that builds its spans through the global
/// tracer provider, as the OpenTelemetry API asks of libraries, and makes the span
/// current while the handler runs, so that the handler's own spans are its children:
/// the boxed global tracer, a boxed span, and the context attached and detached. Same
/// attributes as [`hand_built_span`], nothing computed.
pub fn hand_built_current(tracer: &BoxedTracer, filters: &[String]) -> usize {
    let mut span = start_span(tracer);
    if span.is_recording() {
        span.set_attributes(constant_arguments());
    }
    current_while(span, || {
        bare(black_box(QUERY), black_box(Some(5)), black_box(filters))
    })
}

/// The first 16 hex digits, as a user would write it.
pub fn hex16(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A builder that exports nothing: no spans, no metrics, no logs.
#[cfg(feature = "metrics")]
#[allow(dead_code)]
fn quiet_builder() -> mcp_trace::Builder {
    let builder = mcp_trace::Builder::new()
        .exporter(mcp_trace::Exporter::None)
        .metrics_exporter(mcp_trace::MetricsExporter::None);
    #[cfg(feature = "logs")]
    let builder = builder.logs_exporter(mcp_trace::LogsExporter::None);
    builder
}

/// The span a hand-instrumented server would make for an inbound
/// `notifications/progress` (benchmark 13): the observer's name, kind and attributes,
/// as constants.
pub fn bare_notification_span<T: Tracer>(tracer: &T) -> T::Span {
    tracer
        .span_builder("notifications/progress")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("mcp.method.name", "notifications/progress"),
            KeyValue::new("mcp.session.id", "0123456789abcdef0123456789abcdef"),
            KeyValue::new("mcp.protocol.version", "2025-11-25"),
            KeyValue::new("network.transport", "pipe"),
            KeyValue::new("mcp.progress.value", black_box(3.0)),
            KeyValue::new("mcp.progress.total", black_box(10.0)),
            KeyValue::new("mcp.progress.token_type", "string"),
        ])
        .start(tracer)
}

/// That span kept in a context and entered once, as a hand-instrumented server keeps
/// a handler's span current while it runs, then ended.
pub fn bare_notification_span_entered<T>(tracer: &T, handle: impl FnOnce())
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    current_while(bare_notification_span(tracer), handle)
}

/// Runs `run` with `span` current (kept in a context and entered once, as a library
/// keeps a handler's span current while it runs), then ends the span.
#[inline(always)]
pub fn current_while<S, R>(span: S, run: impl FnOnce() -> R) -> R
where
    S: Span + Send + Sync + 'static,
{
    let cx = Context::current_with_span(span);
    let result = {
        let _current = cx.clone().attach();
        run()
    };
    cx.span().end();
    result
}

/// The `params` of the progress notification benchmark 13 observes.
pub fn progress_params() -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(params) = serde_json::json!({
        "progressToken": "report-7", "progress": 3, "total": 10
    }) else {
        unreachable!("an object")
    };
    params
}

/// The observer's span for that notification, as a proxy makes one: started and
/// ended, nothing run inside it.
#[cfg(feature = "rmcp")]
pub fn observe_progress(params: &serde_json::Map<String, serde_json::Value>) {
    mcp_trace::__private::observe_notification(
        "notifications/progress",
        Some(black_box(params)),
        Some("session-1"),
        Some("2025-11-25"),
    )
}

/// The same with a handler run inside the span, as the rmcp adapter makes one.
#[cfg(feature = "rmcp")]
pub fn observe_progress_handled(params: &serde_json::Map<String, serde_json::Value>) {
    mcp_trace::__private::observe_notification_handled(
        "notifications/progress",
        Some(black_box(params)),
        Some("session-1"),
        Some("2025-11-25"),
        || {
            black_box(());
        },
    )
}
