//! Lines that are not JSON, against the stdio example over raw pipes: each gets the
//! JSON-RPC parse error reply (written at once, between whole messages), exactly one
//! span with exactly the documented attributes, and not one byte of it leaves the
//! process. The server keeps serving after each one.
#![cfg(all(feature = "rmcp", feature = "otlp"))]

mod common;

use common::otlp::{Receiver, attributes, spans};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver as Lines};
use std::time::{Duration, Instant};

/// Placed in every hostile line: must not appear in spans, stderr or stdout.
const SENTINEL: &str = "PARSE-SENTINEL-c41e7b";
const PARSE_ERROR: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<Vec<u8>>,
    stdout: Vec<Vec<u8>>,
}

impl Server {
    fn start(endpoint: &str) -> Self {
        let mut command = Command::new(common::example_binary("stdio_server"));
        let mut child = common::export_to(&mut command, endpoint)
            .env("OTEL_SERVICE_NAME", "e2e-parse-errors")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            loop {
                // Raw bytes, the `\n` kept: each line is checked as it was written.
                let mut line = Vec::new();
                match stdout.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if tx.send(line).is_err() => break,
                    Ok(_) => {}
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
            stdout: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// The next line on stdout, as written.
    fn next_line(&mut self) -> Vec<u8> {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a line on stdout before the deadline");
        self.stdout.push(line.clone());
        line
    }

    fn next_message(&mut self) -> Value {
        let line = self.next_line();
        serde_json::from_slice(&line).expect("stdout carries JSON")
    }

    fn initialize(&mut self) {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "parse-errors", "version": "1"}}});
        self.send(format!("{init}\n").as_bytes());
        assert!(self.next_message()["result"].is_object());
        self.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    }

    /// Closes stdin; returns the exit status, stderr, and every stdout line.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<u8>, Vec<Vec<u8>>) {
        drop(self.stdin.take());
        let mut stderr = Vec::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut stderr)
            .unwrap();
        let status = self.child.wait().expect("server exits");
        let mut stdout = std::mem::take(&mut self.stdout);
        stdout.extend(self.lines.iter());
        (status, stderr, stdout)
    }
}

fn call(id: u64) -> Vec<u8> {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "run_query", "arguments": {"sql": "SELECT 1"}}});
    format!("{call}\n").into_bytes()
}

/// A hostile line without its line end, and the line end it is sent with.
struct Hostile {
    name: &'static str,
    line: Vec<u8>,
    end: &'static str,
}

fn hostile(name: &'static str, line: impl Into<Vec<u8>>) -> Hostile {
    Hostile {
        name,
        line: line.into(),
        end: "\n",
    }
}

