//! `#[traced_resource]` behaviour: URI, name, template, sessions and duplicate reads.
#![cfg(all(feature = "enable", feature = "read-tracking"))]

mod common;

use common::{attrs, capture, capture_async, expect, only};
use mcp_trace::traced_resource;
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, Status};

#[derive(Debug)]
pub struct DocsError;

/// Reads one documentation page.
#[traced_resource(uri = "docs://{page}", name = "docs")]
async fn read_docs_page(#[session] session: &str, page: String) -> Result<String, DocsError> {
    let _ = session;
    if page == "missing" {
        return Err(DocsError);
    }
    Ok(format!("# {page}\n"))
}

fn read_attrs(
    session: &str,
    uri: &str,
    read_count: i64,
    content_length: Option<i64>,
) -> Vec<KeyValue> {
    let mut attrs = vec![
        KeyValue::new("mcp.method.name", "resources/read"),
        KeyValue::new("mcp.resource.uri", uri.to_owned()),
        KeyValue::new("mcp.resource.name", "docs"),
        KeyValue::new("mcp.resource.template", "docs://{page}"),
        KeyValue::new("mcp.session.id", mcp_trace::session::exported_id(session)),
        KeyValue::new("mcp.resource.cache_hit", read_count > 1),
        KeyValue::new("mcp.resource.read_count", read_count),
        KeyValue::new("mcp.resource.read_scope", "session"),
    ];
    if let Some(n) = content_length {
        attrs.push(KeyValue::new("mcp.resource.content.length", n));
    }
    attrs
}

#[tokio::test]
async fn duplicate_reads_are_counted_per_session_never_across() {
    // Two sessions interleaved; `intro` is read twice by A, once by B.
    let reads = [
        ("resource-A", "intro", 1),
        ("resource-B", "intro", 1),
        ("resource-A", "intro", 2),
        ("resource-A", "setup", 1),
        ("resource-B", "setup", 1),
        ("resource-B", "setup", 2),
        ("resource-A", "intro", 3),
    ];
    for (session, page, count) in reads {
        let (content, spans) = capture_async(read_docs_page(session, page.into())).await;
        let content = content.unwrap();
        let span = only(spans);
        assert_eq!(span.name, "resources/read");
        assert_eq!(span.span_kind, SpanKind::Server);
        let uri = format!("docs://{page}");
        let length = content.chars().count() as i64;
        assert_eq!(
            attrs(&span),
            expect(read_attrs(session, &uri, count, Some(length))),
            "{session} {page}"
        );
    }
}

#[tokio::test]
async fn template_values_are_percent_encoded_and_errors_recorded() {
    let (result, spans) = capture_async(read_docs_page("resource-C", "missing".into())).await;
    assert!(result.is_err());
    let span = only(spans);
    assert_eq!(span.status, Status::error("DocsError"));
    let mut expected = read_attrs("resource-C", "docs://missing", 1, None);
    expected.push(KeyValue::new("error.type", "DocsError"));
    assert_eq!(attrs(&span), expect(expected));

    let (_, spans) = capture_async(read_docs_page("resource-C", "a b/ü".into())).await;
    assert_eq!(
        attrs(&only(spans))["mcp.resource.uri"],
        "docs://a%20b%2F%C3%BC".into()
    );
}

#[tokio::test]
async fn ending_a_session_resets_its_counts() {
    for _ in 0..2 {
        read_docs_page("resource-D", "intro".into()).await.unwrap();
    }
    mcp_trace::session::end("resource-D");
    let (_, spans) = capture_async(read_docs_page("resource-D", "intro".into())).await;
    assert_eq!(attrs(&only(spans))["mcp.resource.read_count"], 1.into());
}

#[traced_resource]
fn read_by_uri(uri: &str) -> Vec<u8> {
    uri.as_bytes().to_vec()
}

#[test]
fn uri_parameter_blob_length_and_no_session_means_no_read_tracking() {
    let (_, spans) = capture(|| read_by_uri("file:///etc/motd"));
    assert_eq!(
        attrs(&only(spans)),
        expect([
            KeyValue::new("mcp.method.name", "resources/read"),
            KeyValue::new("mcp.resource.uri", "file:///etc/motd"),
            KeyValue::new("mcp.resource.content.length", 16),
        ])
    );
}

pub struct Store {
    base: String,
}

impl Store {
    #[traced_resource(uri = format!("{}/{}", self.base, key))]
    fn get(&self, key: u32) -> String {
        format!("value-{key}")
    }
}

#[test]
fn uri_expression_and_scope_session() {
    let store = Store {
        base: "kv://store".into(),
    };
    let call = || {
        mcp_trace::scope()
            .session_id("resource-E")
            .request_id("req-1")
            .run_sync(|| store.get(7))
    };
    let (value, spans) = capture(call);
    assert_eq!(value, "value-7");
    assert_eq!(
        attrs(&only(spans)),
        expect([
            KeyValue::new("mcp.method.name", "resources/read"),
            KeyValue::new("mcp.resource.uri", "kv://store/7"),
            KeyValue::new(
                "mcp.session.id",
                mcp_trace::session::exported_id("resource-E")
            ),
            KeyValue::new("jsonrpc.request.id", "req-1"),
            KeyValue::new("mcp.resource.cache_hit", false),
            KeyValue::new("mcp.resource.read_count", 1),
            KeyValue::new("mcp.resource.read_scope", "session"),
            KeyValue::new("mcp.resource.content.length", 7),
        ])
    );
}

/// With no session but a `_meta` trace context (protocol revisions without sessions),
/// reads are counted within the trace, one agent run, and the span says so.
#[test]
fn without_a_session_reads_are_counted_per_trace() {
    use opentelemetry::trace::TraceId;
    common::exporter();
    let traces = [
        "6bf92f3577b34da6a3ce929d0e0e4736",
        "7bf92f3577b34da6a3ce929d0e0e4736",
    ];
    let read = |trace: &str| {
        let meta = serde_json::json!({"traceparent": format!("00-{trace}-00f067aa0ba902b7-01")});
        mcp_trace::scope()
            .meta(&meta)
            .run_sync(|| read_by_uri("file:///per-trace"));
    };
    read(traces[0]);
    read(traces[0]);
    read(traces[1]);
    let tracked = |trace: &str| -> Vec<(opentelemetry::Value, opentelemetry::Value)> {
        let mut spans = common::spans_of(TraceId::from_hex(trace).unwrap());
        spans.sort_by_key(|s| s.start_time);
        spans
            .iter()
            .map(|s| {
                let a = attrs(s);
                assert_eq!(a["mcp.resource.read_scope"], "trace".into());
                assert!(!a.contains_key("mcp.session.id"));
                (
                    a["mcp.resource.read_count"].clone(),
                    a["mcp.resource.cache_hit"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        tracked(traces[0]),
        vec![(1.into(), false.into()), (2.into(), true.into())]
    );
    assert_eq!(tracked(traces[1]), vec![(1.into(), false.into())]);
}
