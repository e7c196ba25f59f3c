//! `mcp.server.operation.duration` against the SDK's in-memory metric exporter: the
//! exact name, unit, bucket boundaries and attribute sets, and counts that match the
//! calls made even when every span is sampled out.
#![cfg(all(
    feature = "enable",
    feature = "metrics",
    feature = "schema-check",
    feature = "read-tracking"
))]

use mcp_trace::{traced_resource, traced_tool};
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, InMemoryMetricExporterBuilder, SdkMeterProvider, Temporality,
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

const BOUNDARIES: [f64; 14] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Debug)]
pub struct SearchError;

#[traced_tool]
fn search(query: String, limit: Option<u32>) -> Result<usize, SearchError> {
    if query.is_empty() {
        return Err(SearchError);
    }
    Ok(query.len() + limit.unwrap_or(0) as usize)
}

#[derive(Debug)]
pub struct QueryError;

#[traced_tool(name = "run_query", schema = "tests/schemas/run_query.json")]
fn run_query(sql: &str) -> Result<String, QueryError> {
    if sql.starts_with("SELECT") {
        Ok("ok".to_owned())
    } else {
        Err(QueryError)
    }
}

#[traced_tool]
fn explode(n: u32) -> u32 {
    assert!(n < 10, "too big");
    n
}

#[traced_resource(uri = "docs://{page}")]
fn read_page(#[session] session: &str, page: u32) -> String {
    format!("{session}:{page}")
}

/// The test binary's providers: spans to an in-memory exporter with the sampler of
/// the test, metrics (delta) to an in-memory metric exporter.
struct Harness {
    meters: SdkMeterProvider,
    metrics: InMemoryMetricExporter,
    spans: InMemorySpanExporter,
}

/// A meter provider exporting delta metrics to an in-memory exporter, installed as the
/// global one.
fn install_meters() -> (SdkMeterProvider, InMemoryMetricExporter) {
    let metrics = InMemoryMetricExporterBuilder::new()
        .with_temporality(Temporality::Delta)
        .build();
    let meters = SdkMeterProvider::builder()
        .with_periodic_exporter(metrics.clone())
        .build();
    opentelemetry::global::set_meter_provider(meters.clone());
    (meters, metrics)
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let (meters, metrics) = install_meters();
        Harness {
            meters,
            metrics,
            spans: InMemorySpanExporter::default(),
        }
    })
}

/// One test at a time, under a tracer provider with `sampler`, metrics and spans
/// cleared.
fn exclusive(sampler: Sampler) -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let h = harness();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(h.spans.clone())
        .build();
    // Kept alive: a replaced provider dropped later (the last thread caching its
    // tracer ends) would shut down and so clear the shared span exporter mid-test.
    static KEPT: Mutex<Vec<SdkTracerProvider>> = Mutex::new(Vec::new());
    KEPT.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(provider.clone());
    opentelemetry::global::set_tracer_provider(provider);
    mcp_trace::provider_changed();
    h.meters.force_flush().expect("flush");
    h.metrics.reset();
    h.spans.reset();
    guard
}

/// A data point of `mcp.server.operation.duration`: its attributes and count.
type Point = (BTreeMap<String, Value>, u64);

/// One exported histogram point of ours, whichever metric.
struct Exported {
    metric: String,
    attrs: BTreeMap<String, Value>,
    count: u64,
    sum: f64,
    bounds: Vec<f64>,
}

/// Every histogram point of ours exported since the test began, checking on the way
/// that each metric is one of ours, in seconds, under our scope.
fn exported() -> Vec<Exported> {
    let h = harness();
    h.meters.force_flush().expect("flush");
    let exported = h.metrics.get_finished_metrics().expect("metrics readable");
    let mut all = Vec::new();
    for resource in &exported {
        // The SDK's own processor counters (`otel.sdk.*`) share the provider.
        for scope in resource
            .scope_metrics()
            .filter(|scope| scope.scope().name() != "otel.sdk")
        {
            assert_eq!(scope.scope().name(), "mcp-trace");
            for metric in scope.metrics() {
                assert!(
                    [
                        "mcp.server.operation.duration",
                        "mcp.server.session.duration",
                        "mcp.client.operation.duration",
                        "mcp.client.session.duration"
                    ]
                    .contains(&metric.name()),
                    "unexpected metric {}",
                    metric.name()
                );
                assert_eq!(metric.unit(), "s");
                let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() else {
                    panic!("not an f64 histogram: {:?}", metric.data());
                };
                for point in histogram.data_points() {
                    all.push(Exported {
                        metric: metric.name().to_owned(),
                        attrs: point
                            .attributes()
                            .map(|kv| (kv.key.to_string(), kv.value.clone()))
                            .collect(),
                        count: point.count(),
                        sum: point.sum(),
                        bounds: point.bounds().collect(),
                    });
                }
            }
        }
    }
    all
}

/// The operation-duration points recorded since the test began, checking the
/// buckets on the way.
fn points() -> Vec<Point> {
    let points = exported()
        .into_iter()
        .filter(|e| e.metric == "mcp.server.operation.duration")
        .map(|e| {
            assert_eq!(e.bounds, BOUNDARIES);
            (e.attrs, e.count)
        })
        .collect();
    sorted(points)
}

