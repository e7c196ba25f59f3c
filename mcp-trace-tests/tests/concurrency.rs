//! 2 000 concurrent calls across 200 sessions on a multi-threaded runtime: each span
//! ends exactly once, under its own call's parent, with its own session's attributes
//! only, and each read counted in the order that session made its reads.
#![cfg(all(
    feature = "enable",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check",
    feature = "read-tracking"
))]

mod common;

use common::{attrs, expect, hash, tool_base};
use mcp_trace::{traced_resource, traced_tool};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{
    Span as _, SpanId, Status, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

const SESSIONS: usize = 200;
const CALLS_PER_SESSION: usize = 10;
const PAGES: usize = 3;

#[derive(Debug)]
pub struct LookupError;

/// The span current in the handler, as hex.
fn current_span() -> String {
    Context::current()
        .span()
        .span_context()
        .span_id()
        .to_string()
}

/// Awaits across a yield and a timer, so calls interleave and hop between worker
/// threads; returns the span current at each point, which must always be its own.
#[traced_tool]
async fn lookup(
    #[session] session: &str,
    query: String,
    call: u32,
) -> Result<Vec<String>, LookupError> {
    let _ = (session, &query, call);
    let mut seen = vec![current_span()];
    tokio::task::yield_now().await;
    seen.push(current_span());
    tokio::time::sleep(Duration::from_millis(1)).await;
    seen.push(current_span());
    Ok(seen)
}

#[derive(Debug)]
pub struct PageError;

#[traced_resource(uri = "conc://{page}", name = "pages")]
async fn read_page(#[session] session: &str, page: String) -> Result<String, PageError> {
    let _ = (session, &page);
    let mut seen = vec![current_span()];
    tokio::time::sleep(Duration::from_millis(1)).await;
    seen.push(current_span());
    tokio::task::yield_now().await;
    seen.push(current_span());
    Ok(seen.join(","))
}

/// One call as the test made it.
#[derive(Debug)]
struct Made {
    session: String,
    /// The parent span the test created for this call.
    parent: SpanId,
    /// The handler's current span at each await point.
    seen: Vec<String>,
    expected: BTreeMap<String, opentelemetry::Value>,
}

/// xorshift64*: each session's own sequence of tools, resources and pages.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A session's calls, one after another (so its read order is known); sessions run
/// concurrently with each other.
async fn session_calls(index: usize, root: Context) -> Vec<(String, Made)> {
    let tracer = opentelemetry::global::tracer_provider().tracer("concurrency-test");
    let session = format!("conc-session-{index:03}");
    // Session-specific argument values: a leaked attribute would show up as another
    // session's length.
    let query = "q".repeat(index + 1);
    let mut reads: HashMap<String, i64> = HashMap::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15 ^ (index as u64 + 1);
    let mut made = Vec::with_capacity(CALLS_PER_SESSION);
    for call in 0..CALLS_PER_SESSION {
        let request_id = format!("{session}/{call}");
        let parent = tracer.start_with_context(format!("parent {request_id}"), &root);
        let parent_id = parent.span_context().span_id();
        let cx = root.with_span(parent);
        let scope = mcp_trace::scope().request_id(&request_id);
        let mut expected = Vec::new();
        let seen = if next(&mut rng).is_multiple_of(2) {
            let seen = scope
                .run(lookup(&session, query.clone(), call as u32))
                .with_context(cx.clone())
                .await
                .unwrap();
            expected.extend(tool_base("lookup"));
            expected.extend([
                KeyValue::new("mcp.tool.args.query.length", query.len() as i64),
                KeyValue::new("mcp.tool.args.call", call as i64),
                hash(json!({"query": query, "call": call})),
                KeyValue::new("mcp.tool.args.schema_valid", true),
                // Each call's arguments differ (`call`): every run is 1.
                KeyValue::new("mcp.tool.call.repeat_run", 1),
                KeyValue::new("mcp.tool.result.count", seen.len() as i64),
            ]);
            seen
        } else {
            let page = format!("p{}", next(&mut rng) as usize % PAGES);
            let uri = format!("conc://{page}");
            let content = scope
                .run(read_page(&session, page))
                .with_context(cx.clone())
                .await
                .unwrap();
            let count = reads.entry(uri.clone()).or_default();
            *count += 1;
            expected.extend([
                KeyValue::new("mcp.method.name", "resources/read"),
                KeyValue::new("mcp.resource.uri", uri),
                KeyValue::new("mcp.resource.name", "pages"),
                KeyValue::new("mcp.resource.template", "conc://{page}"),
                KeyValue::new("mcp.resource.cache_hit", *count > 1),
                KeyValue::new("mcp.resource.read_count", *count),
                KeyValue::new("mcp.resource.read_scope", "session"),
                KeyValue::new("mcp.resource.content.length", content.len() as i64),
            ]);
            content.split(',').map(str::to_owned).collect()
        };
        cx.span().end();
        expected.extend([
            KeyValue::new("mcp.session.id", mcp_trace::session::exported_id(&session)),
            KeyValue::new("jsonrpc.request.id", request_id.clone()),
        ]);
        made.push((
            request_id,
            Made {
                session: session.clone(),
                parent: parent_id,
                seen,
                expected: expect(expected),
            },
        ));
    }
    mcp_trace::session::end(&session);
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sessions_keep_their_spans_apart() {
    common::exporter();
    let root_span = opentelemetry::global::tracer_provider()
        .tracer("concurrency-test")
        .start("test-root");
    let root = Context::current_with_span(root_span);
    let trace_id = root.span().span_context().trace_id();

    let tasks: Vec<_> = (0..SESSIONS)
        .map(|index| tokio::spawn(session_calls(index, root.clone())))
        .collect();
    let mut made: HashMap<String, Made> = HashMap::new();
    for task in tasks {
        for (request_id, call) in task.await.expect("session task") {
            assert!(made.insert(request_id, call).is_none());
        }
    }
    assert_eq!(made.len(), SESSIONS * CALLS_PER_SESSION);

    let spans: Vec<_> = common::spans_of(trace_id)
        .into_iter()
        .filter(|s| !s.name.starts_with("parent "))
        .collect();
    // Ended exactly once: one span per call, no two with the same id.
    assert_eq!(spans.len(), SESSIONS * CALLS_PER_SESSION);
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    assert_eq!(ids.len(), spans.len(), "a span id exported twice");

    let mut by_request: HashMap<String, usize> = HashMap::new();
    let mut reads = 0;
    for span in &spans {
        let attributes = attrs(span);
        assert_eq!(
            attributes.len(),
            span.attributes.len(),
            "a key set twice on {span:?}"
        );
        let Some(opentelemetry::Value::String(request_id)) = attributes.get("jsonrpc.request.id")
        else {
            panic!("no request id on {span:?}");
        };
        let request_id = request_id.as_str();
        *by_request.entry(request_id.to_owned()).or_default() += 1;
        let call = &made[request_id];
        assert_eq!(
            span.parent_span_id, call.parent,
            "{request_id}: parent is not its own call's parent span"
        );
        assert_eq!(span.status, Status::Unset, "{request_id}");
        let own = span.span_context.span_id().to_string();
        assert!(
            call.seen.iter().all(|s| *s == own),
            "{request_id}: the handler saw spans {:?}, its own is {own}",
            call.seen
        );
        // Exactly this call's attributes: another session's digest, lengths or read
        // counts cannot be on it.
        assert_eq!(
            attributes, call.expected,
            "{request_id} of {}",
            call.session
        );
        if span.name == "resources/read" {
            reads += 1;
        } else {
            assert_eq!(span.name, "tools/call lookup");
        }
    }
    assert_eq!(by_request.len(), made.len(), "every call has its span");
    assert!(by_request.values().all(|&n| n == 1));
    // Both kinds ran, and reads repeated pages (so counts above 1 were checked).
    assert!(
        (SESSIONS * 3..SESSIONS * 7).contains(&reads),
        "{reads} reads"
    );
    let repeats = made
        .values()
        .filter(|m| m.expected.get("mcp.resource.cache_hit") == Some(&true.into()))
        .count();
    assert!(repeats > SESSIONS, "{repeats} repeated reads");
}
