//! `mcp-trace proxy` over stdio, end to end, against servers nobody here wrote: a
//! server made with the official Python SDK (PyPI `mcp`), driven by a client that
//! writes JSON-RPC lines itself, once directly and once through the proxy. The answers
//! must be the same bytes; the spans exact, the argument hash the one Python's recipe
//! computes, and no argument value or error message in any exported byte. Then the
//! faults: a server that dies mid-call, a server that exits with a status of its own,
//! a line that is not JSON, a server that ignores its stdin closing and SIGTERM, a
//! collector that is down.
//!
//! Without the SDK (`MCP_TRACE_PYTHON`, else the venv `.ci/run` makes), the Python
//! tests say so loudly and skip; the fault tests need only `sh`.
#![cfg(feature = "proxy")]

mod proxy_support;

use proxy_support::{
    Client, PROXY, Scratch, exited, metric_points, named, python, python_server, spans, spawn,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// The hash Python's recipe computes for `arguments`: SHA-256 of `json.dumps(…,
/// sort_keys=True)`, its first 16 hex digits.
fn python_hash(python: &Path, arguments: &Value) -> String {
    let script = "import hashlib, json, sys\n\
                  args = json.loads(sys.argv[1])\n\
                  print(hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16])";
    let out = Command::new(python)
        .args(["-c", script, &arguments.to_string()])
        .output()
        .expect("python runs");
    String::from_utf8(out.stdout)
        .expect("text")
        .trim()
        .to_owned()
}

/// The conversation both runs hold, one request at a time; the answers as written.
fn converse(client: &mut Client) -> Vec<String> {
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "raw", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "search_documents", "arguments": {"query": "SECRET-query", "limit": 3},
            "_meta": {"traceparent": traceparent}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "search_documents", "arguments": {"query": 5}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
            "name": "always_fails", "arguments": {"reason": "SECRET-reason"}}}),
        json!({"jsonrpc": "2.0", "id": "six", "method": "resources/read", "params": {"uri": "doc://readme"}}),
        json!({"jsonrpc": "2.0", "id": 7, "method": "prompts/get", "params": {
            "name": "summarize", "arguments": {"topic": "SECRET-topic"}}}),
        json!({"jsonrpc": "2.0", "id": 8, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 9, "method": "vendor/unknown"}),
        json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {
            "name": "delete_document", "arguments": {"name": "SECRET-name"}}}),
        json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {
            "name": "build_report", "arguments": {"pages": 3}, "_meta": {"progressToken": "p-11"}}}),
    ];
    let mut answers = Vec::new();
    let mut seen = Vec::new();
    for (n, request) in requests.iter().enumerate() {
        client.send(request);
        answers.push(client.answer(&request["id"], &mut seen));
        if n == 0 {
            client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        }
    }
    answers
}

