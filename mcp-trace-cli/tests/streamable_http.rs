//! `mcp-trace proxy --listen ADDR --upstream URL` and `mcp-trace probe --url URL`
//! against a server nobody here wrote:
//! the official Python SDK's, over streamable HTTP, driven by that SDK's own client
//! through the proxy and straight to the server: the same answers either way, and the
//! spans the library records for a server of ours, with their exact attributes.

#![cfg(all(unix, feature = "proxy"))]

mod proxy_support;

use proxy_support::{
    Running, Scratch, Span, free_port, http_proxy, listening, metric_points, named, probe_url,
    python, python_server, spans, stop,
};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

/// The Python SDK's server over streamable HTTP, with `flags` (`--stateless`, `--json`).
fn python_http_server(python: &PathBuf, flags: &[&str]) -> (Running, u16) {
    let port = free_port();
    let child = Command::new(python)
        .arg(python_server())
        .arg("--http")
        .arg(port.to_string())
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the Python server starts");
    let running = Running(child);
    listening(port);
    (running, port)
}

/// The SDK's client run against `url` in `mode`: its printed lines.
fn sdk_client(python: &PathBuf, url: &str, mode: &str) -> Vec<String> {
    let script = python_server().with_file_name("http_client.py");
    let output = Command::new(python)
        .arg(script)
        .arg(url)
        .arg(mode)
        .stdin(Stdio::null())
        .output()
        .expect("the client runs");
    assert!(
        output.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn attributes(span: &Span) -> Value {
    let mut attributes = json!(span.attributes);
    // The peer's port changes from run to run.
    if let Some(map) = attributes.as_object_mut() {
        assert!(
            map.remove("client.port")
                .is_some_and(|p| p.as_i64() > Some(0))
        );
    }
    attributes
}

#[test]
fn a_session_over_streamable_http_is_traced_as_the_library_traces_its_own() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("http-session");
    let (_server, port) = python_http_server(&python, &[]);
    let upstream = format!("http://127.0.0.1:{port}/mcp");
    let direct = sdk_client(&python, &upstream, "legacy");
    let (proxy, address) = http_proxy(&upstream, &scratch);
    let proxied = sdk_client(&python, &format!("http://{address}/mcp"), "legacy");
    stop(proxy);

    // The host saw what it sees without the proxy.
    assert_eq!(proxied, direct);
    assert_eq!(direct[0], r#"{"protocol": "2025-11-25"}"#);

    let (spans, services) = spans(&scratch.0.join("spans.jsonl"));
    assert!(!services.is_empty() && services.iter().all(|s| s == "py-docs"));
    let names: Vec<&str> = spans
        .iter()
        .filter(|s| s.kind == 2)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/call search_documents",
            "tools/call always_fails",
            "tools/call search_documents",
            "tools/call delete_document",
            "tools/call build_report",
        ]
    );
    let session = spans[0].attributes["mcp.session.id"].clone();
    assert_eq!(session.as_str().map(str::len), Some(32), "a digest");
    assert!(
        spans
            .iter()
            .all(|s| s.attributes["mcp.session.id"] == session)
    );

    let search = named(&spans, "tools/call search_documents");
    assert_eq!(
        (search[0].trace.as_str(), search[0].parent.as_str()),
        (TRACE, PARENT)
    );
    let definition = search[0].attributes["mcp.tool.definition.hash"].clone();
    assert_eq!(
        attributes(search[0]),
        json!({
            "mcp.method.name": "tools/call",
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "search_documents",
            "mcp.tool.name": "search_documents",
            "mcp.session.id": session,
            "jsonrpc.request.id": "3",
            "mcp.protocol.version": "2025-11-25",
            "network.transport": "tcp",
            "network.protocol.name": "http",
            "network.protocol.version": "1.1",
            "client.address": "127.0.0.1",
            "mcp.tool.definition.hash": definition,
            "mcp.tool.definition.size": 416,
            "mcp.tool.args.limit.present": true,
            "mcp.tool.args.limit": 3,
            "mcp.tool.args.query.length": 12,
            // CPython's: sha256(json.dumps(arguments, sort_keys=True))[:16]
            "mcp.tool.args.hash": "0cf4deff1fbaa6eb",
            "mcp.tool.args.schema_valid": true,
            "mcp.tool.call.repeat_run": 1,
            "mcp.tool.result.count": 1,
            "mcp.tool.result.size": 111,
        })
    );
    // Against the schema the server listed in another HTTP exchange of the session.
    let refused = &search[1].attributes;
    assert_eq!(refused["mcp.tool.args.schema_valid"], false);
    assert_eq!(refused["mcp.tool.args.schema_error_path"], "/query");
    assert_eq!(refused["error.type"], "tool_error");
    assert_eq!(
        named(&spans, "tools/call always_fails")[0].attributes["error.type"],
        "tool_error"
    );

    // The server's question, asked on the POST's event stream and answered in a POST
    // of its own, is a CLIENT span under the call it was asked in.
    let delete = named(&spans, "tools/call delete_document")[0];
    let asked = named(&spans, "elicitation/create");
    assert_eq!(asked.len(), 1);
    assert_eq!(
        (asked[0].kind, asked[0].parent.as_str()),
        (3, delete.id.as_str())
    );
    assert_eq!(asked[0].attributes["mcp.elicitation.action"], "accept");
    // Its log messages, events on the call they were sent in: never their text.
    let report = named(&spans, "tools/call build_report")[0];
    let events: Vec<&str> = report
        .events
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(events, ["notifications/message", "notifications/message"]);

    // The session ended with the host's DELETE: one on the session metric.
    let sessions = metric_points(
        &scratch.0.join("spans.metrics.jsonl"),
        "mcp.server.session.duration",
    );
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["count"], "1");

    // No argument value, server message or question leaves the process.
    for file in ["spans.jsonl", "spans.metrics.jsonl", "spans.logs.jsonl"] {
        let text = std::fs::read_to_string(scratch.0.join(file)).unwrap_or_default();
        assert!(!text.contains("SECRET"), "{file} has a secret");
    }
}

