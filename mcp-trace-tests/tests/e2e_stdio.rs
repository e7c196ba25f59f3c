//! End to end over stdio: rmcp's own client drives `examples/stdio_server` in a child
//! process that exports over OTLP/HTTP to a receiver started here. After the client
//! closes, the server must have exported every span; the spans are checked attribute
//! by attribute, and no argument value may appear anywhere in the bytes received.
#![cfg(all(
    feature = "rmcp",
    feature = "otlp",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check",
    feature = "read-tracking"
))]

mod common;

use common::otlp::{Receiver, attributes, spans};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, RequestMetaObject};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;

/// Sentinels that must never leave the server process.
const QUERY_SENTINEL: &str = "intro SENTINEL-QUERY-7f3a9c";
const SQL_SENTINEL: &str = "DELETE FROM SENTINEL_TABLE_52be";

/// A `_meta` carrying a traceparent whose trace id names the call.
fn meta(trace: u8) -> (RequestMetaObject, String, String) {
    let trace_id = format!("{:032x}", 0xabc0_0000_u128 + u128::from(trace));
    let parent = format!("{:016x}", 0x00f0_67aa_0000_u64 + u64::from(trace));
    let object = json!({"traceparent": format!("00-{trace_id}-{parent}-01")});
    let Value::Object(map) = object else {
        unreachable!()
    };
    (RequestMetaObject::from(map), trace_id, parent)
}