/// Points in a fixed order: by their attributes, written `key=value`.
fn sorted(mut points: Vec<Point>) -> Vec<Point> {
    let text = |attrs: &BTreeMap<String, Value>| {
        attrs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    points.sort_by_key(|(attrs, _)| text(attrs));
    points
}

fn attributes<const N: usize>(pairs: [(&str, Value); N]) -> BTreeMap<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn search_attributes<const N: usize>(extra: [(&str, Value); N]) -> BTreeMap<String, Value> {
    let mut all = attributes([
        ("mcp.method.name", "tools/call".into()),
        ("gen_ai.operation.name", "execute_tool".into()),
        ("gen_ai.tool.name", "search".into()),
        ("mcp.tool.args.schema_valid", true.into()),
    ]);
    all.extend(attributes(extra));
    all
}

#[test]
fn every_call_is_counted_with_spans_sampled_out() {
    let _one = exclusive(Sampler::AlwaysOff);
    for i in 0..7 {
        search(format!("query {i}"), Some(i)).unwrap();
    }
    search(String::new(), None).unwrap_err();
    assert_eq!(
        points(),
        sorted(vec![
            (search_attributes([]), 7),
            (search_attributes([("error.type", "SearchError".into())]), 1),
        ])
    );
    assert!(
        harness().spans.get_finished_spans().unwrap().is_empty(),
        "no span was sampled"
    );
}

/// A thread compares each record with the series it recorded last before looking the
/// series up: interleaved series, repeated and alternating, are each counted exactly.
#[test]
fn interleaved_series_are_each_counted() {
    let _one = exclusive(Sampler::AlwaysOn);
    for round in 0..3 {
        search("rust".to_owned(), None).unwrap();
        search("rust".to_owned(), None).unwrap();
        search(String::new(), None).unwrap_err();
        if round != 1 {
            explode(1);
        }
        search("again".to_owned(), None).unwrap();
    }
    let explode_attributes = attributes([
        ("mcp.method.name", "tools/call".into()),
        ("gen_ai.operation.name", "execute_tool".into()),
        ("gen_ai.tool.name", "explode".into()),
        ("mcp.tool.args.schema_valid", true.into()),
    ]);
    assert_eq!(
        points(),
        sorted(vec![
            (explode_attributes, 2),
            (search_attributes([]), 9),
            (search_attributes([("error.type", "SearchError".into())]), 3),
        ])
    );
}

/// A meter provider announced between two records of the same series gets the second:
/// the thread's last series and its handle go with the provider they were bound on.
#[test]
fn a_new_provider_gets_the_series_recorded_last() {
    let _one = exclusive(Sampler::AlwaysOn);
    search("before".to_owned(), None).unwrap();
    search("before".to_owned(), None).unwrap();
    let (meters, other) = install_meters();
    mcp_trace::provider_changed();
    search("after".to_owned(), None).unwrap();
    meters.force_flush().expect("flush");
    let counted: u64 = other
        .get_finished_metrics()
        .expect("exported")
        .iter()
        .flat_map(|resource| resource.scope_metrics())
        .flat_map(|scope| scope.metrics())
        .filter(|metric| metric.name() == "mcp.server.operation.duration")
        .map(|metric| match metric.data() {
            AggregatedMetrics::F64(MetricData::Histogram(histogram)) => histogram
                .data_points()
                .map(|point| point.count())
                .sum::<u64>(),
            _ => 0,
        })
        .sum();
    // Back to the harness's provider before anything can fail.
    opentelemetry::global::set_meter_provider(harness().meters.clone());
    mcp_trace::provider_changed();
    assert_eq!(counted, 1, "the call after the change, on the new provider");
    assert_eq!(points(), vec![(search_attributes([]), 2)]);
}

#[test]
fn outcomes_each_have_their_attribute_set() {
    let _one = exclusive(Sampler::AlwaysOn);
    search("rust".to_owned(), None).unwrap();
    search(String::new(), None).unwrap_err();
    explode(1);
    let panicked = std::panic::catch_unwind(|| explode(99));
    assert!(panicked.is_err());
    let explode_attributes = |extra: Option<&'static str>| {
        let mut all = attributes([
            ("mcp.method.name", "tools/call".into()),
            ("gen_ai.operation.name", "execute_tool".into()),
            ("gen_ai.tool.name", "explode".into()),
            ("mcp.tool.args.schema_valid", true.into()),
        ]);
        if let Some(error) = extra {
            all.insert("error.type".to_owned(), error.into());
        }
        all
    };
    let expected = vec![
        (explode_attributes(None), 1),
        (explode_attributes(Some("panic")), 1),
        (search_attributes([]), 1),
        (search_attributes([("error.type", "SearchError".into())]), 1),
    ];
    assert_eq!(points(), sorted(expected));
    // The spans carry the same outcome.
    assert_eq!(harness().spans.get_finished_spans().unwrap().len(), 4);
}

#[test]
fn schema_invalid_calls_carry_the_verdict() {
    let _one = exclusive(Sampler::AlwaysOn);
    run_query("SELECT 1").unwrap();
    run_query("DROP TABLE users").unwrap_err();
    let base = |valid: bool| {
        attributes([
            ("mcp.method.name", "tools/call".into()),
            ("gen_ai.operation.name", "execute_tool".into()),
            ("gen_ai.tool.name", "run_query".into()),
            ("mcp.tool.args.schema_valid", valid.into()),
        ])
    };
    let mut invalid = base(false);
    invalid.insert("error.type".to_owned(), "QueryError".into());
    assert_eq!(points(), sorted(vec![(base(true), 1), (invalid, 1)]));
}