#[test]
fn a_python_sdk_server_through_the_proxy() {
    let Some(python) = python() else { return };
    let server = python_server();
    let server = [
        python.to_str().expect("a path"),
        server.to_str().expect("a path"),
    ];

    let direct_scratch = Scratch::new("direct");
    let mut direct = spawn(&server, false, &direct_scratch);
    let expected = converse(&mut Client::of(&mut direct));
    drop(direct.stdin.take());
    let _ = direct.kill();
    let _ = direct.wait();

    let scratch = Scratch::new("proxied");
    let mut proxied = spawn(&server, true, &scratch);
    let mut client = Client::of(&mut proxied);
    let answers = converse(&mut client);
    drop(client);
    assert_eq!(exited(proxied), 0, "the server's own status");
    assert_eq!(
        answers, expected,
        "the same bytes, with and without the proxy"
    );

    let file = scratch.0.join("spans.jsonl");
    // Every file exported: spans, metrics, the mirrored log records.
    let mut exported = String::new();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&scratch.0)
        .expect("the scratch folder")
        .flatten()
    {
        names.push(entry.file_name().to_string_lossy().into_owned());
        exported.push_str(&std::fs::read_to_string(entry.path()).expect("an exported file"));
    }
    names.sort();
    assert_eq!(
        names,
        ["spans.jsonl", "spans.logs.jsonl", "spans.metrics.jsonl"]
    );
    for secret in [
        "SECRET",
        "validation error",
        "pydantic",
        "Delete",
        "confirm",
    ] {
        if let Some(at) = exported.find(secret) {
            panic!(
                "{secret} exported: {}",
                &exported[at.saturating_sub(300)..(at + 100).min(exported.len())]
            );
        }
    }
    let (spans, services) = spans(&file);
    assert!(
        services.iter().all(|s| s == "py-docs"),
        "serverInfo.name: {services:?}"
    );
    // The conversation is one session on `mcp.server.session.duration`, as the rmcp
    // adapter records one: its transport and the negotiated version.
    let sessions = metric_points(
        &scratch.0.join("spans.metrics.jsonl"),
        "mcp.server.session.duration",
    );
    let last = sessions.last().expect("a session recorded");
    assert_eq!(last["count"], json!("1"), "{last:#}");
    let attributes: BTreeMap<String, Value> = last["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["key"].as_str().unwrap_or_default().to_owned(),
                a["value"]["stringValue"].clone(),
            )
        })
        .collect();
    assert_eq!(
        attributes,
        [
            ("mcp.protocol.version", json!("2025-11-25")),
            ("network.transport", json!("pipe"))
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    );

    for span in &spans {
        assert!(
            span.times.0 > 0 && span.times.0 <= span.times.1,
            "starts before it ends: {span:#?}"
        );
    }
    let session = spans[0].attributes["mcp.session.id"].clone();
    assert_eq!(session.as_str().map(str::len), Some(32), "a keyed digest");
    let base = |pairs: &[(&str, Value)]| -> BTreeMap<String, Value> {
        let mut all: BTreeMap<String, Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        all.insert("mcp.session.id".into(), session.clone());
        all.insert("network.transport".into(), json!("pipe"));
        all
    };
    let with_protocol = |pairs: &[(&str, Value)]| {
        let mut all = base(pairs);
        all.insert("mcp.protocol.version".into(), json!("2025-11-25"));
        all
    };

    let [initialize] = &named(&spans, "initialize")[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(initialize.kind, 2, "SERVER");
    assert_eq!(
        initialize.attributes,
        with_protocol(&[
            ("mcp.method.name", json!("initialize")),
            ("jsonrpc.request.id", json!("1"))
        ])
    );
    let [initialized] = &named(&spans, "notifications/initialized")[..] else {
        panic!()
    };
    assert_eq!(
        initialized.attributes,
        with_protocol(&[("mcp.method.name", json!("notifications/initialized"))])
    );

    let [list] = &named(&spans, "tools/list")[..] else {
        panic!()
    };
    let listed: Value = serde_json::from_str(&expected[1]).expect("JSON");
    let tools = &listed["result"]["tools"];
    assert_eq!(
        list.attributes,
        with_protocol(&[
            ("mcp.method.name", json!("tools/list")),
            ("jsonrpc.request.id", json!("2")),
            ("mcp.tools.count", json!(tools.as_array().map(Vec::len))),
            ("mcp.tools.definitions.size", json!(tools.to_string().len())),
            (
                "mcp.tools.definitions.hash",
                list.attributes["mcp.tools.definitions.hash"].clone()
            ),
        ])
    );

    let calls = named(&spans, "tools/call search_documents");
    let [good, wrong] = &calls[..] else {
        panic!("{calls:#?}")
    };
    let (good, wrong) = match good.attributes["jsonrpc.request.id"] == json!("3") {
        true => (good, wrong),
        false => (wrong, good),
    };
    let search = tools
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "search_documents"))
        .expect("advertised");
    let definition = |pairs: &mut BTreeMap<String, Value>| {
        pairs.insert(
            "mcp.tool.definition.size".into(),
            json!(search.to_string().len()),
        );
        pairs.insert(
            "mcp.tool.definition.hash".into(),
            good.attributes["mcp.tool.definition.hash"].clone(),
        );
    };
    let result_size = |n: usize| {
        json!(
            serde_json::from_str::<Value>(&expected[n]).expect("JSON")["result"]
                .to_string()
                .len()
        )
    };
    let mut want = with_protocol(&[
        ("mcp.method.name", json!("tools/call")),
        ("gen_ai.operation.name", json!("execute_tool")),
        ("gen_ai.tool.name", json!("search_documents")),
        ("mcp.tool.name", json!("search_documents")),
        ("jsonrpc.request.id", json!("3")),
        ("mcp.tool.args.query.length", json!(12)),
        ("mcp.tool.args.limit", json!(3)),
        ("mcp.tool.args.limit.present", json!(true)),
        (
            "mcp.tool.args.hash",
            json!(python_hash(
                &python,
                &json!({"query": "SECRET-query", "limit": 3})
            )),
        ),
        ("mcp.tool.args.schema_valid", json!(true)),
        ("mcp.tool.call.repeat_run", json!(1)),
        ("mcp.tool.result.count", json!(1)),
        ("mcp.tool.result.size", result_size(2)),
    ]);
    definition(&mut want);
    assert_eq!(good.attributes, want);
    assert_eq!(
        good.trace, "4bf92f3577b34da6a3ce929d0e0e4736",
        "_meta's trace"
    );
    assert_eq!(good.parent, "00f067aa0ba902b7");
    assert_eq!(good.status, 0);

    // Arguments that fail the advertised schema: the verdict, and the server's in-band
    // error, never its message.
    assert_eq!(wrong.attributes["mcp.tool.args.schema_valid"], json!(false));
    assert_eq!(
        wrong.attributes["mcp.tool.args.schema_error_path"],
        json!("/query")
    );
    assert_eq!(wrong.attributes["error.type"], json!("tool_error"));
    assert_eq!(
        wrong.attributes["mcp.tool.args.hash"],
        json!(python_hash(&python, &json!({"query": 5})))
    );
    assert_eq!(wrong.status, 2, "ERROR");

    let [fails] = &named(&spans, "tools/call always_fails")[..] else {
        panic!()
    };
    assert_eq!(fails.attributes["error.type"], json!("tool_error"));
    assert_eq!(fails.attributes["mcp.tool.args.reason.length"], json!(13));

    let [read] = &named(&spans, "resources/read")[..] else {
        panic!()
    };
    assert_eq!(read.attributes["jsonrpc.request.id"], json!("six"));
    assert_eq!(read.attributes["mcp.resource.read_count"], json!(1));
    assert_eq!(
        read.attributes["mcp.resource.content.length"],
        json!("the text of readme".len())
    );
    assert!(read.attributes.contains_key("mcp.resource.uri"));

    let [prompt] = &named(&spans, "prompts/get summarize")[..] else {
        panic!()
    };
    assert_eq!(
        prompt.attributes,
        with_protocol(&[
            ("mcp.method.name", json!("prompts/get")),
            ("gen_ai.prompt.name", json!("summarize")),
            ("jsonrpc.request.id", json!("7")),
        ])
    );
    let [ping] = &named(&spans, "ping")[..] else {
        panic!()
    };
    assert_eq!(
        ping.attributes,
        with_protocol(&[
            ("mcp.method.name", json!("ping")),
            ("jsonrpc.request.id", json!("8"))
        ])
    );
    let [unknown] = &named(&spans, "_OTHER")[..] else {
        panic!()
    };
    assert_eq!(
        unknown.attributes,
        with_protocol(&[
            ("mcp.method.name", json!("vendor/unknown")),
            ("jsonrpc.request.id", json!("9")),
            ("rpc.response.status_code", json!("-32601")),
        ])
    );

    // The server's question to the user: a CLIENT span under the tool's, with the
    // user's action and nothing of the question or the answer.
    let [delete] = &named(&spans, "tools/call delete_document")[..] else {
        panic!("{spans:#?}")
    };
    let [asked] = &named(&spans, "elicitation/create")[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(asked.kind, 3, "CLIENT");
    assert_eq!(asked.trace, delete.trace);
    assert_eq!(asked.parent, delete.id);
    assert_eq!(
        asked.attributes["mcp.method.name"],
        json!("elicitation/create")
    );
    assert_eq!(asked.attributes["mcp.elicitation.action"], json!("accept"));
    assert_eq!(delete.status, 0);
    // Progress and log messages while building: events on the tool's span.
    let [report] = &named(&spans, "tools/call build_report")[..] else {
        panic!("{spans:#?}")
    };
    let progress = report
        .events
        .iter()
        .filter(|e| e["name"] == "notifications/progress")
        .count();
    assert_eq!(progress, 3, "{:#?}", report.events);
    let logs = report
        .events
        .iter()
        .filter(|e| e["name"] == "notifications/message")
        .count();
    assert_eq!(logs, 3, "{:#?}", report.events);
    assert_eq!(
        spans.len(),
        13,
        "one span per message the host sent, and the server's question: {spans:#?}"
    );
}

