//! Inbound notifications through `TracedServer`, in process: a raw JSON-RPC client
//! writes every kind over an in-memory pipe (exactly the bytes a client would send), and
//! each notification must come out as one SERVER span with exact attributes: named by
//! its method (`_OTHER` outside the conventions' set, the method itself never
//! exported), no request id, `_meta` as the
//! parent, progress numbers without the message, and a cancellation linked to the span
//! of the request it cancels while that request is in flight. The wrapped server's own
//! notification handlers still run.
#![cfg(all(feature = "rmcp", feature = "enable"))]

mod common;

use mcp_trace::traced_tool;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    ProgressNotificationParam, ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::Notify;

/// Holds until told to stop, once it has said it started.
#[traced_tool(skip(started, stop))]
async fn hold(started: &Notify, stop: &Notify) -> u32 {
    started.notify_one();
    stop.notified().await;
    1
}

#[derive(Clone, Default)]
struct Holding {
    started: Arc<Notify>,
    stop: Arc<Notify>,
    progress_seen: Arc<AtomicUsize>,
}

impl ServerHandler for Holding {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // Untraced, and over as soon as it is cancelled.
        if request.name == "watch" {
            self.started.notify_one();
            context.ct.cancelled().await;
            return Ok(CallToolResult::success(vec![ContentBlock::text("stopped")]).into());
        }
        let n = hold(&self.started, &self.stop).await;
        Ok(CallToolResult::success(vec![ContentBlock::text(n.to_string())]).into())
    }

    async fn on_progress(
        &self,
        _notification: ProgressNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        self.progress_seen.fetch_add(1, Ordering::SeqCst);
    }
}

/// A client that writes JSON-RPC lines itself.
struct RawClient {
    reader: BufReader<ReadHalf<DuplexStream>>,
    writer: WriteHalf<DuplexStream>,
}

impl RawClient {
    /// A client on `end`, initialized (protocol 2025-11-25).
    async fn initialized(end: DuplexStream) -> Self {
        let (read, write) = tokio::io::split(end);
        let mut client = RawClient {
            reader: BufReader::new(read),
            writer: write,
        };
        client
            .send(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}
                }}),
            )
            .await;
        client.answer(1).await;
        client
    }

    async fn send(&mut self, message: serde_json::Value) {
        let mut line = serde_json::to_vec(&message).unwrap();
        line.push(b'\n');
        self.writer.write_all(&line).await.unwrap();
    }

    /// The next answer whose id is `id` (other lines are skipped).
    async fn answer(&mut self, id: i64) -> serde_json::Value {
        loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
                    .await
                    .expect("an answer within 10 s")
                    .unwrap();
            assert!(read > 0, "the server hung up");
            let message: serde_json::Value = serde_json::from_str(&line).unwrap();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }
}

/// One test at a time, each from an empty exporter: both read spans back by name.
fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = ONE.lock().unwrap_or_else(|p| p.into_inner());
    common::exporter().reset();
    guard
}

/// Finished spans named `name`.
fn named(name: &str) -> Vec<SpanData> {
    common::exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.name == name)
        .collect()
}

/// Waits until `count` spans named `name` have ended.
async fn ended(name: &str, count: usize) -> Vec<SpanData> {
    for _ in 0..500 {
        let spans = named(name);
        if spans.len() >= count {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{count} spans named {name:?} never ended: {:?}",
        named(name).len()
    );
}

fn expected(pairs: &[(&str, Value)], session: &Value) -> BTreeMap<String, Value> {
    let mut all: BTreeMap<String, Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    all.insert("mcp.session.id".to_owned(), session.clone());
    all.insert("mcp.protocol.version".to_owned(), "2025-11-25".into());
    all.insert("network.transport".to_owned(), "pipe".into());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)] // The lock only keeps the file's tests apart.
