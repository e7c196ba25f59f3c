//! `#[traced_tool]` behaviour against the SDK's in-memory exporter: every attribute of
//! DESIGN §4, asserted exactly.
#![cfg(all(
    feature = "enable",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]

mod common;

use common::{attrs, capture, capture_async, expect, hash, only, tool_base};
use mcp_trace::traced_tool;
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, Status};
use serde_json::json;
use std::sync::Arc;

#[derive(Debug)]
pub struct SearchError;

/// Search documents by query string.
#[traced_tool]
async fn search_documents(
    query: String,
    limit: Option<u32>,
    filters: Vec<String>,
) -> Result<Vec<String>, SearchError> {
    if query.is_empty() {
        return Err(SearchError);
    }
    let n = limit.unwrap_or(10) as usize;
    Ok(filters.into_iter().take(n).collect())
}

#[tokio::test]
async fn async_tool_records_every_shape_and_the_result() {
    let (result, spans) = capture_async(search_documents(
        "héllo😀".into(),
        Some(1),
        vec!["a".into(), "b".into()],
    ))
    .await;
    assert_eq!(result.unwrap(), ["a"]);
    let span = only(spans);
    assert_eq!(span.name, "tools/call search_documents");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.status, Status::Unset);
    let mut expected = tool_base("search_documents");
    expected.extend([
        KeyValue::new("mcp.tool.args.query.length", 6),
        KeyValue::new("mcp.tool.args.limit.present", true),
        KeyValue::new("mcp.tool.args.limit", 1),
        KeyValue::new("mcp.tool.args.filters.count", 2),
        hash(json!({"query": "héllo😀", "limit": 1, "filters": ["a", "b"]})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
        KeyValue::new("mcp.tool.result.count", 1),
    ]);
    assert_eq!(attrs(&span), expect(expected));
}

#[tokio::test]
async fn absent_option_and_rust_error() {
    let (result, spans) = capture_async(search_documents(String::new(), None, vec![])).await;
    assert!(result.is_err());
    let span = only(spans);
    assert_eq!(span.status, Status::error("SearchError"));
    let mut expected = tool_base("search_documents");
    expected.extend([
        KeyValue::new("mcp.tool.args.query.length", 0),
        KeyValue::new("mcp.tool.args.limit.present", false),
        KeyValue::new("mcp.tool.args.filters.count", 0),
        hash(json!({"query": "", "filters": []})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
        KeyValue::new("error.type", "SearchError"),
    ]);
    assert_eq!(attrs(&span), expect(expected));
}

pub struct Pool;

#[derive(Debug)]
pub struct QueryError;

#[traced_tool(
    name = "run_query",
    schema = "tests/schemas/run_query.json",
    skip(pool)
)]
fn run_query(pool: &Pool, sql: &str) -> Result<String, QueryError> {
    let _ = pool;
    if sql.starts_with("SELECT") {
        Ok("ok".to_owned())
    } else {
        Err(QueryError)
    }
}

#[test]
fn sync_tool_with_schema_file_reports_masked_violations() {
    // The schema limits `sql` to 12 characters and a SELECT prefix.
    let sentinel = "DROP TABLE SENTINEL_7f3a";
    let (result, spans) = capture(|| run_query(&Pool, sentinel));
    assert!(result.is_err());
    let span = only(spans);
    assert_eq!(span.name, "tools/call run_query");
    let mut expected = tool_base("run_query");
    expected.extend([
        KeyValue::new("mcp.tool.args.sql.length", 24),
        hash(json!({"sql": sentinel})),
        KeyValue::new("mcp.tool.args.schema_valid", false),
        KeyValue::new("mcp.tool.args.schema_error_path", "/sql"),
        KeyValue::new(
            "mcp.tool.args.schema_error_message",
            "value is longer than 12 characters",
        ),
        KeyValue::new("mcp.tool.args.schema_error_count", 2),
        KeyValue::new("error.type", "QueryError"),
    ]);
    assert_eq!(attrs(&span), expect(expected));
    let everything = format!("{span:?}");
    assert!(
        !everything.contains("SENTINEL"),
        "argument value leaked: {everything}"
    );
}