/// A server that reads one request and dies without answering: the request's span
/// ends `transport_closed`, and the proxy exits with the server's status.
#[test]
fn a_server_that_dies_mid_call() {
    let scratch = Scratch::new("dies");
    let mut proxied = spawn(&["sh", "-c", "read line; exit 7"], true, &scratch);
    let mut client = Client::of(&mut proxied);
    client.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "search", "arguments": {"q": "SECRET"}}}));
    assert_eq!(exited(proxied), 7);
    let (spans, services) = spans(&scratch.0.join("spans.jsonl"));
    assert_eq!(services, ["sh"], "no serverInfo: the program's name");
    let [call] = &spans[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(
        call.name, "tools/call _OTHER",
        "never advertised, never answered"
    );
    assert_eq!(call.attributes["error.type"], json!("transport_closed"));
    assert_eq!(call.attributes["gen_ai.tool.name"], json!("search"));
    assert_eq!(call.status, 2);
}

/// Lines that are not JSON are relayed unchanged, and the one from the host is
/// recorded as a server records it (`_OTHER`, -32700, its size, nothing of it); a
/// line from the server that is not JSON is relayed and not recorded.
#[test]
fn lines_that_are_not_json_pass_unchanged() {
    let scratch = Scratch::new("garbage");
    // Echoes each line back, as is.
    let mut proxied = spawn(
        &[
            "sh",
            "-c",
            "while IFS= read -r line; do printf '%s\\n' \"$line\"; done",
        ],
        true,
        &scratch,
    );
    let mut client = Client::of(&mut proxied);
    client.send_line("not json SECRET");
    let mut echoed = String::new();
    client.from.read_line(&mut echoed).expect("a line");
    assert_eq!(echoed, "not json SECRET\n");
    drop(client);
    assert_eq!(exited(proxied), 0);
    let exported = std::fs::read_to_string(scratch.0.join("spans.jsonl")).expect("spans");
    assert!(!exported.contains("SECRET"));
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let [garbage] = &spans[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(garbage.name, "_OTHER");
    assert_eq!(
        garbage.attributes["rpc.response.status_code"],
        json!("-32700")
    );
    assert_eq!(
        garbage.attributes["mcp.request.size"],
        json!("not json SECRET".len())
    );
}

/// Without a command, or with one that cannot start: status 2 and a clear message.
#[test]
fn a_server_that_cannot_start() {
    let out = Command::new(PROXY)
        .args(["proxy", "--", "/nonexistent/mcp-server"])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "nothing of the proxy's own on stdout"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot start /nonexistent/mcp-server"),
        "{stderr}"
    );
}