/// A point of `run_query` on the metric: its verdict, whether it failed, and whether it
/// repeated the call before it (if a run was counted).
fn run_query_point(valid: bool, error: bool, repeated: Option<bool>) -> BTreeMap<String, Value> {
    let mut all = attributes([
        ("mcp.method.name", "tools/call".into()),
        ("gen_ai.operation.name", "execute_tool".into()),
        ("gen_ai.tool.name", "run_query".into()),
        ("mcp.tool.args.schema_valid", valid.into()),
    ]);
    if let Some(repeated) = repeated {
        all.insert("mcp.tool.call.repeated".to_owned(), repeated.into());
    }
    if error {
        all.insert("error.type".to_owned(), "QueryError".into());
    }
    all
}

#[test]
fn sampled_out_calls_still_carry_the_verdict() {
    let _one = exclusive(Sampler::AlwaysOff);
    // A schema file the types cannot guarantee: the typed arguments are rebuilt and
    // validated for the metric alone.
    run_query("SELECT 1").unwrap();
    run_query("SELECT * FROM a_table_name_longer_than_twelve").unwrap();
    run_query("DROP TABLE users").unwrap_err();
    // Raw arguments in the request scope are validated as sent.
    let raw = serde_json::json!({"sql": "DELETE"});
    mcp_trace::scope()
        .arguments(raw)
        .run_sync(|| run_query("DELETE"))
        .unwrap_err();
    let base = |valid: bool, error: bool| run_query_point(valid, error, None);
    assert_eq!(
        points(),
        sorted(vec![
            (base(true, false), 1),
            (base(false, false), 1),
            (base(false, true), 2),
        ])
    );
    assert!(harness().spans.get_finished_spans().unwrap().is_empty());
}

/// With every span sampled out, the metric still says which calls repeated the tool's
/// previous one in their session: typed parameters (hashed for that alone) and raw
/// arguments alike; a call with no session and no trace is in no run.
#[test]
fn sampled_out_calls_still_say_whether_they_repeated() {
    let _one = exclusive(Sampler::AlwaysOff);
    let in_session = |session: &str, sql: &str| {
        let _ = mcp_trace::scope()
            .session_id(session)
            .run_sync(|| run_query(sql));
    };
    // Runs 1, 2, 3, 1, 2 in one session; 1 in another.
    for sql in ["SELECT 1", "SELECT 1", "SELECT 1", "SELECT 2", "SELECT 2"] {
        in_session("repeats-a", sql);
    }
    in_session("repeats-b", "SELECT 2");
    // Raw arguments, as an adapter hands them over: 1, 2.
    for _ in 0..2 {
        let _ = mcp_trace::scope()
            .session_id("repeats-a")
            .arguments(serde_json::json!({"sql": "DROP"}))
            .run_sync(|| run_query("DROP"));
    }
    // No scope at all: no run, no attribute.
    run_query("SELECT 1").unwrap();
    // The sampled-out `DROP`s fail the schema and the handler alike.
    let base = |repeated: Option<bool>, error: bool| run_query_point(!error, error, repeated);
    assert_eq!(
        points(),
        sorted(vec![
            (base(Some(false), false), 3),
            (base(Some(true), false), 3),
            (base(Some(false), true), 1),
            (base(Some(true), true), 1),
            (base(None, false), 1),
        ])
    );
    assert!(harness().spans.get_finished_spans().unwrap().is_empty());
}

#[test]
fn reads_carry_the_cache_hit_bit_and_never_the_uri() {
    for sampler in [Sampler::AlwaysOn, Sampler::AlwaysOff] {
        let _one = exclusive(sampler);
        read_page("metrics-session", 1);
        read_page("metrics-session", 1);
        read_page("metrics-session", 1);
        read_page("metrics-session", 2);
        mcp_trace::session::end("metrics-session");
        let read = |hit: bool| {
            attributes([
                ("mcp.method.name", "resources/read".into()),
                ("mcp.resource.cache_hit", hit.into()),
            ])
        };
        assert_eq!(points(), sorted(vec![(read(false), 2), (read(true), 2)]));
    }
}

#[test]
fn metrics_off_skips_the_metric_until_a_provider_is_announced() {
    let _one = exclusive(Sampler::AlwaysOn);
    // `init` told to export no metrics: the harness's meter provider stays installed,
    // yet calls record nothing on it (and the spans are unaffected).
    let guard = quiet_builder().install().expect("nothing to set up");
    search("off".to_owned(), None).unwrap();
    read_page("metrics-off-session", 1);
    mcp_trace::session::end("metrics-off-session");
    assert_eq!(points(), vec![]);
    assert_eq!(harness().spans.get_finished_spans().unwrap().len(), 2);
    drop(guard);
    // Announcing a provider turns the metric back on.
    mcp_trace::provider_changed();
    search("on".to_owned(), None).unwrap();
    assert_eq!(points(), vec![(search_attributes([]), 1)]);
}