async fn every_inbound_notification_is_one_server_span() {
    let _one = exclusive();
    let server = Holding::default();
    let (started, stop, progress_seen) = (
        server.started.clone(),
        server.stop.clone(),
        server.progress_seen.clone(),
    );
    let (server_end, client_end) = tokio::io::duplex(1 << 22);
    let running = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(server)
            .serve(server_end)
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let mut client = RawClient::initialized(client_end).await;
    client
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;

    // A request in flight, then its cancellation and one of a request never made.
    client
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "hold", "arguments": {}}}))
        .await;
    started.notified().await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 2, "reason": "SECRET-reason"}}),
        )
        .await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": "never-sent"}}),
        )
        .await;
    let cancellations = ended("notifications/cancelled", 2).await;
    stop.notify_one();
    let held = ended("tools/call hold", 1).await;

    client
        .send(json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}))
        .await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {
                "progressToken": "tok-1", "progress": 3, "total": 10, "message": "SECRET-progress"
            }}),
        )
        .await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {
                "progressToken": 7, "progress": 0.5,
                "_meta": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"}
            }}),
        )
        .await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "vendor/hello", "params": {
                "_meta": {"traceparent": traceparent}, "text": "SECRET-custom"
            }}),
        )
        .await;
    let huge = format!("vendor/{}", "m".repeat(1 << 20));
    client.send(json!({"jsonrpc": "2.0", "method": huge})).await;
    client
        .send(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}))
        .await;
    client.answer(3).await;

    let initialized = ended("notifications/initialized", 1).await;
    let roots = ended("notifications/roots/list_changed", 1).await;
    let progress = ended("notifications/progress", 2).await;
    let other = ended("_OTHER", 2).await;
    drop(client);
    running.await.unwrap();

    // One session: the process's, as a keyed digest, on every span of the connection.
    let session = common::attrs(&held[0])["mcp.session.id"].clone();
    assert_eq!(session.as_str().len(), 32);

    let [initialized] = &initialized[..] else {
        panic!("{initialized:?}")
    };
    assert_eq!(initialized.span_kind, SpanKind::Server);
    assert_eq!(initialized.status, Status::Unset);
    assert_eq!(
        common::attrs(initialized),
        expected(
            &[("mcp.method.name", "notifications/initialized".into())],
            &session
        )
    );
    let [roots] = &roots[..] else {
        panic!("{roots:?}")
    };
    assert_eq!(
        common::attrs(roots),
        expected(
            &[("mcp.method.name", "notifications/roots/list_changed".into())],
            &session
        )
    );

    // The cancellation of the request in flight links to that request's span.
    let (live, unknown): (Vec<_>, Vec<_>) = cancellations
        .iter()
        .partition(|s| common::attrs(s)["mcp.cancelled.in_flight"] == true.into());
    let ([live], [unknown]) = (&live[..], &unknown[..]) else {
        panic!("one live and one unknown cancellation: {cancellations:?}")
    };
    assert_eq!(
        common::attrs(live),
        expected(
            &[
                ("mcp.method.name", "notifications/cancelled".into()),
                ("mcp.cancelled.in_flight", true.into()),
            ],
            &session
        )
    );
    let links: Vec<_> = live.links.iter().map(|l| l.span_context.clone()).collect();
    assert_eq!(links, vec![held[0].span_context.clone()]);
    assert_eq!(
        common::attrs(unknown),
        expected(
            &[
                ("mcp.method.name", "notifications/cancelled".into()),
                ("mcp.cancelled.in_flight", false.into()),
            ],
            &session
        )
    );
    assert!(unknown.links.is_empty());

    // Progress: the numbers and the token's type, never the message; the server's own
    // handler still ran for each.
    let parents: Vec<String> = progress
        .iter()
        .map(|s| s.parent_span_id.to_string())
        .collect();
    assert!(
        parents.contains(&"b7ad6b7169203331".to_owned()),
        "a typed notification's _meta is its parent too: {parents:?}"
    );
    let mut progress: Vec<_> = progress.iter().map(common::attrs).collect();
    progress.sort_by(|a, b| {
        a["mcp.progress.value"]
            .as_str()
            .cmp(&b["mcp.progress.value"].as_str())
    });
    assert_eq!(
        progress,
        vec![
            expected(
                &[
                    ("mcp.method.name", "notifications/progress".into()),
                    ("mcp.progress.value", 0.5.into()),
                    ("mcp.progress.token_type", "integer".into()),
                ],
                &session
            ),
            expected(
                &[
                    ("mcp.method.name", "notifications/progress".into()),
                    ("mcp.progress.value", 3.0.into()),
                    ("mcp.progress.total", 10.0.into()),
                    ("mcp.progress.token_type", "string".into()),
                ],
                &session
            ),
        ]
    );
    assert_eq!(progress_seen.load(Ordering::SeqCst), 2);

    // Methods outside the conventions' set: `_OTHER`, in the name and the attribute;
    // none of the method the client chose is exported.
    let (hello, long): (Vec<_>, Vec<_>) = other
        .iter()
        .partition(|s| s.parent_span_id.to_string() == "00f067aa0ba902b7");
    let ([hello], [long]) = (&hello[..], &long[..]) else {
        panic!("{other:?}")
    };
    for span in [hello, long] {
        assert_eq!(
            common::attrs(span),
            expected(&[("mcp.method.name", "_OTHER".into())], &session)
        );
    }
    assert_eq!(
        hello.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "the notification's _meta is its parent"
    );

    // No request id on a notification, and nothing the client wrote as text.
    for span in [initialized, roots, live, unknown, hello, long] {
        assert!(!common::attrs(span).contains_key("jsonrpc.request.id"));
    }
    let everything = format!("{:?}", common::exporter().get_finished_spans().unwrap());
    for secret in [
        "SECRET-reason",
        "SECRET-progress",
        "SECRET-custom",
        "tok-1",
        "vendor/",
    ] {
        assert!(!everything.contains(secret), "{secret} was exported");
    }
}