#[test]
fn stateless_exchanges_share_what_the_server_listed() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("http-stateless");
    let (_server, port) = python_http_server(&python, &["--stateless", "--json"]);
    let upstream = format!("http://127.0.0.1:{port}/mcp");
    let direct = sdk_client(&python, &upstream, "auto");
    let (proxy, address) = http_proxy(&upstream, &scratch);
    let proxied = sdk_client(&python, &format!("http://{address}/mcp"), "auto");
    stop(proxy);
    assert_eq!(proxied, direct);
    assert_eq!(direct[0], r#"{"protocol": "2026-07-28"}"#);

    let (spans, services) = spans(&scratch.0.join("spans.jsonl"));
    assert!(services.iter().all(|s| s == "py-docs"));
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "server/discover",
            "tools/list",
            "tools/call search_documents",
            "tools/call always_fails",
            "tools/call search_documents",
            "tools/call build_report",
        ]
    );
    for span in &spans {
        assert!(!span.attributes.contains_key("mcp.session.id"), "{span:?}");
        assert_eq!(span.attributes["mcp.protocol.version"], "2026-07-28");
    }
    // Each POST its own conversation, the tools listed in one known in the next.
    let search = named(&spans, "tools/call search_documents");
    assert_eq!(search[0].attributes["mcp.tool.args.schema_valid"], true);
    assert_eq!(search[1].attributes["mcp.tool.args.schema_valid"], false);
    assert!(
        search[0]
            .attributes
            .contains_key("mcp.tool.definition.hash")
    );
    // No session, none timed.
    let sessions = metric_points(
        &scratch.0.join("spans.metrics.jsonl"),
        "mcp.server.session.duration",
    );
    assert!(sessions.is_empty(), "{sessions:?}");
}