#[test]
fn a_session_is_timed_from_start_to_end_with_its_scope() {
    let _one = exclusive(Sampler::AlwaysOff);
    let scope = || {
        mcp_trace::scope()
            .protocol_version("2025-06-18")
            .transport(mcp_trace::Transport::Tcp)
    };
    scope().run_sync(|| mcp_trace::session::start("timed-session"));
    std::thread::sleep(std::time::Duration::from_millis(30));
    mcp_trace::session::end("timed-session");
    // Not started: nothing. Ended twice: once.
    mcp_trace::session::end("never-started");
    mcp_trace::session::end("timed-session");
    scope().run_sync(|| mcp_trace::session::start("failed-session"));
    mcp_trace::session::end_with_error("failed-session", "timeout");
    let sessions: Vec<_> = exported()
        .into_iter()
        .filter(|e| e.metric == "mcp.server.session.duration")
        .collect();
    let base = attributes([
        ("mcp.protocol.version", "2025-06-18".into()),
        ("network.transport", "tcp".into()),
    ]);
    let mut failed = base.clone();
    failed.insert("error.type".to_owned(), "timeout".into());
    let mut seen: Vec<_> = sessions
        .iter()
        .map(|e| (e.attrs.clone(), e.count))
        .collect();
    seen.sort_by_key(|(attrs, _)| attrs.len());
    assert_eq!(seen, vec![(base, 1), (failed, 1)]);
    for session in &sessions {
        assert_eq!(session.bounds, BOUNDARIES, "the conventions' by default");
    }
    let timed = sessions.iter().find(|e| e.attrs.len() == 2).unwrap();
    assert!(timed.sum >= 0.03 && timed.sum < 10.0, "{}", timed.sum);
}

#[test]
fn session_boundaries_are_checked() {
    let _one = exclusive(Sampler::AlwaysOff);
    let bad = quiet_builder()
        .session_duration_boundaries([60.0, 1.0])
        .install();
    let Err(error) = bad else {
        panic!("decreasing boundaries accepted")
    };
    assert_eq!(
        error.to_string(),
        "invalid session-duration bucket boundaries: boundaries not strictly increasing"
    );
    // Refused before anything was set up: metrics still on.
    mcp_trace::session::start("after-refusal");
    mcp_trace::session::end("after-refusal");
    assert_eq!(
        exported()
            .iter()
            .filter(|e| e.metric == "mcp.server.session.duration")
            .count(),
        1
    );
}

/// The generated docs list every attribute a handler's points carry.
#[cfg(feature = "docs")]
#[test]
fn metric_attributes_are_documented() {
    let _one = exclusive(Sampler::AlwaysOff);
    search("q".to_owned(), None).unwrap();
    search(String::new(), None).unwrap_err();
    run_query("DROP").unwrap_err();
    read_page("documented-session", 1);
    mcp_trace::session::end("documented-session");
    let docs = mcp_trace::docs::json();
    let documented = |kind: &str, name: &str| -> Vec<String> {
        let entry = docs[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} in the docs"));
        entry["_meta"]["mcp-trace/metric-attributes"]
            .as_array()
            .expect("metric attributes listed")
            .iter()
            .map(|a| a["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let points = points();
    assert_eq!(points.len(), 4);
    for (attrs, _) in points {
        let (kind, name) = match attrs.get("gen_ai.tool.name") {
            Some(tool) => ("tools", tool.to_string()),
            None => ("resources", "read_page".to_owned()),
        };
        let listed = documented(kind, &name);
        for key in attrs.keys() {
            assert!(listed.contains(key), "{name}: `{key}` not documented");
        }
    }
}

/// Answers as an rmcp tool: in-band failure, a server failure, a client mistake.
#[cfg(feature = "rmcp")]
#[traced_tool]
fn answer(kind: String) -> Result<rmcp::model::CallToolResult, rmcp::ErrorData> {
    use rmcp::model::{CallToolResult, ContentBlock};
    match kind.as_str() {
        "in-band" => Ok(CallToolResult::error(vec![ContentBlock::text("no")])),
        "internal" => Err(rmcp::ErrorData::internal_error("broken", None)),
        "invalid" => Err(rmcp::ErrorData::invalid_params("bad kind", None)),
        _ => Ok(CallToolResult::success(vec![])),
    }
}

/// `tool_error`, a JSON-RPC code the conventions count as a failure, and one they count
/// as the client's mistake (the code alone), each its own series.
#[cfg(feature = "rmcp")]
#[test]
fn rmcp_outcomes_have_their_attribute_sets() {
    let _one = exclusive(Sampler::AlwaysOff);
    for kind in ["ok", "in-band", "internal", "invalid", "invalid"] {
        let _ = answer(kind.to_owned());
    }
    let answer = |extra: &[(&str, &str)]| {
        let mut all = attributes([
            ("mcp.method.name", "tools/call".into()),
            ("gen_ai.operation.name", "execute_tool".into()),
            ("gen_ai.tool.name", "answer".into()),
            ("mcp.tool.args.schema_valid", true.into()),
        ]);
        for (k, v) in extra {
            all.insert((*k).to_owned(), v.to_string().into());
        }
        all
    };
    assert_eq!(
        points(),
        sorted(vec![
            (answer(&[]), 1),
            (answer(&[("error.type", "tool_error")]), 1),
            (
                answer(&[
                    ("error.type", "-32603"),
                    ("rpc.response.status_code", "-32603")
                ]),
                1
            ),
            (answer(&[("rpc.response.status_code", "-32602")]), 2),
        ])
    );
}

#[traced_tool]
async fn never_done(n: u32) -> u32 {
    std::future::pending::<()>().await;
    n
}

/// A call dropped unfinished (the client gave up) is counted, with no error type: the
/// server did not fail.
#[test]
fn cancelled_calls_are_counted_without_an_error() {
    let _one = exclusive(Sampler::AlwaysOn);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(5), never_done(1)).await;
        assert!(gave_up.is_err());
    });
    assert_eq!(
        points(),
        vec![(
            attributes([
                ("mcp.method.name", "tools/call".into()),
                ("gen_ai.operation.name", "execute_tool".into()),
                ("gen_ai.tool.name", "never_done".into()),
                ("mcp.tool.args.schema_valid", true.into()),
            ]),
            1
        )]
    );
    let spans = harness().spans.get_finished_spans().unwrap();
    let cancelled = spans
        .iter()
        .find(|s| s.name == "tools/call never_done")
        .unwrap();
    assert!(
        cancelled
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "mcp.call.cancelled")
    );
}