/// A server that ignores its stdin closing, and SIGTERM too, is ended with SIGKILL
/// (with what it started) once the grace has passed twice: the proxy's status is
/// 128 + 9, as a shell reports it, and the proxy does not hang.
#[test]
fn a_server_that_ignores_stdin_closing_and_sigterm() {
    let scratch = Scratch::new("stubborn");
    let started = std::time::Instant::now();
    let mut proxied = spawn(
        &["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
        true,
        &scratch,
    );
    // The host hangs up at once.
    drop(proxied.stdin.take());
    assert_eq!(exited(proxied), 128 + 9);
    // Two graces of 2 s, and a little.
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(4) && took < std::time::Duration::from_secs(15),
        "{took:?}"
    );
}

/// A collector that is down costs the relay nothing: every answer comes, and the
/// proxy exits with the server's status soon after it.
#[test]
fn a_collector_that_is_down() {
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut proxied = Command::new(PROXY)
        .args(["proxy", "--grace", "2s", "--"])
        .args(["sed", "-u", r#"s/"method":"ping"/"result":{}/"#])
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{down}"),
        )
        .env("OTEL_SERVICE_NAME", "down")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_SDK_DISABLED")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let mut client = Client::of(&mut proxied);
    let started = std::time::Instant::now();
    for id in 0..200 {
        client.send_line(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#));
        let answer = client.answer(&json!(id), &mut Vec::new());
        assert_eq!(
            answer.trim_end(),
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#)
        );
    }
    drop(client);
    assert_eq!(exited(proxied), 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

/// A request the client cancels gets no answer: its span ends at once, marked
/// cancelled; an answer with the other type of id (`"2"` for `2`) still ends its span.
#[test]
fn cancelled_requests_and_ids_answered_as_strings() {
    let scratch = Scratch::new("cancel");
    // Answers request 2 with the id as a string, and never answers request 1.
    let script = r#"read a; read b; read c; printf '%s\n' '{"jsonrpc":"2.0","id":"2","result":{}}'; read d; exit 0"#;
    let mut proxied = spawn(&["sh", "-c", script], true, &scratch);
    let mut client = Client::of(&mut proxied);
    client.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "slow", "arguments": {}}}));
    client.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1, "reason": "SECRET"}}),
    );
    client.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}));
    let mut answer = String::new();
    client.from.read_line(&mut answer).expect("an answer");
    drop(client);
    assert_eq!(exited(proxied), 0);
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let [cancelled] = &named(&spans, "tools/call _OTHER")[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(cancelled.attributes["mcp.call.cancelled"], json!(true));
    assert_eq!(
        cancelled.attributes["gen_ai.tool.name"],
        json!("slow"),
        "never listed nor answered: named _OTHER"
    );
    assert!(
        !cancelled.attributes.contains_key("error.type"),
        "{cancelled:#?}"
    );
    let [ping] = &named(&spans, "ping")[..] else {
        panic!("{spans:#?}")
    };
    assert!(
        !ping.attributes.contains_key("error.type"),
        "answered: {ping:#?}"
    );
    assert_eq!(named(&spans, "notifications/cancelled").len(), 1);
}