/// One HTTP/1.1 request, written by hand: the status and the body.
fn exchange(address: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connected");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("written");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

fn post(body: &str, headers: &str) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn an_upstream_that_is_down_ends_the_call_and_the_host_is_told() {
    let scratch = Scratch::new("http-down");
    // Nothing listens there.
    let upstream = format!("http://127.0.0.1:{}/mcp", free_port());
    let (proxy, address) = http_proxy(&upstream, &scratch);
    let call = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"search","arguments":{"query":"SECRET"}}}"#;
    let traceparent = format!("traceparent: 00-{TRACE}-{PARENT}-01\r\n");
    let (status, body) = exchange(&address, &post(call, &traceparent));
    assert_eq!(status, 502);
    assert!(body.contains("could not be reached"), "{body}");
    // The same request, and a notification, to a path that is not MCP's: relayed,
    // not observed.
    let (status, _) = exchange(&address, &post(call, "").replace("/mcp", "/other"));
    assert_eq!(status, 502);
    // Not JSON: a parse error's span, as a server over HTTP records one.
    let (status, _) = exchange(&address, &post(r#"{"jsonrpc":"2.0",,"#, ""));
    assert_eq!(status, 502);
    stop(proxy);

    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    assert_eq!(spans.len(), 2, "{spans:?}");
    let garbage = &spans[1];
    assert_eq!(garbage.name, "_OTHER");
    assert_eq!(garbage.attributes["rpc.response.status_code"], "-32700");
    assert_eq!(garbage.attributes["network.transport"], "tcp");
    let span = &spans[0];
    // Named by the method alone: the tool was never listed nor answered for.
    assert_eq!(span.name, "tools/call _OTHER");
    assert_eq!(span.attributes["error.type"], "transport_closed");
    // No schema seen: the hash, and no attribute named after a client's key.
    assert_eq!(span.attributes["mcp.tool.args.hash"], "1da919ea5bdfceac");
    assert_eq!(span.attributes["mcp.tool.args.undeclared_count"], 1);
    assert!(!span.attributes.contains_key("mcp.session.id"));
    // The HTTP request's context is the parent when `_meta` carries none.
    assert_eq!((span.trace.as_str(), span.parent.as_str()), (TRACE, PARENT));
}

#[test]
fn an_http_error_status_ends_the_call_with_it() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("http-status");
    let (_server, port) = python_http_server(&python, &[]);
    let (proxy, address) = http_proxy(&format!("http://127.0.0.1:{port}/mcp"), &scratch);
    // A session the server never gave: it answers 404, and the request's span ends
    // with that status.
    let call = r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#;
    let (status, _) = exchange(
        &address,
        &post(
            call,
            "Mcp-Session-Id: not-a-session\r\nMcp-Protocol-Version: 2025-11-25\r\n",
        ),
    );
    assert_eq!(status, 404);
    stop(proxy);
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let listed = named(&spans, "tools/list");
    assert_eq!(listed.len(), 1, "{spans:?}");
    assert_eq!(listed[0].attributes["error.type"], "404");
    assert_eq!(listed[0].attributes["jsonrpc.request.id"], "a");
    // The unknown session is digested as any other, never exported as given.
    let session = listed[0].attributes["mcp.session.id"]
        .as_str()
        .unwrap_or_default();
    assert!(session.len() == 32 && !session.contains("not-a-session"));
}

#[test]
fn the_probe_over_streamable_http_in_both_eras() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("probe-http");
    let (_server, port) = python_http_server(&python, &[]);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let call = [
        "--ping",
        "--call",
        "search_documents",
        "--arguments",
        r#"{"query": "SECRET"}"#,
    ];
    let (status, spans) = probe_url(&url, &call, &scratch);
    assert_eq!(status, 0, "{spans:#?}");
    let target = format!("127.0.0.1:{port}");
    let root = &named(&spans, &format!("probe {target}"))[0];
    assert_eq!(root.attributes["mcp.probe.up"], true);
    assert_eq!(root.attributes["mcp.probe.target"], target.as_str());
    let steps: Vec<(&str, u64, &str)> = spans
        .iter()
        .filter(|s| s.kind == 3)
        .map(|s| (s.name.as_str(), s.status, s.parent.as_str()))
        .collect();
    let root_id = root.id.as_str();
    assert_eq!(
        steps,
        [
            ("initialize", 0, root_id),
            ("tools/list", 0, root_id),
            ("ping", 0, root_id),
            ("tools/call", 0, root_id),
        ]
    );
    let up = metric_points(&scratch.0.join("probe.metrics.jsonl"), "mcp.probe.up");
    assert_eq!(up.len(), 1);
    assert_eq!(up[0]["asInt"], "1");

    // Under 2026-07-28, a stateless server: `server/discover` opens, with the headers
    // that revision checks against the body (`Mcp-Method`, `Mcp-Name`).
    let scratch = Scratch::new("probe-http-2026");
    let (_server, port) = python_http_server(&python, &["--stateless", "--json"]);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let modern = [
        "--protocol",
        "2026-07-28",
        "--call",
        "search_documents",
        "--arguments",
        r#"{"query": "SECRET"}"#,
    ];
    let (status, spans) = probe_url(&url, &modern, &scratch);
    assert_eq!(status, 0, "{spans:#?}");
    let steps: Vec<&str> = spans
        .iter()
        .filter(|s| s.kind == 3)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(steps, ["server/discover", "tools/list", "tools/call"]);
}

#[test]
fn the_probe_over_http_says_which_step_failed_and_why() {
    let scratch = Scratch::new("probe-http-down");
    // Nothing listens there.
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    let (status, spans) = probe_url(&url, &[], &scratch);
    assert_eq!(status, 1);
    let root = spans
        .iter()
        .find(|s| s.name.starts_with("probe "))
        .expect("a root");
    assert_eq!(root.attributes["mcp.probe.failed_step"], "initialize");
    assert_eq!(root.attributes["error.type"], "unreachable");
    assert_eq!(
        named(&spans, "initialize")[0].attributes["error.type"],
        "unreachable"
    );

    let Some(python) = python() else { return };
    let scratch = Scratch::new("probe-http-404");
    let (_server, port) = python_http_server(&python, &[]);
    // Not the server's endpoint: an HTTP status, not a JSON-RPC answer.
    let (status, spans) = probe_url(&format!("http://127.0.0.1:{port}/elsewhere"), &[], &scratch);
    assert_eq!(status, 1);
    let root = spans
        .iter()
        .find(|s| s.name.starts_with("probe "))
        .expect("a root");
    assert_eq!(root.attributes["error.type"], "404");
}