/// A plain (untraced) rmcp server: `search` answers, `broken` answers `isError`.
#[cfg(feature = "client")]
#[derive(Clone)]
struct PlainServer;

#[cfg(feature = "client")]
impl rmcp::ServerHandler for PlainServer {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        rmcp::model::ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: rmcp::service::RequestContext<rmcp::service::RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, rmcp::ErrorData> {
        let schema = |v: serde_json::Value| std::sync::Arc::new(v.as_object().unwrap().clone());
        Ok(rmcp::model::ListToolsResult::with_all_items(vec![
            rmcp::model::Tool::new(
                "search",
                "Search",
                schema(
                    serde_json::json!({"type": "object", "properties": {"q": {"type": "string"}}}),
                ),
            ),
            rmcp::model::Tool::new(
                "broken",
                "Fails",
                schema(serde_json::json!({"type": "object"})),
            ),
        ]))
    }

    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        _context: rmcp::service::RequestContext<rmcp::service::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        use rmcp::model::{CallToolResult, ContentBlock};
        Ok(match request.name.as_ref() {
            "search" => CallToolResult::success(vec![ContentBlock::text("ok")]),
            _ => CallToolResult::error(vec![ContentBlock::text("broken")]),
        }
        .into())
    }
}

/// The client side's two metrics: one point per request kind and outcome, a tool the
/// server listed by its name and one it did not as `_OTHER`, the schema verdict against
/// the listed schema, and the session from `initialize` to the close.
#[cfg(feature = "client")]
#[test]
fn client_requests_and_sessions_are_measured() {
    use rmcp::ServiceExt;
    let _one = exclusive(Sampler::AlwaysOn);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (server_end, client_end) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let running = PlainServer.serve(server_end).await.expect("server starts");
            running.waiting().await.ok();
        });
        let client = ().serve(mcp_trace::rmcp::client::traced(client_end)).await.unwrap();
        let call = |tool: &str, args: serde_json::Value| {
            rmcp::model::CallToolRequestParams::new(tool.to_owned())
                .with_arguments(args.as_object().unwrap().clone())
        };
        // Before the list, `search` is a name the agent chose: `_OTHER`.
        client
            .call_tool(call("search", serde_json::json!({"q": "a"})))
            .await
            .unwrap();
        client.list_all_tools().await.unwrap();
        client
            .call_tool(call("search", serde_json::json!({"q": "b"})))
            .await
            .unwrap();
        // Twice unchanged: the second repeats the first.
        for _ in 0..2 {
            client
                .call_tool(call("search", serde_json::json!({"q": 7})))
                .await
                .unwrap();
        }
        client
            .call_tool(call("broken", serde_json::json!({})))
            .await
            .unwrap();
        client.cancel().await.unwrap();
        server.await.unwrap();
    });
    let all = exported();
    let points = |name: &str| {
        sorted(
            all.iter()
                .filter(|e| e.metric == name)
                .map(|e| {
                    assert_eq!(e.bounds, BOUNDARIES);
                    (e.attrs.clone(), e.count)
                })
                .collect(),
        )
    };
    let with = |pairs: &[(&str, Value)]| {
        let mut attrs = attributes([
            ("mcp.protocol.version", Value::from("2025-11-25")),
            ("network.transport", Value::from("pipe")),
        ]);
        for (k, v) in pairs {
            attrs.insert((*k).to_owned(), v.clone());
        }
        attrs
    };
    let tool = |name: &str, extra: &[(&str, Value)]| {
        let mut pairs = vec![
            ("mcp.method.name", Value::from("tools/call")),
            ("gen_ai.operation.name", Value::from("execute_tool")),
            ("gen_ai.tool.name", Value::from(name.to_owned())),
        ];
        pairs.extend(extra.iter().cloned());
        if !pairs.iter().any(|(k, _)| *k == "mcp.tool.call.repeated") {
            pairs.push(("mcp.tool.call.repeated", false.into()));
        }
        with(&pairs)
    };
    assert_eq!(
        points("mcp.client.operation.duration"),
        sorted(vec![
            (with(&[("mcp.method.name", "initialize".into())]), 1),
            (with(&[("mcp.method.name", "tools/list".into())]), 1),
            (tool("_OTHER", &[]), 1),
            (
                tool("search", &[("mcp.tool.args.schema_valid", true.into())]),
                1
            ),
            (
                tool("search", &[("mcp.tool.args.schema_valid", false.into())]),
                1
            ),
            (
                tool(
                    "search",
                    &[
                        ("mcp.tool.args.schema_valid", false.into()),
                        ("mcp.tool.call.repeated", true.into())
                    ]
                ),
                1
            ),
            (
                tool(
                    "broken",
                    &[
                        ("mcp.tool.args.schema_valid", true.into()),
                        ("error.type", "tool_error".into())
                    ]
                ),
                1
            ),
        ])
    );
    assert_eq!(points("mcp.client.session.duration"), vec![(with(&[]), 1)]);
}