/// Hostile notifications: progress tokens of every JSON type (the specification allows
/// a string or an integer), a megabyte-long token, and a flood of progress from the
/// client. The server keeps answering, in order; every notification it accepted is
/// one span, and none carries a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)] // The lock only keeps the file's tests apart.
async fn hostile_notifications_leave_the_server_answering() {
    let _one = exclusive();
    let server = Holding::default();
    let progress_seen = server.progress_seen.clone();
    let (server_end, client_end) = tokio::io::duplex(1 << 22);
    let running = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(server)
            .serve(server_end)
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let mut client = RawClient::initialized(client_end).await;
    let huge_token = "t".repeat(1 << 20);
    for token in [
        json!(1.5),
        json!(true),
        json!(null),
        json!({}),
        json!([]),
        json!(huge_token),
        json!(i64::MIN),
    ] {
        client
            .send(json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": token, "progress": 1}}))
            .await;
    }
    // A hundred thousand, as fast as the client can write them (about 33 000 a second
    // in a debug build here: the server keeps up, span by span).
    const FLOOD: usize = 100_000;
    for i in 0..FLOOD {
        client
            .send(json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": "flood", "progress": i, "total": FLOOD}}))
            .await;
    }
    client
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .await;
    client.answer(2).await;
    drop(client);
    running.await.unwrap();

    // What rmcp parsed as progress reached the server's own handler and is a span with
    // the numbers; a token rmcp could not parse leaves a `notifications/progress` span
    // with none of them (rmcp hands it over as a custom notification of that method).
    // rmcp runs each notification's handler in a task of its own, so the last ones may
    // still be running after the ping's answer and the server's end: wait for them.
    let mut accepted = progress_seen.load(Ordering::SeqCst);
    for _ in 0..1000 {
        if accepted >= FLOOD + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        accepted = progress_seen.load(Ordering::SeqCst);
    }
    assert!(accepted >= FLOOD + 2, "{accepted}");
    let counted = |spans: &[SpanData]| {
        spans
            .iter()
            .filter(|s| common::attrs(s).contains_key("mcp.progress.token_type"))
            .count()
    };
    let mut spans = named("notifications/progress");
    for _ in 0..500 {
        if counted(&spans) >= accepted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        spans = named("notifications/progress");
    }
    let with_numbers = spans
        .iter()
        .filter(|span| {
            let attrs = common::attrs(span);
            assert!(!attrs.contains_key("mcp.progress.token"));
            match attrs.get("mcp.progress.token_type") {
                Some(kind) => {
                    assert!(*kind == "string".into() || *kind == "integer".into());
                    true
                }
                None => false,
            }
        })
        .count();
    assert_eq!(with_numbers, accepted);
    let exported = format!("{spans:?}");
    assert!(
        !exported.contains(&huge_token[..64]),
        "a token was exported"
    );
}

/// A cancellation read by the traced transport as it arrives: the request it names was
/// in flight, though an untraced tool that honours its cancellation token may be over
/// by the time the server's notification handler runs (rmcp cancels it first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock)] // The lock only keeps the file's tests apart.
async fn a_cancellation_is_read_before_the_request_it_cancels_ends() {
    let _one = exclusive();
    let server = Holding::default();
    let started = server.started.clone();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let running = tokio::spawn(async move {
        let running = mcp_trace::rmcp::TracedServer::new(server)
            .serve(mcp_trace::rmcp::traced_transport(server_end))
            .await
            .expect("server starts");
        running.waiting().await.ok();
    });
    let mut client = RawClient::initialized(client_end).await;
    client
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "watch", "arguments": {}}}))
        .await;
    started.notified().await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 2}}),
        )
        .await;
    let cancelled = ended("notifications/cancelled", 1).await;
    let watched = ended("tools/call watch", 1).await;
    drop(client);
    running.await.unwrap();
    let [cancelled] = &cancelled[..] else {
        panic!("{cancelled:?}")
    };
    assert_eq!(
        common::attrs(cancelled)["mcp.cancelled.in_flight"],
        true.into()
    );
    // The untraced tool's span is the adapter's, made at its end: no span to link to
    // while it ran.
    assert!(cancelled.links.is_empty());
    assert_eq!(watched.len(), 1);
}