fn call(name: &'static str, arguments: Value, trace: u8) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    let mut params = CallToolRequestParams::new(name).with_arguments(arguments);
    params.meta = Some(meta(trace).0);
    params
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_server_exports_every_span_with_every_attribute() {
    let binary = common::example_binary("stdio_server");
    assert!(
        binary.exists(),
        "build the example first: {}",
        binary.display()
    );
    let receiver = Receiver::start();
    let mut command = tokio::process::Command::new(&binary);
    common::export_to(command.as_std_mut(), &receiver.endpoint());
    let mut child = command
        .env("OTEL_SERVICE_NAME", "e2e-stdio")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("example server starts");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let client = ().serve((stdout, stdin)).await.expect("initialize");

    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 5);

    // 1. valid, then the identical call again (same hash)
    let mut search_result_size = 0;
    for trace in [1, 2] {
        let result = client
            .call_tool(call(
                "search_documents",
                json!({"query": QUERY_SENTINEL, "limit": 2}),
                trace,
            ))
            .await
            .expect("valid call");
        assert_eq!(result.is_error, Some(false));
        // What the client received, in bytes of JSON: the call's context cost.
        search_result_size = serde_json::to_string(&result).unwrap().len();
    }
    // 3. schema violation that still deserializes
    client
        .call_tool(call(
            "search_documents",
            json!({"query": "q", "limit": 500}),
            3,
        ))
        .await
        .expect("out-of-range limit is served");
    // 4. arguments that fail to deserialize
    let bad = client
        .call_tool(call(
            "create_issue",
            json!({"title": "t", "body": "b", "priority": "high"}),
            4,
        ))
        .await
        .expect("rmcp answers in-band");
    assert_eq!(bad.is_error, Some(true));
    // 5. a tool error
    let tool_error = client
        .call_tool(call(
            "create_issue",
            json!({"title": " ", "body": "b", "priority": 2}),
            5,
        ))
        .await
        .expect("in-band tool error");
    assert_eq!(tool_error.is_error, Some(true));
    // 6. a JSON-RPC error
    let rpc_error = client
        .call_tool(call("run_query", json!({"sql": SQL_SENTINEL}), 6))
        .await;
    assert!(rpc_error.is_err());
    // 7, 8. the same resource twice
    for trace in [7, 8] {
        let params = ReadResourceRequestParams::new("docs://intro").with_meta(meta(trace).0);
        client.read_resource(params).await.expect("resources/read");
    }

    // The client closes: the server sees EOF on stdin, and must export before exiting.
    client.cancel().await.expect("client closes");
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("server exits after the client closes")
        .expect("server status");
    assert!(status.success(), "server exit status {status}");
    let received = receiver.stop();

    // Nothing the client sent as an argument value reached the receiver.
    for r in &received {
        let bytes = String::from_utf8_lossy(&r.body);
        assert!(
            !bytes.contains("SENTINEL"),
            "an argument value was exported"
        );
        assert!(
            ["/v1/traces", "/v1/logs"].contains(&r.path.as_str()),
            "{}",
            r.path
        );
    }

    // Each search_documents call wrote one `tracing` event: one log record, carrying
    // the call's trace and span ids (the `logs` feature, over the same OTLP endpoint).
    #[cfg(feature = "logs")]
    {
        let records = common::otlp::log_records(&received);
        let searches: Vec<_> = spans(&received)
            .into_iter()
            .filter(|s| s.name == "tools/call search_documents")
            .collect();
        assert!(!searches.is_empty());
        assert_eq!(records.len(), searches.len(), "one record per search");
        for span in searches {
            let record = records
                .iter()
                .find(|r| r.span_id == span.span_id)
                .expect("a log record in the search's span");
            assert_eq!(record.trace_id, span.trace_id);
            assert_eq!(record.severity_text, "INFO");
            assert_eq!(
                common::otlp::value(&record.body),
                json!("searched the documents")
            );
            assert!(attributes(&record.attributes).contains_key("hits"));
        }
    }

    let spans = spans(&received);
    let by_trace = |trace: u8| {
        let (_, trace_id, parent) = meta(trace);
        let matching: Vec<_> = spans
            .iter()
            .filter(|s| s.trace_id == hex(&trace_id))
            .collect();
        assert_eq!(matching.len(), 1, "exactly one span for call {trace}");
        let span = *matching[0];
        assert_eq!(
            span.parent_span_id,
            hex(&parent),
            "parent from _meta.traceparent"
        );
        assert_eq!(span.kind, SpanKind::Server as i32);
        (
            span.name.clone(),
            attributes(&span.attributes),
            span.status.clone().unwrap_or_default().code,
        )
    };
    let session = {
        let (_, attrs, _) = by_trace(1);
        attrs["mcp.session.id"].as_str().unwrap().to_owned()
    };
    let common = |id: u64| {
        BTreeMap::from([
            ("mcp.session.id".to_owned(), json!(session)),
            ("jsonrpc.request.id".to_owned(), json!(id.to_string())),
            ("network.transport".to_owned(), json!("pipe")),
            ("mcp.protocol.version".to_owned(), json!("2025-11-25")),
        ])
    };
    let tool = |name: &str, id: u64, extra: Value| {
        let mut expected = common(id);
        for (k, v) in [
            ("mcp.method.name", json!("tools/call")),
            ("gen_ai.operation.name", json!("execute_tool")),
            ("gen_ai.tool.name", json!(name)),
            ("mcp.tool.name", json!(name)),
        ] {
            expected.insert(k.to_owned(), v);
        }
        for (k, v) in extra.as_object().unwrap() {
            expected.insert(k.clone(), v.clone());
        }
        // The definition the server advertised for it.
        #[cfg(feature = "args-hash")]
        if let Some(advertised) = tools.iter().find(|t| t.name == name) {
            expected.insert(
                "mcp.tool.definition.hash".to_owned(),
                json!(common::definition_hash(advertised)),
            );
            expected.insert(
                "mcp.tool.definition.size".to_owned(),
                json!(serde_json::to_string(advertised).unwrap().len()),
            );
        }
        expected
    };
    let hash = |v: Value| json!(mcp_trace::args_hash(&v));
    let protocol = by_trace(1).1["mcp.protocol.version"].clone();
    let fix_protocol = |mut m: BTreeMap<String, Value>| {
        m.insert("mcp.protocol.version".into(), protocol.clone());
        m
    };
    let search = json!({
        "mcp.tool.args.query.length": QUERY_SENTINEL.chars().count(),
        "mcp.tool.args.limit.present": true,
        "mcp.tool.args.limit": 2,
        "mcp.tool.args.filters.present": false,
        "mcp.tool.args.hash": hash(json!({"query": QUERY_SENTINEL, "limit": 2})),
        "mcp.tool.args.schema_valid": true,
        "mcp.tool.result.count": 1,
        "mcp.tool.result.size": search_result_size,
    });
    let (name1, attrs1, code1) = by_trace(1);
    let (_, attrs2, _) = by_trace(2);
    assert_eq!(name1, "tools/call search_documents");
    assert_eq!(code1, 0);
    // Request ids are assigned by the client in order after initialize (0) and
    // tools/list (1).
    let id1 = attrs1["jsonrpc.request.id"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    // The same arguments twice in the session: a run of two.
    let in_run = |run: i64| {
        let mut attrs = search.clone();
        attrs["mcp.tool.call.repeat_run"] = json!(run);
        attrs
    };
    assert_eq!(
        attrs1,
        fix_protocol(tool("search_documents", id1, in_run(1)))
    );
    assert_eq!(
        attrs2,
        fix_protocol(tool("search_documents", id1 + 1, in_run(2)))
    );

    let (_, attrs3, _) = by_trace(3);
    assert_eq!(attrs3["mcp.tool.args.schema_valid"], json!(false));
    assert_eq!(attrs3["mcp.tool.args.schema_error_path"], json!("/limit"));
    assert_eq!(
        attrs3["mcp.tool.args.schema_error_message"],
        json!("value is greater than the maximum of 100")
    );
    assert_eq!(attrs3["mcp.tool.args.schema_error_count"], json!(1));

    let (name4, attrs4, code4) = by_trace(4);
    assert_eq!(name4, "tools/call create_issue");
    assert_eq!(code4, 2, "status ERROR");
    assert_eq!(
        attrs4["error.type"],
        json!("tool_error"),
        "undeserializable arguments, answered with an in-band error result"
    );
    assert_eq!(attrs4["mcp.tool.args.priority.length"], json!(4));
    assert_eq!(
        attrs4["mcp.tool.args.schema_error_path"],
        json!("/priority")
    );
    assert!(
        !attrs4.contains_key("rpc.response.status_code"),
        "answered in-band"
    );

    let (_, attrs5, code5) = by_trace(5);
    assert_eq!(code5, 2);
    assert_eq!(attrs5["error.type"], json!("tool_error"));

    let (name6, attrs6, code6) = by_trace(6);
    assert_eq!(name6, "tools/call run_query");
    assert_eq!(
        code6, 0,
        "invalid params: the client's mistake, status unset"
    );
    assert!(!attrs6.contains_key("error.type"));
    assert_eq!(attrs6["rpc.response.status_code"], json!("-32602"));
    assert_eq!(
        attrs6["mcp.tool.args.sql.length"],
        json!(SQL_SENTINEL.len())
    );

    for (trace, count) in [(7, 1), (8, 2)] {
        let (name, attrs, _) = by_trace(trace);
        assert_eq!(name, "resources/read");
        assert_eq!(attrs["mcp.resource.uri"], json!("docs://intro"));
        assert_eq!(attrs["mcp.resource.name"], json!("docs"));
        assert_eq!(attrs["mcp.resource.template"], json!("docs://{page}"));
        assert_eq!(attrs["mcp.session.id"], json!(session));
        assert_eq!(attrs["mcp.resource.read_count"], json!(count));
        assert_eq!(attrs["mcp.resource.cache_hit"], json!(count > 1));
        assert_eq!(attrs["mcp.resource.content.length"], json!(33));
    }

    // What listing the tools costs a model's context: the list's definitions, in
    // bytes of JSON, as the client received them.
    let listed = spans
        .iter()
        .find(|s| s.name == "tools/list")
        .expect("the tools/list span");
    assert_eq!(
        attributes(&listed.attributes)["mcp.tools.definitions.size"],
        json!(serde_json::to_string(&tools).unwrap().len())
    );

    // initialize, tools/list and the client's `notifications/initialized` have their
    // own spans; nothing else is left over.
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"initialize") && names.contains(&"tools/list"),
        "{names:?}"
    );
    let initialized: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "notifications/initialized")
        .collect();
    let [initialized] = &initialized[..] else {
        panic!("one notifications/initialized span: {names:?}")
    };
    let attrs: std::collections::BTreeMap<String, serde_json::Value> =
        attributes(&initialized.attributes);
    assert_eq!(
        attrs,
        [
            ("mcp.method.name", json!("notifications/initialized")),
            ("mcp.session.id", json!(session)),
            ("mcp.protocol.version", json!("2025-11-25")),
            ("network.transport", json!("pipe")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    );
    assert_eq!(
        spans.len(),
        3 + 8,
        "one span per request and notification: {names:?}"
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