#[cfg(feature = "rmcp")]
mod adapter_server {
    use mcp_trace::traced_tool;
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::handler::server::wrapper::Parameters;
    use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
    use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};

    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    pub struct LookupArgs {
        pub query: String,
        #[schemars(range(min = 1, max = 100))]
        #[allow(dead_code)]
        pub limit: Option<u32>,
    }

    /// `lookup` is traced, `plain` is not: the adapter spans it.
    #[derive(Clone)]
    pub struct Lookups {
        #[allow(dead_code)]
        tool_router: ToolRouter<Self>,
    }

    #[tool_router]
    impl Lookups {
        pub fn new() -> Self {
            Self {
                tool_router: Self::tool_router(),
            }
        }

        #[traced_tool]
        #[tool(description = "Look something up")]
        async fn lookup(
            &self,
            Parameters(args): Parameters<LookupArgs>,
        ) -> Result<CallToolResult, ErrorData> {
            Ok(CallToolResult::success(vec![ContentBlock::text(
                args.query,
            )]))
        }

        #[tool(description = "Not traced")]
        async fn plain(
            &self,
            Parameters(args): Parameters<LookupArgs>,
        ) -> Result<CallToolResult, ErrorData> {
            Ok(CallToolResult::success(vec![ContentBlock::text(
                args.query,
            )]))
        }
    }

    #[tool_handler]
    impl ServerHandler for Lookups {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }
    }
}

/// The verdict on the metric with every span sampled out, on each path through the
/// adapter that records one: a traced handler checking the raw arguments (valid, and
/// deserializable but against the schema), arguments that fail to deserialize so no
/// handler runs (traced tool or not), and an untraced tool the adapter spans itself.
/// Notifications are counted too, by method, `_OTHER` outside the conventions' set.
#[cfg(feature = "rmcp")]
#[test]
fn adapter_verdicts_and_notifications_reach_the_metric_sampled_out() {
    use rmcp::ServiceExt;
    use rmcp::model::{CallToolRequestParams, ClientNotification, CustomNotification};
    let _one = exclusive(Sampler::AlwaysOff);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (server_end, client_end) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let running = mcp_trace::rmcp::TracedServer::new(adapter_server::Lookups::new())
                .serve(server_end)
                .await
                .expect("server starts");
            running.waiting().await.ok();
        });
        let client = ().serve(client_end).await.unwrap();
        let calls = [
            ("lookup", serde_json::json!({"query": "a"})),
            ("lookup", serde_json::json!({"query": "a", "limit": 500})),
            ("lookup", serde_json::json!({"query": 5})),
            ("plain", serde_json::json!({"query": "a"})),
            ("plain", serde_json::json!({"query": 5})),
            ("plain", serde_json::json!({"query": 5})),
        ];
        for (tool, args) in calls {
            let params = CallToolRequestParams::new(tool.to_owned())
                .with_arguments(args.as_object().unwrap().clone());
            let _ = client.call_tool(params).await;
        }
        client.notify_roots_list_changed().await.unwrap();
        client
            .send_notification(ClientNotification::CustomNotification(
                CustomNotification::new("vendor/event", None),
            ))
            .await
            .unwrap();
        // Answered after both notifications were handled: the server handles messages
        // in order.
        client.list_all_tools().await.unwrap();
        client.cancel().await.unwrap();
        server.await.unwrap();
    });
    let with = |pairs: &[(&str, Value)]| {
        let mut attrs = attributes([
            ("mcp.protocol.version", Value::from("2025-11-25")),
            ("network.transport", Value::from("pipe")),
        ]);
        for (k, v) in pairs {
            attrs.insert((*k).to_owned(), v.clone());
        }
        attrs
    };
    // Whether the call repeated the tool's previous one in the session: the hash is
    // taken for that with the span sampled out.
    let tool = |name: &str, valid: bool, repeated: bool, extra: &[(&str, Value)]| {
        let mut pairs = vec![
            ("mcp.method.name", Value::from("tools/call")),
            ("gen_ai.operation.name", Value::from("execute_tool")),
            ("gen_ai.tool.name", Value::from(name.to_owned())),
            ("mcp.tool.args.schema_valid", valid.into()),
            ("mcp.tool.call.repeated", repeated.into()),
        ];
        pairs.extend(extra.iter().cloned());
        with(&pairs)
    };
    // rmcp answers arguments it cannot deserialize in band (`isError`).
    let undeserializable = [("error.type", Value::from("tool_error"))];
    assert_eq!(
        points(),
        sorted(vec![
            // `initialize` carries the version the client asked for (rmcp's latest).
            (
                with(&[
                    ("mcp.method.name", "initialize".into()),
                    ("mcp.protocol.version", "2026-07-28".into())
                ]),
                1
            ),
            (
                with(&[("mcp.method.name", "notifications/initialized".into())]),
                1
            ),
            (
                with(&[("mcp.method.name", "notifications/roots/list_changed".into())]),
                1
            ),
            (with(&[("mcp.method.name", "_OTHER".into())]), 1),
            (with(&[("mcp.method.name", "tools/list".into())]), 1),
            (tool("lookup", true, false, &[]), 1),
            (tool("lookup", false, false, &[]), 1),
            (tool("lookup", false, false, &undeserializable), 1),
            (tool("plain", true, false, &[]), 1),
            (tool("plain", false, false, &undeserializable), 1),
            // The same arguments again.
            (tool("plain", false, true, &undeserializable), 1),
        ])
    );
    assert!(harness().spans.get_finished_spans().unwrap().is_empty());
}