#[test]
fn sync_tool_success_counts_result_length() {
    let (result, spans) = capture(|| run_query(&Pool, "SELECT 1"));
    assert_eq!(result.unwrap(), "ok");
    let attributes = attrs(&only(spans));
    assert_eq!(attributes["mcp.tool.args.schema_valid"], true.into());
    assert_eq!(attributes["mcp.tool.result.length"], 2.into());
    assert!(!attributes.contains_key("mcp.tool.args.pool.count"));
}

pub struct Counter {
    total: i64,
}

impl Counter {
    #[traced_tool]
    fn peek(&self, scale: f64) -> f64 {
        self.total as f64 * scale
    }

    #[traced_tool]
    fn bump(&mut self, by: i64, dry_run: bool) -> i64 {
        if !dry_run {
            self.total += by;
        }
        self.total
    }

    #[traced_tool(name = "shared_total")]
    async fn shared(self: Arc<Self>, _unused: u8) -> i64 {
        self.total
    }
}

#[tokio::test]
async fn methods_with_every_receiver() {
    let mut counter = Counter { total: 2 };
    let (value, spans) = capture(|| counter.peek(1.5));
    assert_eq!(value, 3.0);
    let mut expected = tool_base("peek");
    expected.extend([
        KeyValue::new("mcp.tool.args.scale", 1.5),
        hash(json!({"scale": 1.5})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));

    let (value, spans) = capture(|| counter.bump(-5, false));
    assert_eq!(value, -3);
    let mut expected = tool_base("bump");
    expected.extend([
        KeyValue::new("mcp.tool.args.by", -5),
        KeyValue::new("mcp.tool.args.dry_run", false),
        hash(json!({"by": -5, "dry_run": false})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));

    let (value, spans) = capture_async(Arc::new(counter).shared(7)).await;
    assert_eq!(value, -3);
    let span = only(spans);
    assert_eq!(span.name, "tools/call shared_total");
    assert_eq!(attrs(&span)["mcp.tool.args._unused"], 7.into());
}

#[traced_tool]
fn explode(depth: u8) -> u8 {
    if depth > 0 {
        panic!("boom");
    }
    depth
}

#[test]
fn sync_panic_ends_the_span_and_keeps_unwinding() {
    let (caught, spans) = capture(|| std::panic::catch_unwind(|| explode(1)));
    assert!(caught.is_err(), "the panic must reach the caller");
    let span = only(spans);
    assert_eq!(span.status, Status::error("panic"));
    assert_eq!(attrs(&span)["error.type"], "panic".into());
}

#[traced_tool]
async fn explode_later(after_ms: u64) -> u64 {
    tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
    panic!("late boom");
}

#[test]
fn async_panic_ends_the_span_once() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (caught, spans) = capture(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(explode_later(1));
        }))
    });
    assert!(caught.is_err());
    let span = only(spans);
    assert_eq!(attrs(&span)["error.type"], "panic".into());
    assert!(!attrs(&span).contains_key("mcp.call.cancelled"));
}

#[traced_tool]
async fn slow(ms: u64) -> u64 {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    ms
}

#[tokio::test]
async fn cancelled_future_still_ends_its_span() {
    let timeout = std::time::Duration::from_millis(5);
    let (result, spans) = capture_async(tokio::time::timeout(timeout, slow(60_000))).await;
    assert!(result.is_err(), "timed out");
    let span = only(spans);
    assert_eq!(span.status, Status::Unset);
    let attributes = attrs(&span);
    assert_eq!(attributes["mcp.call.cancelled"], true.into());
    assert!(!attributes.contains_key("error.type"));
}

#[traced_tool]
async fn parent_of_nested(n: u8) -> u8 {
    use opentelemetry::trace::{Tracer, TracerProvider};
    tokio::task::yield_now().await;
    let tracer = opentelemetry::global::tracer_provider().tracer("nested");
    tracer.in_span("inner-work", |_| n)
}