/// A tools/call whose `query` is `SENTINEL` padded with `x` to make the line exactly
/// `len` bytes long, without its `\n`.
fn call_of_length(id: u64, len: usize) -> Vec<u8> {
    let head = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"search_documents","arguments":{{"query":"{SENTINEL} "#
    );
    let tail = r#""}}}"#;
    let mut line = head.into_bytes();
    line.resize(len - tail.len(), b'x');
    line.extend_from_slice(tail.as_bytes());
    assert_eq!(line.len(), len);
    line
}

fn cases() -> Vec<Hostile> {
    let s = SENTINEL;
    let mut invalid_utf8 =
        format!(r#"{{"jsonrpc":"2.0","id":92,"method":"ping","params":{{"x":"{s} "#).into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe\xc3\"}}");
    vec![
        hostile(
            "invalid JSON",
            format!(r#"{{"jsonrpc":"2.0","id":91,"method":"tools/call","params":{{"name":"{s}""#),
        ),
        Hostile {
            name: "invalid JSON, CRLF",
            line: format!("not json {s} {{{{{{").into_bytes(),
            end: "\r\n",
        },
        hostile("invalid UTF-8", invalid_utf8),
        hostile(
            "lone surrogate",
            format!(
                r#"{{"jsonrpc":"2.0","id":93,"method":"tools/call","params":{{"name":"search_documents","arguments":{{"query":"{s} \ud800"}}}}}}"#
            ),
        ),
        hostile(
            "NaN",
            format!(
                r#"{{"jsonrpc":"2.0","id":94,"method":"tools/call","params":{{"name":"search_documents","arguments":{{"query":"{s}","limit":NaN}}}}}}"#
            ),
        ),
        hostile(
            "1e400",
            format!(
                r#"{{"jsonrpc":"2.0","id":95,"method":"tools/call","params":{{"name":"search_documents","arguments":{{"query":"{s}","limit":1e400}}}}}}"#
            ),
        ),
        hostile(
            "129-deep nesting",
            format!("{}\"{s}\"{}", "[".repeat(129), "]".repeat(129)),
        ),
    ]
}

fn is_parse_error(line: &[u8]) -> bool {
    line.strip_suffix(b"\n") == Some(PARSE_ERROR.as_bytes())
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn every_line_that_is_not_json_is_answered_and_recorded_without_its_content() {
    // The limit is rmcp's own.
    assert_eq!(
        mcp_trace::rmcp::MAX_LINE_LENGTH,
        rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH
    );
    let max = mcp_trace::rmcp::MAX_LINE_LENGTH;
    let started = Instant::now();
    let receiver = Receiver::start();
    let mut server = Server::start(&receiver.endpoint());
    server.initialize();
    let mut sizes = Vec::new();

    // One at a time: the reply comes at once, on its own (rmcp has nothing to write),
    // and the next call is served as usual.
    let mut id = 100;
    let mut one_by_one = cases();
    // A valid message one byte over the limit (its `\n` makes it `max + 1`).
    one_by_one.push(hostile("over the limit", call_of_length(99, max)));
    for case in &one_by_one {
        let mut bytes = case.line.clone();
        bytes.extend_from_slice(case.end.as_bytes());
        server.send(&bytes);
        let reply = server.next_line();
        assert!(
            is_parse_error(&reply),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&reply)
        );
        sizes.push(case.line.len() as i64);
        id += 1;
        server.send(&call(id));
        let response = server.next_message();
        assert_eq!(response["id"], json!(id), "{}: {response}", case.name);
        assert_eq!(response["result"]["isError"], json!(false), "{}", case.name);
    }

    // At the limit exactly: rmcp's to serve, not ours to refuse.
    server.send(&[call_of_length(98, max - 1), b"\n".to_vec()].concat());
    let response = server.next_message();
    assert_eq!(response["id"], json!(98), "{response}");
    assert_eq!(response["result"]["isError"], json!(false));

    // All at once, with lines that are not errors mixed in: blank lines pass
    // silently, JSON that is not JSON-RPC is rmcp's `-32600`, then a call.
    let burst = cases();
    let mut bytes = b"\n  \r\n".to_vec();
    for case in &burst {
        bytes.extend_from_slice(&case.line);
        bytes.extend_from_slice(case.end.as_bytes());
        sizes.push(case.line.len() as i64);
    }
    bytes.extend_from_slice(b"{\"not\":\"json-rpc\"}\n");
    bytes.extend_from_slice(&call(200));
    server.send(&bytes);
    let (mut parse_errors, mut invalid_requests) = (0, 0);
    loop {
        let line = server.next_line();
        if is_parse_error(&line) {
            parse_errors += 1;
            continue;
        }
        let message: Value = serde_json::from_slice(&line).unwrap();
        if message["error"]["code"] == json!(-32600) {
            assert_eq!(message["id"], Value::Null);
            invalid_requests += 1;
            continue;
        }
        assert_eq!(message["id"], json!(200), "{message}");
        assert_eq!(message["result"]["isError"], json!(false));
        break;
    }
    assert_eq!((parse_errors, invalid_requests), (burst.len(), 1));

    let (status, stderr, stdout) = server.finish();
    let stderr_text = String::from_utf8_lossy(&stderr);
    assert!(status.success(), "clean exit: {stderr_text}");
    assert!(!stderr_text.contains("panicked"), "{stderr_text}");
    let received = receiver.stop();

    // stdout: well-formed JSON-RPC lines only, and exactly one reply per bad line.
    let mut replies = 0;
    for line in &stdout {
        assert_eq!(line.last(), Some(&b'\n'));
        let message: Value = serde_json::from_slice(line)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
        assert_eq!(message["jsonrpc"], "2.0", "{message}");
        // rmcp 3.9 answers JSON that is not JSON-RPC with a `-32600` that has no `id`
        // at all (async_rw.rs, `TxJsonRpcMessage::error(.., None)`): its reply, not ours.
        let rmcp_invalid_request = message["error"]["code"] == json!(-32600);
        assert!(
            message.get("id").is_some() || rmcp_invalid_request,
            "{message}"
        );
        assert!(
            message.get("result").is_some() != message.get("error").is_some(),
            "{message}"
        );
        replies += usize::from(is_parse_error(line));
    }
    assert_eq!(replies, sizes.len());

    // Exactly one span per bad line, with exactly these attributes.
    let parse_spans: Vec<_> = spans(&received)
        .into_iter()
        .filter(|s| {
            attributes(&s.attributes).get("rpc.response.status_code") == Some(&json!("-32700"))
        })
        .collect();
    assert_eq!(parse_spans.len(), sizes.len());
    let mut seen_sizes = Vec::new();
    for span in &parse_spans {
        assert_eq!(span.name, "_OTHER");
        assert_eq!(span.kind, SpanKind::Server as i32);
        // The client's mistake, not the server's failure (the MCP conventions): the
        // status stays unset, and there is no error type.
        let status = span.status.clone().unwrap_or_default();
        assert_eq!(status.code, StatusCode::Unset as i32);
        assert_eq!(status.message, "");
        let attrs = attributes(&span.attributes);
        let size = attrs
            .get("mcp.request.size")
            .and_then(Value::as_i64)
            .expect("mcp.request.size");
        let expected: BTreeMap<String, Value> = [
            ("mcp.method.name", json!("_OTHER")),
            ("rpc.response.status_code", json!("-32700")),
            ("network.transport", json!("pipe")),
            ("mcp.request.size", json!(size)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(attrs, expected);
        assert!(span.events.is_empty() && span.links.is_empty());
        seen_sizes.push(size);
    }
    seen_sizes.sort_unstable();
    sizes.sort_unstable();
    assert_eq!(seen_sizes, sizes);

    // Not one sentinel anywhere outside the process.
    for r in &received {
        assert!(!contains(&r.body, SENTINEL), "the sentinel was exported");
    }
    assert!(!contains(&stderr, SENTINEL), "the sentinel is on stderr");
    assert!(stdout.iter().all(|line| !contains(line, SENTINEL)));
    eprintln!("parse errors end to end in {:?}", started.elapsed());
}

/// Bad lines sent in one burst right before the client closes stdin: every reply still
/// goes out before the server exits (end of input waits for owed replies), and a burst
/// larger than the owed-reply cap is answered in full.
#[test]
fn every_reply_is_written_before_exit() {
    const BAD: usize = 1000;
    let receiver = Receiver::start();
    let mut server = Server::start(&receiver.endpoint());
    server.initialize();
    server.send(b"x\n".repeat(BAD).as_slice());
    let (status, stderr, stdout) = server.finish();
    assert!(status.success(), "{}", String::from_utf8_lossy(&stderr));
    let replies = stdout.iter().filter(|line| is_parse_error(line)).count();
    assert_eq!(replies, BAD, "one reply per bad line, none lost at exit");
    let received = receiver.stop();
    let recorded = spans(&received)
        .iter()
        .filter(|span| span.name == "_OTHER")
        .count();
    assert_eq!(recorded, BAD, "one span per bad line");
}