/// A builder that exports nothing: no spans, no metrics, no logs.
#[allow(dead_code)]
fn quiet_builder() -> mcp_trace::Builder {
    let builder = mcp_trace::Builder::new()
        .exporter(mcp_trace::Exporter::None)
        .metrics_exporter(mcp_trace::MetricsExporter::None);
    #[cfg(feature = "logs")]
    let builder = builder.logs_exporter(mcp_trace::LogsExporter::None);
    builder
}

/// MCP 2026-07-28 multi-round requests: a tool that asks twice before it answers is
/// three rounds, three spans, and one call on the metric, from the first round's start
/// to the last round's end; with every span sampled out, still one call.
#[cfg(feature = "client")]
mod rounds {
    use super::*;
    use mcp_trace::traced_tool;
    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry_sdk::trace::SpanData;
    use rmcp::model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig,
        ContentBlock, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
        ElicitationSchema, Implementation, InputRequest, InputRequiredResult, ProtocolVersion,
        ServerCapabilities, ServerConfig,
    };
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RoleClient};
    use rmcp::{ClientHandler, ErrorData, ServerHandler};

    /// What a round answers, by the state the client echoed: two questions, then done.
    /// `stateless` asks once with no state at all, and is done once answered.
    fn answer(tool: &str, state: Option<&str>, answered: bool) -> CallToolResponse {
        let ask = |next: Option<&str>| {
            let question = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: "SECRET-question".to_owned(),
                requested_schema: ElicitationSchema::builder().build_unchecked(),
            };
            let requests = [(
                "confirm".to_owned(),
                InputRequest::Elicitation(ElicitRequest::new(question)),
            )];
            CallToolResponse::InputRequired(InputRequiredResult::new(
                Some(requests.into_iter().collect()),
                next.map(str::to_owned),
            ))
        };
        match (tool, state) {
            ("stateless", _) if !answered => ask(None),
            ("stateless", _) => CallToolResult::success(vec![ContentBlock::text("done")]).into(),
            (_, None) => ask(Some("SECRET-state-1")),
            (_, Some("SECRET-state-1")) => ask(Some("SECRET-state-2")),
            _ => CallToolResult::success(vec![ContentBlock::text("done")]).into(),
        }
    }

    #[traced_tool(skip(state))]
    async fn approve(state: Option<String>) -> Result<CallToolResponse, ErrorData> {
        Ok(answer("approve", state.as_deref(), false))
    }

    #[derive(Clone)]
    struct Asking;

    impl ServerHandler for Asking {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }

        async fn call_tool(
            &self,
            request: CallToolRequestParams,
            _context: rmcp::service::RequestContext<rmcp::service::RoleServer>,
        ) -> Result<CallToolResponse, ErrorData> {
            match request.name.as_ref() {
                "approve" => approve(request.request_state).await,
                // Not traced: the adapter's spans.
                tool => Ok(answer(
                    tool,
                    request.request_state.as_deref(),
                    request.input_responses.is_some(),
                )),
            }
        }
    }

    /// Answers every question yes.
    #[derive(Clone)]
    struct Agent;

    impl ClientHandler for Agent {
        async fn create_elicitation(
            &self,
            _request: ElicitRequestParams,
            _context: RequestContext<RoleClient>,
        ) -> Result<ElicitResult, ErrorData> {
            Ok(ElicitResult::new(ElicitationAction::Accept))
        }

        fn get_info(&self) -> ClientConfig {
            ClientConfig::new(
                ClientCapabilities::builder().enable_elicitation().build(),
                Implementation::new("agent", "0"),
            )
        }
    }

    /// Calls each tool once (the client drives the rounds) over 2026-07-28.
    fn converse(tools: &[&str]) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (server_end, client_end) = tokio::io::duplex(1 << 16);
            let server = tokio::spawn(async move {
                use rmcp::ServiceExt;
                let running = mcp_trace::rmcp::TracedServer::new(Asking)
                    .serve(server_end)
                    .await
                    .expect("server starts");
                running.waiting().await.ok();
            });
            let lifecycle = ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            };
            let client = Agent
                .serve_with_lifecycle(client_end, lifecycle)
                .await
                .expect("server/discover");
            for tool in tools {
                let done = client
                    .call_tool(CallToolRequestParams::new(tool.to_string()))
                    .await
                    .expect("the rounds end");
                assert_eq!(done.is_error, Some(false));
            }
            client.cancel().await.unwrap();
            server.await.unwrap();
        });
    }

    fn tool_point(tool: &str) -> BTreeMap<String, Value> {
        let mut point = attributes([
            ("mcp.method.name", "tools/call".into()),
            ("gen_ai.operation.name", "execute_tool".into()),
            ("gen_ai.tool.name", tool.to_owned().into()),
            ("mcp.protocol.version", "2026-07-28".into()),
            ("network.transport", "pipe".into()),
        ]);
        // The traced handler checks its (empty) arguments against its own schema.
        if tool == "approve" {
            point.insert("mcp.tool.args.schema_valid".to_owned(), true.into());
        }
        // Later rounds are the same call, no repeat; but a retry the server cannot
        // match to its first round (it asked with no state) is the same arguments
        // again.
        point.insert(
            "mcp.tool.call.repeated".to_owned(),
            (tool == "stateless").into(),
        );
        point
    }

    /// The one `server/discover` of a conversation.
    fn discover_point() -> (BTreeMap<String, Value>, u64) {
        let point = attributes([
            ("mcp.method.name", "server/discover".into()),
            ("mcp.protocol.version", "2026-07-28".into()),
            ("network.transport", "pipe".into()),
        ]);
        (point, 1)
    }

    /// The spans of `tool`'s rounds, in order.
    fn rounds_of(tool: &str) -> Vec<SpanData> {
        let name = format!("tools/call {tool}");
        let mut spans: Vec<SpanData> = harness()
            .spans
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.name == name && s.span_kind == SpanKind::Server)
            .collect();
        spans.sort_by_key(|s| s.start_time);
        spans
    }

    /// The round attributes of a span: everything under `mcp.request.`, each once.
    fn round_attributes(span: &SpanData) -> BTreeMap<String, Value> {
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "a key twice: {keys:?}");
        span.attributes
            .iter()
            .filter(|kv| {
                kv.key.as_str().starts_with("mcp.request.round")
                    || kv.key.as_str() == "mcp.request.input_required"
            })
            .map(|kv| (kv.key.to_string(), kv.value.clone()))
            .collect()
    }

    #[test]
    fn three_rounds_are_one_call() {
        let _one = exclusive(Sampler::AlwaysOn);
        converse(&["approve", "approve_plain"]);
        for tool in ["approve", "approve_plain"] {
            let spans = rounds_of(tool);
            let [first, second, last] = &spans[..] else {
                panic!("three rounds of {tool}: {spans:#?}");
            };
            assert_eq!(
                round_attributes(first),
                attributes([
                    ("mcp.request.round", 1.into()),
                    ("mcp.request.input_required", true.into()),
                ]),
                "{tool}"
            );
            assert!(first.links.is_empty());
            assert_eq!(
                round_attributes(second),
                attributes([
                    ("mcp.request.round", 2.into()),
                    ("mcp.request.input_required", true.into()),
                ]),
                "{tool}"
            );
            let mut last_rounds = round_attributes(last);
            let Some(Value::F64(seconds)) = last_rounds.remove("mcp.request.rounds_duration")
            else {
                panic!("{tool}: the call's duration on its last round: {last_rounds:?}");
            };
            assert_eq!(
                last_rounds,
                attributes([
                    ("mcp.request.round", 3.into()),
                    ("mcp.request.rounds", 3.into()),
                ]),
                "{tool}"
            );
            let whole = last
                .end_time
                .duration_since(first.start_time)
                .unwrap()
                .as_secs_f64();
            assert!((seconds - whole).abs() < 1e-6, "{seconds} vs {whole}");
            for later in [second, last] {
                let linked: Vec<_> = later
                    .links
                    .iter()
                    .map(|link| link.span_context.span_id())
                    .collect();
                assert_eq!(linked, vec![first.span_context.span_id()], "{tool}");
            }
            // The metric's one record is the same whole duration.
            let recorded = exported()
                .into_iter()
                .find(|e| e.attrs == tool_point(tool))
                .expect("the call's point");
            assert!((recorded.sum - seconds).abs() < 1e-6, "{}", recorded.sum);
            // Asking is no failure, and nothing of the state or the question leaves.
            for span in &spans {
                assert!(!format!("{span:?}").contains("SECRET"), "{span:?}");
                assert_eq!(span.status, Status::Unset, "{tool}");
                assert!(!common_attrs(span).contains_key("error.type"));
            }
        }
        assert_eq!(
            points(),
            sorted(vec![
                (tool_point("approve"), 1),
                (tool_point("approve_plain"), 1),
                discover_point(),
            ]),
        );
    }

    fn common_attrs(span: &SpanData) -> BTreeMap<String, Value> {
        span.attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.clone()))
            .collect()
    }

    #[test]
    fn rounds_count_once_with_every_span_sampled_out() {
        let _one = exclusive(Sampler::AlwaysOff);
        converse(&["approve", "approve_plain", "stateless"]);
        assert!(harness().spans.get_finished_spans().unwrap().is_empty());
        assert_eq!(
            points(),
            sorted(vec![
                (tool_point("approve"), 1),
                (tool_point("approve_plain"), 1),
                // Asked with no state: its retry counts the call, once.
                (tool_point("stateless"), 1),
                discover_point(),
            ]),
        );
    }
}
