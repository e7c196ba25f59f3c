//! What the proxy's end-to-end tests share: the proxy binary, a scratch folder, a
//! server run directly or through the proxy, a client writing JSON-RPC lines itself,
//! and the span file read back.
#![allow(dead_code)] // each test file uses its part

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub const PROXY: &str = env!("CARGO_BIN_EXE_mcp-trace");

/// The venv's Python with the SDK, or `None` (and a loud message) without it.
pub fn python() -> Option<PathBuf> {
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

pub fn python_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mcp-trace-tests/tests/python/server.py")
}

/// A folder of its own, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
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
pub fn spawn(server: &[&str], proxied: bool, scratch: &Scratch) -> Child {
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
    to_file(&mut command, &scratch.0.join("spans.jsonl"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts")
}

/// `command`'s telemetry into the span file `file` (and its metric and log files beside
/// it), whatever the calling environment says.
pub fn to_file<'a>(command: &'a mut Command, file: &Path) -> &'a mut Command {
    command
        .env("MCP_TRACE_FILE", file)
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
}

/// A client writing JSON-RPC lines itself, one request at a time.
pub struct Client {
    pub to: ChildStdin,
    pub from: BufReader<ChildStdout>,
}

impl Client {
    pub fn of(child: &mut Child) -> Self {
        Client {
            to: child.stdin.take().expect("stdin"),
            from: BufReader::new(child.stdout.take().expect("stdout")),
        }
    }

    pub fn send(&mut self, message: &Value) {
        self.send_line(&message.to_string());
    }

    pub fn send_line(&mut self, line: &str) {
        self.to.write_all(line.as_bytes()).expect("written");
        self.to.write_all(b"\n").expect("written");
        self.to.flush().expect("flushed");
    }

    /// The next line the server writes that answers `id`, as written; what the server
    /// sends meanwhile is kept in `seen` (its own requests answered: an elicitation
    /// accepted, with `confirm: true`).
    pub fn answer(&mut self, id: &Value, seen: &mut Vec<String>) -> String {
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
pub fn exited(mut child: Child) -> i32 {
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
pub struct Span {
    pub name: String,
    /// Start and end, in nanoseconds since the epoch.
    pub times: (u64, u64),
    pub id: String,
    pub events: Vec<Value>,
    pub kind: u64,
    pub status: u64,
    pub parent: String,
    pub trace: String,
    pub attributes: BTreeMap<String, Value>,
}

/// The spans of an OTLP/JSON lines file, and the `service.name` of each line.
pub fn spans(file: &Path) -> (Vec<Span>, Vec<String>) {
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
pub fn nanos(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_u64())
        .unwrap_or_default()
}

/// An OTLP/JSON attribute value as plain JSON (an int is written as a string there).
pub fn plain(value: &Value) -> Value {
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

pub fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// The data points of metric `name` in an OTLP/JSON lines metric file, in file order
/// (the points of a gauge or a histogram, as written).
pub fn metric_points(file: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut points = Vec::new();
    for line in text.lines() {
        let Ok(request) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        for resource in request["resourceMetrics"].as_array().into_iter().flatten() {
            for scope in resource["scopeMetrics"].as_array().into_iter().flatten() {
                for metric in scope["metrics"].as_array().into_iter().flatten() {
                    if metric["name"] == name {
                        for kind in ["gauge", "histogram", "sum"] {
                            points.extend(
                                metric[kind]["dataPoints"]
                                    .as_array()
                                    .cloned()
                                    .unwrap_or_default(),
                            );
                        }
                    }
                }
            }
        }
    }
    points
}

/// A process ended when the test is done, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something listens on `port` (at most 30 s).
pub fn listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The proxy in front of `upstream`, its telemetry into `scratch`; and the address it
/// listens on, as it says on stderr.
pub fn http_proxy(upstream: &str, scratch: &Scratch) -> (Running, String) {
    let mut command = Command::new(PROXY);
    command.args(["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream]);
    let mut child = to_file(&mut command, &scratch.0.join("spans.jsonl"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the proxy starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr
        .read_line(&mut first)
        .expect("the proxy's first line");
    // Drained, so that the proxy never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let address = first
        .split("listening on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    (Running(child), address)
}

/// Stops the proxy as an operator does (SIGTERM): it exits 0, every span written, and
/// nothing of its own on stdout.
pub fn stop(mut proxy: Running) {
    let pid = proxy.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = proxy.0.try_wait().expect("waited") {
            break status;
        }
        assert!(Instant::now() < deadline, "the proxy did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let mut stdout = String::new();
    let _ = proxy
        .0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout);
    assert_eq!(stdout, "", "the proxy wrote to stdout");
}

/// `mcp-trace probe --url URL`: its exit status, and its span file's spans.
pub fn probe_url(url: &str, flags: &[&str], scratch: &Scratch) -> (i32, Vec<Span>) {
    let mut command = Command::new(PROXY);
    command
        .args(["probe", "--url", url, "--timeout", "10s"])
        .args(flags);
    let output = to_file(&mut command, &scratch.0.join("probe.jsonl"))
        .stdin(Stdio::null())
        .output()
        .expect("the probe runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "the probe wrote to stdout"
    );
    let (spans, _) = spans(&scratch.0.join("probe.jsonl"));
    (output.status.code().unwrap_or(-1), spans)
}