#[tokio::test]
async fn handler_span_is_current_on_every_poll() {
    let (_, spans) = capture_async(parent_of_nested(1)).await;
    assert_eq!(spans.len(), 2);
    let inner = spans.iter().find(|s| s.name == "inner-work").unwrap();
    let outer = spans
        .iter()
        .find(|s| s.name == "tools/call parent_of_nested")
        .unwrap();
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// What to look for.
    pub query: String,
    pub limit: Option<u32>,
    pub tags: Vec<String>,
}

#[traced_tool]
async fn search_args(#[args] args: SearchArgs, verbose: bool) -> usize {
    args.query.len() + usize::from(verbose)
}

#[tokio::test]
async fn args_struct_is_flattened() {
    let args = SearchArgs {
        query: "rust".into(),
        limit: None,
        tags: vec!["x".into()],
    };
    let (_, spans) = capture_async(search_args(args, true)).await;
    let mut expected = tool_base("search_args");
    expected.extend([
        KeyValue::new("mcp.tool.args.verbose", true),
        KeyValue::new("mcp.tool.args.query.length", 4),
        KeyValue::new("mcp.tool.args.limit.present", false),
        KeyValue::new("mcp.tool.args.tags.count", 1),
        hash(json!({"query": "rust", "tags": ["x"], "verbose": true})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));
}

#[derive(serde::Serialize)]
pub struct Filter {
    pub field: String,
    pub values: Vec<u8>,
}

pub struct NotSerializable;

#[traced_tool]
fn fallbacks(filter: Filter, opaque: NotSerializable, raw: serde_json::Value) -> bool {
    let _ = (filter, opaque, raw);
    true
}

#[test]
fn unclassified_types_use_serde_or_nothing() {
    let filter = Filter {
        field: "SENTINEL".into(),
        values: vec![1, 2],
    };
    let (_, spans) = capture(|| fallbacks(filter, NotSerializable, json!([1, 2, 3])));
    let mut expected = tool_base("fallbacks");
    expected.extend([
        KeyValue::new("mcp.tool.args.filter.count", 2),
        KeyValue::new("mcp.tool.args.raw.count", 3),
        hash(json!({"filter": {"field": "SENTINEL", "values": [1, 2]}, "raw": [1, 2, 3]})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));
}

#[traced_tool]
async fn scoped(query: String, limit: u32) -> u32 {
    let _ = query;
    limit
}

#[tokio::test]
async fn scope_raw_arguments_win_over_typed_parameters() {
    // The client sent an extra key and `limit` out of range for u32: shapes, hash and
    // verdict come from what was sent.
    let raw = json!({"query": "typed differs", "limit": -1, "extra": "SENTINEL"});
    let call = mcp_trace::scope()
        .arguments(raw.clone())
        .session_id("session-raw")
        .request_id(42)
        .protocol_version("2025-06-18")
        .transport(mcp_trace::Transport::Pipe)
        .run(scoped("abc".into(), 3));
    let (value, spans) = capture_async(call).await;
    assert_eq!(value, 3);
    let mut expected = tool_base("scoped");
    expected.extend([
        KeyValue::new(
            "mcp.session.id",
            mcp_trace::session::exported_id("session-raw"),
        ),
        KeyValue::new("jsonrpc.request.id", "42"),
        KeyValue::new("mcp.protocol.version", "2025-06-18"),
        KeyValue::new("network.transport", "pipe"),
        KeyValue::new("mcp.tool.args.query.length", 13),
        KeyValue::new("mcp.tool.args.limit", -1),
        hash(raw),
        KeyValue::new("mcp.tool.args.schema_valid", false),
        KeyValue::new("mcp.tool.args.schema_error_path", "/limit"),
        KeyValue::new(
            "mcp.tool.args.schema_error_message",
            "value is less than the minimum of 0",
        ),
        KeyValue::new("mcp.tool.args.schema_error_count", 1),
        // `extra` is neither a parameter nor declared: counted, never named.
        KeyValue::new("mcp.tool.args.undeclared_count", 1),
        KeyValue::new("mcp.tool.call.repeat_run", 1),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));
}

#[tokio::test]
async fn meta_traceparent_becomes_the_parent() {
    use opentelemetry::trace::{SpanId, TraceId};
    common::exporter();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let meta = json!({"traceparent": format!("00-{trace}-{parent}-01")});
    mcp_trace::scope()
        .meta(&meta)
        .run(scoped("q".into(), 1))
        .await;
    let trace_id = TraceId::from_hex(trace).unwrap();
    let span = only(common::spans_of(trace_id));
    assert_eq!(span.parent_span_id, SpanId::from_hex(parent).unwrap());
    assert!(span.parent_span_is_remote);
    assert!(span.links.is_empty(), "no ambient span to link");
}

/// The conventions: with the parent from `_meta`, the context the request arrived in
/// (an HTTP server span, say) is linked, not dropped.
#[tokio::test]
async fn meta_parent_links_the_ambient_span() {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    common::exporter();
    let ambient = SpanContext::new(
        TraceId::from_hex("0123456789abcdef0123456789abcdef").unwrap(),
        SpanId::from_hex("0123456789abcdef").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let trace = "5bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "10f067aa0ba902b7";
    let meta = json!({"traceparent": format!("00-{trace}-{parent}-01")});
    let call = mcp_trace::scope().meta(&meta).run(scoped("q".into(), 1));
    let _ambient = opentelemetry::Context::current()
        .with_remote_span_context(ambient.clone())
        .attach();
    call.await;
    let span = only(common::spans_of(TraceId::from_hex(trace).unwrap()));
    assert_eq!(span.parent_span_id, SpanId::from_hex(parent).unwrap());
    let linked: Vec<_> = span.links.iter().map(|l| l.span_context.clone()).collect();
    assert_eq!(linked, vec![ambient]);
}

#[tokio::test]
async fn invalid_traceparent_falls_back_to_the_ambient_span() {
    let call = mcp_trace::scope()
        .meta(&json!({"traceparent": "not-a-traceparent"}))
        .run(scoped("q".into(), 1));
    let (_, spans) = capture_async(call).await;
    assert_eq!(spans.len(), 1, "the span joined the ambient trace");
}

#[traced_tool]
fn outer_tool(n: u8) -> u8 {
    inner_tool(n)
}

#[traced_tool]
fn inner_tool(n: u8) -> u8 {
    n
}

#[test]
fn nested_traced_call_does_not_reuse_the_scope() {
    let call = || {
        mcp_trace::scope()
            .arguments(json!({"n": 9}))
            .session_id("nested")
            .run_sync(|| outer_tool(1))
    };
    let (_, spans) = capture(call);
    assert_eq!(spans.len(), 2);
    let inner = spans
        .iter()
        .find(|s| s.name == "tools/call inner_tool")
        .unwrap();
    let outer = spans
        .iter()
        .find(|s| s.name == "tools/call outer_tool")
        .unwrap();
    assert_eq!(
        attrs(outer)["mcp.tool.args.n"],
        9.into(),
        "outer uses the raw arguments"
    );
    assert_eq!(
        attrs(inner)["mcp.tool.args.n"],
        1.into(),
        "inner uses its typed parameter"
    );
    assert!(!attrs(inner).contains_key("mcp.session.id"));
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
}

#[traced_tool]
fn generic_tool<T: serde::Serialize + Clone>(items: Vec<T>, label: impl AsRef<str>) -> Vec<T> {
    let _ = label.as_ref();
    items.clone()
}

#[test]
fn generics_and_impl_trait_parameters() {
    let (value, spans) = capture(|| generic_tool(vec![1u8, 2], "x"));
    assert_eq!(value, [1, 2]);
    let attributes = attrs(&only(spans));
    assert_eq!(attributes["mcp.tool.args.items.count"], 2.into());
    assert_eq!(attributes["mcp.tool.result.count"], 2.into());
    assert!(
        !attributes.contains_key("mcp.tool.args.label.length"),
        "impl AsRef<str> is not Serialize"
    );
}