/// A line past the observer's bound (32 MiB) is passed on unchanged, in pieces as it
/// arrives, and not observed; the lines after it are observed as ever.
#[test]
fn a_line_past_the_bound_streams_unchanged() {
    let scratch = Scratch::new("long");
    let mut proxied = spawn(&["cat"], true, &scratch);
    let mut client = Client::of(&mut proxied);
    let long: String = (0..40 << 20)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let writer = {
        let mut to = client.to;
        let long = long.clone();
        std::thread::spawn(move || {
            to.write_all(long.as_bytes()).expect("written");
            to.write_all(b"\n").expect("written");
            to.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
                .expect("written");
            to.flush().expect("flushed");
            to
        })
    };
    let mut echoed = String::new();
    client.from.read_line(&mut echoed).expect("the long line");
    assert!(
        echoed.trim_end() == long,
        "relayed unchanged ({} bytes back)",
        echoed.len()
    );
    echoed.clear();
    client.from.read_line(&mut echoed).expect("the next line");
    drop(writer.join().expect("the writer"));
    assert_eq!(exited(proxied), 0);
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    // The notification, from the host; cat's echo of it is the server's, not a span.
    assert_eq!(names, ["notifications/initialized"]);
}

/// The library's hostile cases, through the proxy: a megabyte method, tool name, URI,
/// id and `_meta` key, deep nesting, a batch of many, property names that are values.
/// Every answer relayed, every span's strings bounded, no client key an attribute key,
/// no value exported, the proxy's memory never the issue.
#[test]
fn hostile_messages_through_the_proxy() {
    let scratch = Scratch::new("hostile");
    // Answers every request that has a numeric id with an empty result.
    let answer = r#"s/^.*"id":\([0-9][0-9]*\).*$/{"jsonrpc":"2.0","id":\1,"result":{}}/"#;
    let mut proxied = spawn(&["sed", "-u", answer], true, &scratch);
    let mut client = Client::of(&mut proxied);
    // Names the client chose (a method, a tool, a URI, a prompt) are exported, bounded;
    // values and keys never.
    let huge = "N".repeat(1_200_000);
    let secret_key = "SECRET".repeat(200_000);
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": format!("vendor/{huge}")}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": huge, "arguments": {"q": 1}}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read",
            "params": {"uri": format!("file:///{huge}")}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "t", "arguments": {secret_key.clone(): 1, "SECRET-key": "SECRET-value"}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "prompts/get",
            "params": {"name": huge, "_meta": {secret_key.clone(): 1, "traceparent": secret_key}}}),
    ];
    for request in &requests {
        client.send(request);
        let mut seen = Vec::new();
        client.answer(&request["id"], &mut seen);
    }
    // Deep nesting, as arguments: relayed; the observer's parse stops at its depth.
    client.send_line(&format!(
        r#"{{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{{"name":"t","arguments":{{"a":{deep}}}}}}}"#
    ));
    client.answer(&json!(6), &mut Vec::new());
    // A batch of two thousand pings: one line, every element answered by the server.
    let batch: Vec<Value> = (0..2000)
        .map(|n| json!({"jsonrpc": "2.0", "id": 1000 + n, "method": "ping"}))
        .collect();
    client.send(&Value::Array(batch));
    // `sed` answers the last id of the line.
    client.answer(&json!(2999), &mut Vec::new());
    drop(client);
    assert_eq!(exited(proxied), 0);

    let exported = std::fs::read_to_string(scratch.0.join("spans.jsonl")).expect("spans");
    if let Some(at) = exported.find("SECRET") {
        panic!(
            "a value was exported: {}",
            &exported[at.saturating_sub(200)..at + 50]
        );
    }
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    for span in &spans {
        assert!(
            span.name.len() <= 300,
            "an unbounded span name: {}",
            &span.name[..300]
        );
        for (key, value) in &span.attributes {
            assert!(key.len() < 100, "a client's key made an attribute key");
            assert!(
                value.as_str().is_none_or(|v| v.len() <= 2100),
                "{key} unbounded ({} bytes)",
                value.as_str().map_or(0, str::len)
            );
        }
    }
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    // The unknown method: never named; the tool and the prompt the server answered
    // for: named, cut at their bound.
    assert_eq!(
        names.iter().filter(|n| **n == "_OTHER").count(),
        1,
        "{:?}",
        &names[..8]
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("tools/call NNN") && n.ends_with('…'))
    );
    // The batch: its first 1,024 messages observed, the rest relayed only.
    assert_eq!(names.iter().filter(|n| **n == "ping").count(), 1024);
}

