//! `mcp-trace proxy` over stdio, end to end, against servers nobody here wrote: a
//! server made with the official Python SDK (PyPI `mcp`), driven by a client that
//! writes JSON-RPC lines itself, once directly and once through the proxy. The answers
//! must be the same bytes; the spans exact, the argument hash the one Python's recipe
//! computes, and no argument value or error message in any exported byte. Then the
//! faults: a server that dies mid-call, a server that exits with a status of its own,
//! a line that is not JSON.
//!
//! Without the SDK (`MCP_TRACE_PYTHON`, else the venv `.ci/run` makes), the Python
//! tests say so loudly and skip; the fault tests need only `sh`.
#![cfg(feature = "proxy")]

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const PROXY: &str = env!("CARGO_BIN_EXE_mcp-trace");

/// The venv's Python with the SDK, or `None` (and a loud message) without it.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("MCP_TRACE_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(PathBuf::from(home).join(".cache/mcp-trace/python-mcp-2.3.0/bin/python"))
        })?;
    let works = Command::new(&python)
        .args(["-c", "import mcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        eprintln!(
            "\n*** SKIPPED: no Python with the `mcp` SDK at {} (set MCP_TRACE_PYTHON, or run .ci/run to make the venv) ***\n",
            python.display()
        );
        return None;
    }
    Some(python)
}

fn python_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mcp-trace-tests/tests/python/server.py")
}

/// A folder of its own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("mcp-trace-proxy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server, run directly or through the proxy, its spans into `scratch`.
fn spawn(server: &[&str], proxied: bool, scratch: &Scratch) -> Child {
    let mut command = if proxied {
        let mut c = Command::new(PROXY);
        c.arg("proxy")
            .arg("--grace")
            .arg("2s")
            .arg("--")
            .args(server);
        c
    } else {
        let mut c = Command::new(server[0]);
        c.args(&server[1..]);
        c
    };
    command
        .env("MCP_TRACE_FILE", scratch.0.join("spans.jsonl"))
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts")
}

/// A client writing JSON-RPC lines itself, one request at a time.
struct Client {
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Client {
    fn of(child: &mut Child) -> Self {
        Client {
            to: child.stdin.take().expect("stdin"),
            from: BufReader::new(child.stdout.take().expect("stdout")),
        }
    }

    fn send(&mut self, message: &Value) {
        self.send_line(&message.to_string());
    }

    fn send_line(&mut self, line: &str) {
        self.to.write_all(line.as_bytes()).expect("written");
        self.to.write_all(b"\n").expect("written");
        self.to.flush().expect("flushed");
    }

    /// The next line the server writes that answers `id`, as written; what the server
    /// sends meanwhile is kept in `seen` (its own requests answered: an elicitation
    /// accepted, with `confirm: true`).
    fn answer(&mut self, id: &Value, seen: &mut Vec<String>) -> String {
        loop {
            let mut line = String::new();
            let read = self.from.read_line(&mut line).expect("a line");
            assert!(read > 0, "the server hung up before answering {id}");
            let message: Value = serde_json::from_str(&line).expect("JSON");
            if message.get("id") == Some(id) && message.get("method").is_none() {
                return line;
            }
            if message["method"] == "elicitation/create" {
                self.send(&json!({"jsonrpc": "2.0", "id": message["id"],
                    "result": {"action": "accept", "content": {"confirm": true}}}));
            }
            seen.push(line);
        }
    }
}

/// Waits for `child` to exit (at most 20 s), and returns its status code.
fn exited(mut child: Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("waited") {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One span of the span file, as the test reads it.
#[derive(Debug, Clone)]
struct Span {
    name: String,
    /// Start and end, in nanoseconds since the epoch.
    times: (u64, u64),
    id: String,
    events: Vec<Value>,
    kind: u64,
    status: u64,
    parent: String,
    trace: String,
    attributes: BTreeMap<String, Value>,
}

/// The spans of an OTLP/JSON lines file, and the `service.name` of each line.
fn spans(file: &Path) -> (Vec<Span>, Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let (mut spans, mut services) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let request: Value = serde_json::from_str(line).expect("an OTLP/JSON line");
        for resource in request["resourceSpans"].as_array().into_iter().flatten() {
            for attribute in resource["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if attribute["key"] == "service.name" {
                    services.push(
                        attribute["value"]["stringValue"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
            }
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    spans.push(Span {
                        name: span["name"].as_str().unwrap_or_default().to_owned(),
                        times: (
                            nanos(&span["startTimeUnixNano"]),
                            nanos(&span["endTimeUnixNano"]),
                        ),
                        id: span["spanId"].as_str().unwrap_or_default().to_owned(),
                        events: span["events"].as_array().cloned().unwrap_or_default(),
                        kind: span["kind"].as_u64().unwrap_or_default(),
                        status: span["status"]["code"].as_u64().unwrap_or_default(),
                        parent: span["parentSpanId"].as_str().unwrap_or_default().to_owned(),
                        trace: span["traceId"].as_str().unwrap_or_default().to_owned(),
                        attributes: span["attributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| {
                                (
                                    a["key"].as_str().unwrap_or_default().to_owned(),
                                    plain(&a["value"]),
                                )
                            })
                            .collect(),
                    });
                }
            }
        }
    }
    (spans, services)
}

/// A time of OTLP/JSON (nanoseconds, written as a string).
fn nanos(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_u64())
        .unwrap_or_default()
}

/// An OTLP/JSON attribute value as plain JSON (an int is written as a string there).
fn plain(value: &Value) -> Value {
    if let Some(s) = value.get("stringValue") {
        return s.clone();
    }
    if let Some(i) = value.get("intValue") {
        return json!(
            i.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| i.as_i64())
        );
    }
    if let Some(b) = value.get("boolValue") {
        return b.clone();
    }
    if let Some(d) = value.get("doubleValue") {
        return d.clone();
    }
    value.clone()
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

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