#[test]
fn the_probe_through_the_http_proxy_is_one_trace() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("probe-through-proxy");
    let (_server, port) = python_http_server(&python, &[]);
    let (proxy, address) = http_proxy(&format!("http://127.0.0.1:{port}/mcp"), &scratch);
    let call = [
        "--call",
        "search_documents",
        "--arguments",
        r#"{"query": "SECRET"}"#,
    ];
    let (status, probed) = probe_url(&format!("http://{address}/mcp"), &call, &scratch);
    assert_eq!(status, 0);
    stop(proxy);
    let (served, _) = spans(&scratch.0.join("spans.jsonl"));
    // Each step the probe sent is the parent of the proxy's span of it.
    for step in ["initialize", "tools/list", "tools/call"] {
        let client = probed
            .iter()
            .find(|s| s.kind == 3 && s.name == step)
            .unwrap_or_else(|| panic!("no CLIENT {step}"));
        let server = served
            .iter()
            .find(|s| s.kind == 2 && s.name.starts_with(step))
            .unwrap_or_else(|| panic!("no SERVER {step}"));
        assert_eq!(
            (&server.trace, &server.parent),
            (&client.trace, &client.id),
            "{step}"
        );
    }
    let call = named(&served, "tools/call search_documents");
    assert_eq!(call[0].attributes["mcp.tool.args.schema_valid"], true);
}

/// A server that answers each request with what `answer` makes of it (`None`: never).
fn scripted(answer: fn(&str) -> Option<Vec<u8>>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bound");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = std::io::BufReader::new(stream.try_clone().expect("cloned"));
                let mut stream = stream;
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = line.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    match answer(&String::from_utf8_lossy(&body)) {
                        Some(bytes) => {
                            if stream.write_all(&bytes).is_err() {
                                return;
                            }
                        }
                        // Holds the request, unanswered, until the proxy goes.
                        None => {
                            let _ = reader.read_to_end(&mut Vec::new());
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_stateless_request_in_flight_when_the_proxy_stops_ends_with_it() {
    let scratch = Scratch::new("http-stop");
    let port = scripted(|_| None);
    let (proxy, address) = http_proxy(&format!("http://127.0.0.1:{port}/mcp"), &scratch);
    let call =
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x","arguments":{}}}"#;
    let host = {
        let request = post(call, "");
        let address = address.clone();
        // The host waits; the proxy stops under it.
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(address).expect("connected");
            stream.write_all(request.as_bytes()).expect("written");
            let _ = stream.read_to_end(&mut Vec::new());
        })
    };
    // The request has gone on to the server.
    std::thread::sleep(Duration::from_millis(500));
    stop(proxy);
    let _ = host.join();
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let [call] = &spans[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(call.name, "tools/call _OTHER");
    assert_eq!(call.attributes["error.type"], "transport_closed");
    assert_eq!(call.attributes["jsonrpc.request.id"], "5");
}

#[test]
fn an_answer_too_large_to_read_still_ends_its_call_as_answered() {
    let scratch = Scratch::new("http-unread");
    let port = scripted(|request| {
        let id = if request.contains(r#""id":1,"#) { 1 } else { 2 };
        let padding = if id == 1 { 33 << 20 } else { 10 };
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":"{}"}}]}}}}"#,
            "x".repeat(padding)
        );
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        Some([head.into_bytes(), body.into_bytes()].concat())
    });
    let (proxy, address) = http_proxy(&format!("http://127.0.0.1:{port}/mcp"), &scratch);
    for id in [1, 2] {
        let call = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"big","arguments":{{}}}}}}"#
        );
        let (status, body) = exchange(&address, &post(&call, ""));
        assert_eq!(status, 200);
        assert!(body.ends_with("}]}}"), "relayed whole");
    }
    stop(proxy);
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for span in &spans {
        // Answered: no error, though the first answer (33 MiB) went by unread.
        assert!(!span.attributes.contains_key("error.type"), "{span:#?}");
        assert_eq!(span.status, 0);
    }
    let read = spans
        .iter()
        .find(|s| s.attributes["jsonrpc.request.id"] == "2")
        .unwrap();
    assert_eq!(read.attributes["mcp.tool.result.count"], 1);
    let unread = spans
        .iter()
        .find(|s| s.attributes["jsonrpc.request.id"] == "1")
        .unwrap();
    assert!(!unread.attributes.contains_key("mcp.tool.result.count"));
}