/// A paginated tool list: each page's tools are known at once, and the whole list,
/// once its last page is in, replaces the last one (a tool it leaves out is `_OTHER`).
#[test]
fn a_paginated_tool_list_replaces_the_last_once_whole() {
    let scratch = Scratch::new("pages");
    let page = |id: u64, tool: &str, next: bool| {
        let next = if next { r#","nextCursor":"p2""# } else { "" };
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"tools":[{{"name":"{tool}","inputSchema":{{"type":"object"}}}}]{next}}}}}"#
        )
    };
    let result = |id: u64| format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[]}}}}"#);
    let answers = [
        page(1, "a", true),
        page(2, "b", false),
        result(3),
        page(4, "b", true),
        page(5, "c", false),
        result(6),
        result(7),
    ];
    let mut script = String::new();
    for answer in answers {
        script.push_str(&format!("read line; echo '{answer}'; "));
    }
    script.push_str("read line; exit 0");
    let mut proxied = spawn(&["sh", "-c", &script], true, &scratch);
    let mut client = Client::of(&mut proxied);
    let call = |id: u64, tool: &str| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
    let list = |id: u64, cursor: bool| match cursor {
        true => {
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {"cursor": "p2"}})
        }
        false => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
    };
    // Two lists of two pages each: a and b, then b and c.
    let requests = [
        list(1, false),
        list(2, true),
        call(3, "a"),
        list(4, false),
        list(5, true),
        call(6, "a"),
        call(7, "c"),
    ];
    for request in &requests {
        client.send(request);
        client.answer(&request["id"], &mut Vec::new());
    }
    drop(client);
    assert_eq!(exited(proxied), 0);
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let calls: Vec<(String, &str)> = spans
        .iter()
        .filter(|s| s.attributes["mcp.method.name"] == "tools/call")
        .map(|s| {
            (
                s.attributes["jsonrpc.request.id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                s.name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("3".to_owned(), "tools/call a"),
            ("6".to_owned(), "tools/call _OTHER"),
            ("7".to_owned(), "tools/call c"),
        ]
    );
}