/// The observer read from JSON alone (the proxy's way in, started and ended at once):
/// the same spans as the adapter's, exact attributes, `_meta` as the parent, progress
/// read only with a string or integer token, a huge method `_OTHER` and never exported.
#[test]
fn a_notification_read_from_json_is_the_same_span() {
    let _one = exclusive();
    let observe = |method: &str, params: serde_json::Value| {
        let serde_json::Value::Object(params) = params else {
            panic!("an object")
        };
        mcp_trace::__private::observe_notification(
            method,
            Some(&params),
            Some("session-raw"),
            Some("2025-11-25"),
        );
    };
    observe(
        "notifications/progress",
        json!({"progressToken": "t", "progress": 2, "total": 8, "message": "SECRET-progress",
            "_meta": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"}}),
    );
    // A float token is no progress token: the span is the method's, without numbers.
    observe(
        "notifications/progress",
        json!({"progressToken": 1.5, "progress": 1}),
    );
    observe("notifications/cancelled", json!({"requestId": 99}));
    observe(&format!("vendor/{}", "m".repeat(1 << 20)), json!({}));

    let progress = named("notifications/progress");
    let [read, unread] = &progress[..] else {
        panic!("{progress:?}")
    };
    let session = common::attrs(read)["mcp.session.id"].clone();
    assert_eq!(session.as_str().len(), 32, "a keyed digest, not the id");
    assert_eq!(read.span_kind, SpanKind::Server);
    assert_eq!(read.parent_span_id.to_string(), "b7ad6b7169203331");
    assert_eq!(
        common::attrs(read),
        expected(
            &[
                ("mcp.method.name", "notifications/progress".into()),
                ("mcp.progress.value", 2.0.into()),
                ("mcp.progress.total", 8.0.into()),
                ("mcp.progress.token_type", "string".into()),
            ],
            &session
        )
    );
    assert_eq!(
        common::attrs(unread),
        expected(
            &[("mcp.method.name", "notifications/progress".into())],
            &session
        )
    );
    let cancelled = named("notifications/cancelled");
    let [cancelled] = &cancelled[..] else {
        panic!("{cancelled:?}")
    };
    assert_eq!(
        common::attrs(cancelled),
        expected(
            &[
                ("mcp.method.name", "notifications/cancelled".into()),
                ("mcp.cancelled.in_flight", false.into()),
            ],
            &session
        )
    );
    let other = named("_OTHER");
    let [other] = &other[..] else {
        panic!("{other:?}")
    };
    assert_eq!(
        common::attrs(other),
        expected(&[("mcp.method.name", "_OTHER".into())], &session)
    );
}
