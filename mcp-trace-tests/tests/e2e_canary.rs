//! PII and credential canary, end to end: every example server that takes input
//! (`stdio_server` over pipes, `http_server` over streamable HTTP) is driven with
//! distinct random canary tokens in every place a client can put a value — string
//! arguments, argument keys (top-level, nested, undeclared), values that fail the
//! schema, values rmcp's error text echoes, the JSON-RPC id, `_meta` (progress tokens,
//! baggage, custom keys), `clientInfo`, unknown tool and method names, resource URIs,
//! a malformed line, and over HTTP the headers, the URL and the session id — and then
//! everything the server exported or wrote is searched for them: each OTLP/HTTP
//! protobuf body the loopback receiver got, the OTLP/JSON lines file (a pass with no
//! OTLP endpoint and `MCP_TRACE_FILE` set), and the server's stderr.
//!
//! A canary may appear only where SECURITY.md says it is exported, and there only as
//! the exact, bounded attribute value: the URI in `mcp.resource.uri` (default `full`
//! mode only, never with `MCP_TRACE_RESOURCE_URI=template|digest`), the JSON-RPC id in
//! `jsonrpc.request.id`, an unknown tool's name in `gen_ai.tool.name`/`mcp.tool.name`,
//! an unknown method in `mcp.method.name`, a number of a declared field in
//! `mcp.tool.args.<p>`, and the `Mcp-Session-Id` in `mcp.session.id` only with
//! `MCP_TRACE_SESSION_ID=raw`. Each token is searched as written, by its random part
//! alone, percent-encoded, JSON `\u`-escaped, hex- and base64-encoded; the raw bytes of
//! every export must hold exactly the occurrences the decoded allowed attributes
//! account for, so nothing hides in a field the decoder does not look at.
//!
//! The stdio passes also check stdout purity: every byte the server writes to stdout
//! is a `\n`-terminated JSON-RPC 2.0 message, one per request (and one `-32700` reply
//! for the malformed line when the example uses `mcp_trace::rmcp::stdio()`).
//!
//! The root package's `examples/demo` takes no input (a scripted agent with fixed
//! values), so it has no place to put a canary and is not driven here. No example
//! handler panics on any input, so there is no panic-message location either.
#![cfg(all(feature = "rmcp", feature = "otlp", feature = "enable"))]

mod common;

use common::otlp::Receiver;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any one answer, or the server's exit, may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// Whether `examples/stdio_server.rs` serves through `mcp_trace::rmcp::stdio()`, which
/// answers a line that is not JSON with `-32700` (rmcp's own stdio drops it silently).
fn stdio_answers_malformed_lines() -> bool {
    include_str!("../examples/stdio_server.rs").contains("mcp_trace::rmcp::stdio()")
}

// ---- canary tokens ------------------------------------------------------------------

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since.as_nanos());
    }
    hasher.finish()
}

/// 12 letters none of which is a hex digit, so a token cannot turn up by chance in a
/// trace id, a digest or a hash.
fn random_part() -> String {
    const ALPHABET: &[u8; 32] = b"ghjkmnpqrstvwxyzGHJKMNPQRSTVWXYZ";
    let mut bits = random_u64();
    (0..12)
        .map(|_| {
            let c = ALPHABET[(bits & 31) as usize] as char;
            bits >>= 5;
            c
        })
        .collect()
}

/// Where one canary may legitimately be exported: an attribute and its exact value.
type Allowed = Vec<(&'static str, String)>;

struct Canary {
    /// Where the client put it.
    location: String,
    text: String,
    /// The forms searched for, each with a name for the report.
    needles: Vec<(&'static str, String)>,
    allowed: Allowed,
    /// The allowed attribute must be present in the exported spans: the location was
    /// reached and the search is not vacuous.
    required: bool,
}

/// The canaries of one run, by location.
#[derive(Default)]
struct Canaries {
    list: Vec<Canary>,
}

impl Canaries {
    /// A fresh string token for `location`: `CANARY` and 12 random letters.
    fn token(&mut self, location: &str) -> String {
        let random = random_part();
        let text = format!("CANARY{random}");
        let mut needles = encodings(&text);
        needles.push(("random part alone", random));
        self.list.push(Canary {
            location: location.to_owned(),
            text: text.clone(),
            needles,
            allowed: Vec::new(),
            required: false,
        });
        text
    }

    /// A fresh 16-digit number for `location`.
    fn number(&mut self, location: &str) -> u64 {
        let n = 1_000_000_000_000_000 + random_u64() % 8_000_000_000_000_000;
        self.list.push(Canary {
            location: location.to_owned(),
            text: n.to_string(),
            needles: vec![("decimal", n.to_string())],
            allowed: Vec::new(),
            required: false,
        });
        n
    }

    /// A value the server chose (the `Mcp-Session-Id`), searched like a token.
    fn external(&mut self, location: &str, text: &str) {
        let mut needles = encodings(text);
        let bare: String = text.chars().filter(|c| *c != '-').collect();
        if bare != text {
            needles.push(("without dashes", bare.clone()));
            needles.push(("without dashes, upper case", bare.to_ascii_uppercase()));
        }
        needles.push(("upper case", text.to_ascii_uppercase()));
        self.list.push(Canary {
            location: location.to_owned(),
            text: text.to_owned(),
            needles,
            allowed: Vec::new(),
            required: false,
        });
    }

    /// Documents that `text` (of `location`) is exported, exactly and only as `allowed`.
    fn allow(&mut self, text: &str, allowed: Allowed, required: bool) {
        let canary = self
            .list
            .iter_mut()
            .find(|c| c.text == text)
            .expect("a known canary");
        canary.allowed = allowed;
        canary.required = required;
    }
}

/// The token as written and in every encoding an exporter or a log line might use.
fn encodings(text: &str) -> Vec<(&'static str, String)> {
    let bytes = text.as_bytes();
    let mut forms = vec![
        ("as written", text.to_owned()),
        (
            "percent-encoded (upper)",
            bytes.iter().map(|b| format!("%{b:02X}")).collect(),
        ),
        (
            "percent-encoded (lower)",
            bytes.iter().map(|b| format!("%{b:02x}")).collect(),
        ),
        (
            "JSON \\u-escaped (lower)",
            text.chars()
                .map(|c| format!("\\u{:04x}", u32::from(c)))
                .collect(),
        ),
        (
            "JSON \\u-escaped (upper)",
            text.chars()
                .map(|c| format!("\\u{:04X}", u32::from(c)))
                .collect(),
        ),
        ("hex", bytes.iter().map(|b| format!("{b:02x}")).collect()),
    ];
    for offset in 0..3 {
        forms.push(("base64", base64_inner(bytes, offset)));
    }
    forms
}

/// The base64 characters that encode only `bytes` when they start `offset` bytes into
/// a larger buffer: found whatever surrounds them.
fn base64_inner(bytes: &[u8], offset: usize) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut padded = vec![0u8; offset];
    padded.extend_from_slice(bytes);
    let encoded: Vec<u8> = padded
        .chunks(3)
        .flat_map(|chunk| {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
            (0..4).map(move |i| TABLE[((n >> (18 - 6 * i)) & 63) as usize])
        })
        .collect();
    let first_group = offset.div_ceil(3);
    let last_group = (offset + bytes.len()) / 3;
    String::from_utf8(encoded[first_group * 4..last_group * 4].to_vec()).unwrap()
}

// ---- what the server exported or wrote ----------------------------------------------

/// One string or number found in an export, and where.
struct Leaf {
    path: String,
    /// The attribute whose value (or part of it) this is.
    attr: Option<String>,
    text: String,
    /// Whether the text is in the raw bytes as written (protobuf numbers are not).
    in_raw: bool,
}

struct Export {
    what: String,
    raw: Vec<u8>,
    leaves: Vec<Leaf>,
    /// Spans, not a log stream: where a required attribute must show up.
    spans: bool,
}

/// A span, as the checks need it.
#[derive(Debug)]
struct SpanView {
    name: String,
    attrs: BTreeMap<String, Value>,
}

fn otlp_value_leaves(value: Option<&AnyValue>, path: &str, attr: &str, out: &mut Vec<Leaf>) {
    let (text, in_raw) = match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => (s.clone(), true),
        Some(any_value::Value::IntValue(i)) => (i.to_string(), false),
        Some(any_value::Value::DoubleValue(d)) => (d.to_string(), false),
        Some(any_value::Value::BoolValue(b)) => (b.to_string(), false),
        Some(any_value::Value::BytesValue(b)) => (String::from_utf8_lossy(b).into_owned(), true),
        Some(any_value::Value::ArrayValue(array)) => {
            for (i, v) in array.values.iter().enumerate() {
                otlp_value_leaves(Some(v), &format!("{path}[{i}]"), attr, out);
            }
            return;
        }
        Some(any_value::Value::KvlistValue(list)) => {
            otlp_attribute_leaves(&list.values, path, out);
            return;
        }
        _ => return,
    };
    out.push(Leaf {
        path: path.to_owned(),
        attr: Some(attr.to_owned()),
        text,
        in_raw,
    });
}

fn otlp_attribute_leaves(attributes: &[KeyValue], path: &str, out: &mut Vec<Leaf>) {
    for kv in attributes {
        let here = format!("{path}.{}", kv.key);
        out.push(Leaf {
            path: format!("{here} (key)"),
            attr: None,
            text: kv.key.clone(),
            in_raw: true,
        });
        otlp_value_leaves(kv.value.as_ref(), &here, &kv.key, out);
    }
}

/// Every string of a decoded OTLP request, and its spans.
fn otlp_leaves(request: &ExportTraceServiceRequest) -> (Vec<Leaf>, Vec<SpanView>) {
    let mut out = Vec::new();
    let mut views = Vec::new();
    fn text(out: &mut Vec<Leaf>, path: String, text: &str) {
        out.push(Leaf {
            path,
            attr: None,
            text: text.to_owned(),
            in_raw: true,
        })
    }
    for rs in &request.resource_spans {
        text(&mut out, "resource.schema_url".into(), &rs.schema_url);
        if let Some(resource) = &rs.resource {
            otlp_attribute_leaves(&resource.attributes, "resource", &mut out);
        }
        for ss in &rs.scope_spans {
            text(&mut out, "scope.schema_url".into(), &ss.schema_url);
            if let Some(scope) = &ss.scope {
                text(&mut out, "scope.name".into(), &scope.name);
                text(&mut out, "scope.version".into(), &scope.version);
                otlp_attribute_leaves(&scope.attributes, "scope", &mut out);
            }
            for span in &ss.spans {
                let at = format!("span '{}'", span.name);
                text(&mut out, format!("{at} name"), &span.name);
                text(&mut out, format!("{at} trace_state"), &span.trace_state);
                otlp_attribute_leaves(&span.attributes, &at, &mut out);
                if let Some(status) = &span.status {
                    text(&mut out, format!("{at} status.message"), &status.message);
                }
                for event in &span.events {
                    text(&mut out, format!("{at} event name"), &event.name);
                    otlp_attribute_leaves(&event.attributes, &format!("{at} event"), &mut out);
                }
                for link in &span.links {
                    text(
                        &mut out,
                        format!("{at} link trace_state"),
                        &link.trace_state,
                    );
                    otlp_attribute_leaves(&link.attributes, &format!("{at} link"), &mut out);
                }
                views.push(SpanView {
                    name: span.name.clone(),
                    attrs: common::otlp::attributes(&span.attributes),
                });
            }
        }
    }
    (out, views)
}

/// Every string and number of an OTLP/JSON document; an attribute's `{"key", "value"}`
/// pair names the leaves under its value.
fn json_leaves(value: &Value, path: &str, attr: Option<&str>, out: &mut Vec<Leaf>) {
    let leaf = |text: String, path: String, attr: Option<&str>| Leaf {
        path,
        attr: attr.map(str::to_owned),
        text,
        in_raw: true,
    };
    match value {
        Value::String(s) => out.push(leaf(s.clone(), path.to_owned(), attr)),
        Value::Number(n) => out.push(leaf(n.to_string(), path.to_owned(), attr)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_leaves(item, &format!("{path}[{i}]"), attr, out);
            }
        }
        Value::Object(map) => {
            let key = match (map.get("key"), map.get("value")) {
                (Some(Value::String(key)), Some(_)) => Some(key.as_str()),
                _ => None,
            };
            for (field, v) in map {
                let here = format!("{path}.{field}");
                out.push(leaf(field.clone(), format!("{here} (field name)"), None));
                match key {
                    Some(key) if field == "value" => json_leaves(v, &here, Some(key), out),
                    Some(_) => json_leaves(v, &here, None, out),
                    None => json_leaves(v, &here, attr, out),
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// An OTLP/JSON attribute value as plain JSON.
fn json_attr_value(value: &Value) -> Value {
    if let Some(s) = value.get("stringValue") {
        return s.clone();
    }
    if let Some(i) = value.get("intValue") {
        return match i {
            Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or(Value::Null),
            other => other.clone(),
        };
    }
    value
        .get("boolValue")
        .or_else(|| value.get("doubleValue"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn json_spans(document: &Value) -> Vec<SpanView> {
    let mut views = Vec::new();
    for rs in document["resourceSpans"].as_array().into_iter().flatten() {
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for span in ss["spans"].as_array().into_iter().flatten() {
                let attrs = span["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|kv| {
                        (
                            kv["key"].as_str().unwrap_or_default().to_owned(),
                            json_attr_value(&kv["value"]),
                        )
                    })
                    .collect();
                views.push(SpanView {
                    name: span["name"].as_str().unwrap_or_default().to_owned(),
                    attrs,
                });
            }
        }
    }
    views
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || haystack.len() < needle.len() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Every place a canary shows up where it may not, as readable lines.
fn leaks(exports: &[Export], canaries: &Canaries) -> Vec<String> {
    let mut found = Vec::new();
    for canary in &canaries.list {
        let is_allowed = |leaf: &Leaf| {
            canary
                .allowed
                .iter()
                .any(|(key, exact)| leaf.attr.as_deref() == Some(*key) && leaf.text == *exact)
        };
        let mut allowed_seen = 0;
        for export in exports {
            for (form, needle) in &canary.needles {
                let mut accounted = 0;
                for leaf in export.leaves.iter().filter(|l| l.text.contains(needle)) {
                    if is_allowed(leaf) {
                        if leaf.in_raw {
                            accounted += count(leaf.text.as_bytes(), needle.as_bytes());
                        }
                        if *needle == canary.text && export.spans {
                            allowed_seen += 1;
                        }
                    } else {
                        found.push(format!(
                            "LEAK {}: {form} `{needle}` in {} at {} (attribute {:?}) = {:?}",
                            canary.location,
                            export.what,
                            leaf.path,
                            leaf.attr,
                            truncate(&leaf.text),
                        ));
                    }
                }
                let raw = count(&export.raw, needle.as_bytes());
                if raw != accounted {
                    found.push(format!(
                        "LEAK {}: {form} `{needle}` occurs {raw} times in the bytes of {}, \
                         {accounted} of them in the attributes it may be exported in{}",
                        canary.location,
                        export.what,
                        context(&export.raw, needle.as_bytes()),
                    ));
                }
            }
        }
        if canary.required && allowed_seen == 0 {
            found.push(format!(
                "MISSING {}: expected exactly as {:?} in the exported spans, never found \
                 (location not reached, or the value was altered)",
                canary.location, canary.allowed
            ));
        }
    }
    found
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The first occurrence of `needle` in `haystack`, with some bytes around it.
fn context(haystack: &[u8], needle: &[u8]) -> String {
    match haystack
        .windows(needle.len().max(1))
        .position(|w| w == needle)
    {
        Some(at) => {
            let from = at.saturating_sub(80);
            let to = (at + needle.len() + 80).min(haystack.len());
            format!(
                "; first at byte {at}: …{}…",
                String::from_utf8_lossy(&haystack[from..to]).escape_debug()
            )
        }
        None => String::new(),
    }
}

// ---- running an example -------------------------------------------------------------

/// Where the server sends its spans.
enum Sink {
    Otlp(Receiver),
    File(PathBuf),
}

impl Sink {
    fn otlp() -> Self {
        Sink::Otlp(Receiver::start())
    }

    fn file(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "mcp-trace-canary-{}-{label}-{}.jsonl",
            std::process::id(),
            random_part()
        ));
        Sink::File(path)
    }

    fn configure(&self, command: &mut Command) {
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_TRACES_EXPORTER",
            "OTEL_SDK_DISABLED",
            "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "MCP_TRACE_FILE",
            "MCP_TRACE_SESSION_ID",
            "MCP_TRACE_SESSION_KEY",
            "MCP_TRACE_ARGS_HASH_KEY",
            "MCP_TRACE_RESOURCE_URI",
            "MCP_TRACE_SCHEMA_CHECK_MAX_BYTES",
            "MCP_TRACE_LOGS_FILE",
            "MCP_TRACE_LOG_BODIES",
            "OTEL_LOGS_EXPORTER",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "RUST_LOG",
        ] {
            command.env_remove(var);
        }
        command.env("OTEL_SERVICE_NAME", "e2e-canary");
        match self {
            Sink::Otlp(receiver) => {
                common::export_to(command, &receiver.endpoint());
            }
            Sink::File(path) => {
                // Metrics go beside, to the default `<name>.metrics.jsonl`, searched too.
                command.env("MCP_TRACE_FILE", path);
                command.env_remove("MCP_TRACE_METRICS_FILE");
                command.env_remove("OTEL_METRICS_EXPORTER");
                #[cfg(not(feature = "metrics"))]
                command.env("OTEL_METRICS_EXPORTER", "none");
            }
        }
    }

    /// Everything exported, once the server has exited, and the spans in it.
    fn collect(self) -> (Vec<Export>, Vec<SpanView>) {
        let mut exports = Vec::new();
        let mut spans = Vec::new();
        match self {
            Sink::Otlp(receiver) => {
                for (i, received) in receiver.stop().into_iter().enumerate() {
                    // Log records (the `logs` feature): their bytes are searched too.
                    if received.path == "/v1/logs" {
                        exports.push(stream(&format!("OTLP logs body #{i}"), received.body));
                        continue;
                    }
                    assert_eq!(received.path, "/v1/traces");
                    let (leaves, views) = otlp_leaves(&received.request);
                    spans.extend(views);
                    exports.push(Export {
                        what: format!("OTLP protobuf body #{i}"),
                        raw: received.body,
                        leaves,
                        spans: true,
                    });
                }
            }
            Sink::File(path) => {
                let raw = std::fs::read(&path).expect("the spans file was written");
                let _ = std::fs::remove_file(&path);
                let text = std::str::from_utf8(&raw).expect("the spans file is UTF-8");
                let mut leaves = Vec::new();
                for (i, line) in text.lines().enumerate() {
                    let document: Value =
                        serde_json::from_str(line).expect("each line of the file is JSON");
                    json_leaves(&document, &format!("line {}", i + 1), None, &mut leaves);
                    spans.extend(json_spans(&document));
                }
                exports.push(Export {
                    what: "the OTLP/JSON lines file".into(),
                    raw,
                    leaves,
                    spans: true,
                });
                #[cfg(feature = "logs")]
                {
                    let logs = mcp_trace::default_logs_path(&path);
                    let raw = std::fs::read(&logs).expect("the logs file was written");
                    let _ = std::fs::remove_file(&logs);
                    exports.push(stream("the OTLP/JSON logs file", raw));
                }
                #[cfg(feature = "metrics")]
                {
                    let metrics = mcp_trace::default_metrics_path(&path);
                    let raw = std::fs::read(&metrics).expect("the metrics file was written");
                    let _ = std::fs::remove_file(&metrics);
                    let text = std::str::from_utf8(&raw).expect("the metrics file is UTF-8");
                    assert!(
                        text.contains("mcp.server.operation.duration"),
                        "the metrics file holds the operation duration"
                    );
                    let mut leaves = Vec::new();
                    for (i, line) in text.lines().enumerate() {
                        let document: Value =
                            serde_json::from_str(line).expect("each line of the file is JSON");
                        json_leaves(&document, &format!("line {}", i + 1), None, &mut leaves);
                    }
                    exports.push(Export {
                        what: "the OTLP/JSON metrics file".into(),
                        raw,
                        leaves,
                        spans: false,
                    });
                }
            }
        }
        assert!(!spans.is_empty(), "the server exported no span");
        (exports, spans)
    }
}

fn stream(what: &str, raw: Vec<u8>) -> Export {
    Export {
        what: what.to_owned(),
        raw,
        leaves: Vec::new(),
        spans: false,
    }
}

fn drain<R: Read + Send + 'static>(mut reader: R) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        bytes
    })
}

fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("server status") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a transport does with one message.
trait Client {
    /// Sends a request and returns its response message.
    fn request(&mut self, message: Value) -> Value;
    fn notify(&mut self, message: Value);
    /// Sends a message that is not JSON.
    fn malformed(&mut self, text: &str);
}

/// The stdio example over pipes; every byte of its stdout is kept.
struct StdioServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Vec<u8>>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    /// Requests sent, the malformed line's reply included: the number of lines
    /// stdout must hold.
    expected_lines: usize,
}

impl StdioServer {
    fn start(sink: &Sink, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(common::example_binary("stdio_server"));
        sink.configure(&mut command);
        let mut child = command
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("stdio_server starts");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        let stdout = std::thread::spawn(move || {
            let mut all = Vec::new();
            loop {
                let mut line = Vec::new();
                match out.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        all.extend_from_slice(&line);
                        let _ = tx.send(line);
                    }
                }
            }
            all
        });
        let stderr = drain(child.stderr.take().unwrap());
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
            stdout,
            stderr,
            expected_lines: 0,
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The next message on stdout whose id is `id`.
    fn answer(&self, id: &Value) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to id {id} within {DEADLINE:?}"));
            if let Ok(message) = serde_json::from_slice::<Value>(&line)
                && message.get("id") == Some(id)
            {
                return message;
            }
        }
    }

    /// Closes stdin; the server exits after exporting. Returns stdout's bytes and
    /// stderr's.
    fn finish(mut self) -> (Vec<u8>, Vec<u8>) {
        drop(self.stdin.take());
        let status = wait(&mut self.child);
        let stdout = self.stdout.join().unwrap();
        let stderr = self.stderr.join().unwrap();
        assert!(
            status.success(),
            "stdio_server exit status {status}: {}",
            String::from_utf8_lossy(&stderr)
        );
        (stdout, stderr)
    }
}

impl Client for StdioServer {
    fn request(&mut self, message: Value) -> Value {
        self.send(&message.to_string());
        self.expected_lines += 1;
        self.answer(&message["id"])
    }

    fn notify(&mut self, message: Value) {
        self.send(&message.to_string());
    }

    fn malformed(&mut self, text: &str) {
        self.send(text);
        if stdio_answers_malformed_lines() {
            self.expected_lines += 1;
            let reply = self.answer(&Value::Null);
            assert_eq!(reply["error"]["code"], json!(-32700), "{reply}");
        }
    }
}

/// One HTTP/1.1 exchange's answer.
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC messages of an SSE or JSON body.
    fn messages(&self) -> Vec<Value> {
        let text = String::from_utf8_lossy(&self.body);
        if self
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        {
            return vec![serde_json::from_str(&text).expect("a JSON body")];
        }
        text.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim)
            .filter(|data| !data.is_empty())
            .map(|data| serde_json::from_str(data).expect("SSE data is JSON"))
            .collect()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = find(body, b"\r\n") {
        let line = std::str::from_utf8(&body[..end]).expect("chunk size line");
        let size =
            usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).expect("chunk size");
        body = &body[end + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[(size + 2).min(body.len())..];
    }
    out
}

/// The HTTP example, driven with a minimal HTTP/1.1 client (one connection per request)
/// so every header, the URL and the session id are under the test's control.
struct HttpServer {
    child: Child,
    address: String,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    /// The stderr lines read before the server listened.
    stderr_head: Vec<u8>,
    session: Option<String>,
    /// Sent with every request: `(name, value)`.
    headers: Vec<(String, String)>,
    /// The path and query of every request.
    target: String,
}

impl HttpServer {
    fn start(sink: &Sink, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(common::example_binary("http_server"));
        sink.configure(&mut command);
        let mut child = command
            .envs(env.iter().copied())
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("http_server starts");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut stderr_head = Vec::new();
        let address = loop {
            let mut line = String::new();
            assert!(
                err.read_line(&mut line).unwrap() > 0,
                "http_server exited early: {}",
                String::from_utf8_lossy(&stderr_head)
            );
            stderr_head.extend_from_slice(line.as_bytes());
            if let Some(url) = line.trim().strip_prefix("listening on http://") {
                break url.trim_end_matches("/mcp").to_owned();
            }
        };
        Self {
            stdout: drain(child.stdout.take().unwrap()),
            stderr: drain(err),
            child,
            address,
            stderr_head,
            session: None,
            headers: Vec::new(),
            target: "/mcp".into(),
        }
    }

    fn exchange(
        &self,
        method: &str,
        body: &[u8],
        session: Option<&str>,
        content_type: &str,
    ) -> HttpResponse {
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json, text/event-stream\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.target,
            self.address,
            body.len()
        );
        if let Some(session) = session {
            head.push_str(&format!(
                "Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-06-18\r\n"
            ));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(&self.address).expect("connect to http_server");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .expect("the response, within the deadline");
        let split = find(&raw, b"\r\n\r\n").expect("response head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut response = HttpResponse {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        };
        if response
            .header("transfer-encoding")
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
        {
            response.body = dechunk(&response.body);
        }
        response
    }

    fn post(&self, message: &Value, session: Option<&str>) -> HttpResponse {
        self.exchange(
            "POST",
            message.to_string().as_bytes(),
            session,
            "application/json",
        )
    }

    /// Ends the session (DELETE), then stops the server with SIGTERM; it exports every
    /// span first. Returns its stdout and stderr.
    fn finish(mut self) -> (Vec<u8>, Vec<u8>) {
        let session = self.session.clone().expect("a session");
        let deleted = self.exchange("DELETE", b"", Some(&session), "application/json");
        assert!(
            (200..300).contains(&deleted.status),
            "DELETE session: {}",
            deleted.status
        );
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = wait(&mut self.child);
        let stdout = self.stdout.join().unwrap();
        let mut stderr = std::mem::take(&mut self.stderr_head);
        stderr.extend(self.stderr.join().unwrap());
        assert!(
            status.success(),
            "http_server exit status {status}: {}",
            String::from_utf8_lossy(&stderr)
        );
        (stdout, stderr)
    }
}

impl Client for HttpServer {
    fn request(&mut self, message: Value) -> Value {
        let response = self.post(&message, self.session.as_deref());
        assert_eq!(
            response.status,
            200,
            "{message}: {}",
            String::from_utf8_lossy(&response.body)
        );
        if self.session.is_none() {
            let id = response
                .header("mcp-session-id")
                .expect("initialize answers with an Mcp-Session-Id");
            self.session = Some(id.to_owned());
        }
        response
            .messages()
            .into_iter()
            .find(|m| m.get("id") == Some(&message["id"]))
            .unwrap_or_else(|| panic!("no answer to {message}"))
    }

    fn notify(&mut self, message: Value) {
        let response = self.post(&message, self.session.as_deref());
        assert_eq!(response.status, 202, "{message}");
    }

    fn malformed(&mut self, text: &str) {
        let response = self.exchange(
            "POST",
            text.as_bytes(),
            self.session.as_deref(),
            "application/json",
        );
        assert!(
            (400..500).contains(&response.status),
            "a body that is not JSON is refused: {}",
            response.status
        );
    }
}

// ---- the session --------------------------------------------------------------------

fn tool_call(id: Value, name: &str, arguments: Value, meta: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments, "_meta": meta}})
}

fn traceparent(step: u64) -> String {
    format!(
        "00-{:032x}-00f067aa0ba902b7-01",
        0xca4a_7000_u128 + u128::from(step)
    )
}

fn is_tool_error(response: &Value) -> bool {
    response["result"]["isError"] == json!(true)
}

fn tool_text(response: &Value) -> String {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The full session, canaries everywhere. Returns the request ids whose spans must be
/// exported, with the span name each must have.
fn drive(client: &mut dyn Client, c: &mut Canaries) -> Vec<(String, &'static str)> {
    let mut traced = Vec::new();

    // initialize: client-chosen strings that are no argument.
    let client_name = c.token("initialize params.clientInfo.name");
    let client_version = c.token("initialize params.clientInfo.version");
    let capability = c.token("initialize params.capabilities.experimental key");
    let init = client.request(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18",
                   "capabilities": {"experimental": {capability: {}}},
                   "clientInfo": {"name": client_name, "version": client_version}}}));
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    client.notify(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    let tools = client.request(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    let mut names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "build_report",
            "confirm_action",
            "create_issue",
            "run_query",
            "search_documents"
        ]
    );

    // 3. Every string argument of a valid call (with characters every encoding
    // changes), a string JSON-RPC id, and `_meta` beyond the trace context.
    let query = c.token("search_documents arguments.query (string argument)");
    let filter = c.token("search_documents arguments.filters[0] (string in an array)");
    let request_id = c.token("JSON-RPC request id (string)");
    let progress = c.token("tools/call params._meta.progressToken");
    let baggage = c.token("tools/call params._meta.baggage value");
    let meta_key = c.token("tools/call params._meta custom key");
    let meta_value = c.token("tools/call params._meta custom value");
    let response = client.request(tool_call(
        json!(request_id),
        "search_documents",
        json!({"query": format!("intro {query}\t\"quoted\" é/ü\n%2F+&="),
               "limit": 2, "filters": [format!("lang:{filter}")]}),
        json!({"traceparent": traceparent(3), "progressToken": progress,
               "baggage": format!("user={baggage},k=v"), meta_key: meta_value}),
    ));
    assert!(
        response["result"].is_object() && !is_tool_error(&response),
        "{response}"
    );
    c.allow(
        &request_id,
        vec![("jsonrpc.request.id", request_id.clone())],
        true,
    );
    traced.push((request_id.clone(), "tools/call search_documents"));

    // 4. Keys the schema does not declare: top-level, nested objects and arrays, with
    // string and number values. serde ignores them; the call succeeds.
    let top_key = c.token("undeclared top-level argument key");
    let top_value = c.token("undeclared top-level argument value (string)");
    let object_key = c.token("undeclared top-level key holding an object");
    let nested_key = c.token("nested key (level 2) under an undeclared key");
    let deep_key = c.token("nested key (level 3) under an undeclared key");
    let deep_value = c.token("string in an array nested under undeclared keys");
    let number_key = c.token("undeclared top-level key holding a number");
    let nested_number = c.number("number nested under undeclared keys");
    let top_number = c.number("number under an undeclared top-level key");
    let response = client.request(tool_call(
        json!(4),
        "search_documents",
        json!({"query": "setup", top_key: top_value,
               object_key: {nested_key: {deep_key: [deep_value, nested_number]}},
               number_key: top_number}),
        json!({"traceparent": traceparent(4)}),
    ));
    assert!(!is_tool_error(&response), "{response}");
    traced.push(("4".into(), "tools/call search_documents"));

    // 5. The other string arguments, valid.
    let title = c.token("create_issue arguments.title");
    let body = c.token("create_issue arguments.body");
    let response = client.request(tool_call(
        json!(5),
        "create_issue",
        json!({"title": title, "body": body, "priority": 3}),
        json!({"traceparent": traceparent(5)}),
    ));
    assert!(!is_tool_error(&response), "{response}");
    traced.push(("5".into(), "tools/call create_issue"));

    // 6. A wrong type: fails the schema, and rmcp's deserialization error text (in the
    // in-band result) echoes the value — the only example error text that echoes input.
    let wrong_type =
        c.token("create_issue arguments.priority: string where the schema wants an integer");
    let response = client.request(tool_call(
        json!(6),
        "create_issue",
        json!({"title": "t", "body": "b", "priority": wrong_type}),
        json!({"traceparent": traceparent(6)}),
    ));
    assert!(is_tool_error(&response), "{response}");
    assert!(
        tool_text(&response).contains(&wrong_type),
        "rmcp's error text echoes the value: {response}"
    );
    traced.push(("6".into(), "tools/call create_issue"));

    // 7. Out of range: past the schema's maximum and u8's, echoed by the error text too.
    // A declared field's number is exported as it is (SECURITY.md), and only there.
    let out_of_range = c.number("create_issue arguments.priority: out of range");
    let response = client.request(tool_call(
        json!(7),
        "create_issue",
        json!({"title": "t", "body": "b", "priority": out_of_range}),
        json!({"traceparent": traceparent(7)}),
    ));
    assert!(is_tool_error(&response), "{response}");
    assert!(tool_text(&response).contains(&out_of_range.to_string()));
    c.allow(
        &out_of_range.to_string(),
        vec![("mcp.tool.args.priority", out_of_range.to_string())],
        cfg!(feature = "args-shape"),
    );
    traced.push(("7".into(), "tools/call create_issue"));

    // 8. Client keys inside declared fields of the wrong type.
    let in_declared_key = c.token("key inside a declared field of the wrong type (query: {…})");
    let in_declared_value = c.token("value inside a declared field of the wrong type");
    let in_array_key = c.token("key inside an array element of the wrong type (filters: [{…}])");
    let in_array_number = c.number("number inside an array element of the wrong type");
    let response = client.request(tool_call(
        json!(8),
        "search_documents",
        json!({"query": {in_declared_key: in_declared_value},
               "filters": [{in_array_key: in_array_number}]}),
        json!({"traceparent": traceparent(8)}),
    ));
    assert!(is_tool_error(&response), "{response}");
    traced.push(("8".into(), "tools/call search_documents"));

    // 9. The handler's own in-band error (`isError: true`, "an issue needs a title").
    let error_body = c.token("create_issue arguments.body of a call the handler rejects");
    let response = client.request(tool_call(
        json!(9),
        "create_issue",
        json!({"title": "   ", "body": error_body, "priority": 1}),
        json!({"traceparent": traceparent(9)}),
    ));
    assert!(is_tool_error(&response), "{response}");
    traced.push(("9".into(), "tools/call create_issue"));

    // 10. A JSON-RPC error from the handler; 11. a valid query.
    let rejected_sql = c.token("run_query arguments.sql, rejected with a JSON-RPC error");
    let response = client.request(tool_call(
        json!(10),
        "run_query",
        json!({"sql": format!("DELETE FROM {rejected_sql}")}),
        json!({"traceparent": traceparent(10)}),
    ));
    assert_eq!(response["error"]["code"], json!(-32602), "{response}");
    traced.push(("10".into(), "tools/call run_query"));
    let sql = c.token("run_query arguments.sql, accepted");
    let response = client.request(tool_call(
        json!(11),
        "run_query",
        json!({"sql": format!("SELECT * FROM {sql}")}),
        json!({"traceparent": traceparent(11)}),
    ));
    assert!(!is_tool_error(&response), "{response}");
    traced.push(("11".into(), "tools/call run_query"));

    // 12. A tool the server does not know: its name is exported (bounded) as the tool
    // name attributes, never in the span name; its arguments never.
    let tool = c.token("unknown tool name");
    let unknown_key = c.token("unknown tool's argument key");
    let unknown_value = c.token("unknown tool's argument value");
    let response = client.request(tool_call(
        json!(12),
        &tool,
        json!({unknown_key: unknown_value}),
        json!({"traceparent": traceparent(12)}),
    ));
    assert!(response.get("error").is_some(), "{response}");
    c.allow(
        &tool,
        vec![
            ("gen_ai.tool.name", tool.clone()),
            ("mcp.tool.name", tool.clone()),
        ],
        true,
    );
    traced.push(("12".into(), "tools/call _OTHER"));

    // 13. A resource URI read by the traced handler; 14. one no handler claims.
    let page = c.token("resource URI docs://<canary> (traced handler)");
    let response = client.request(
        json!({"jsonrpc": "2.0", "id": 13, "method": "resources/read",
        "params": {"uri": format!("docs://{page}"), "_meta": {"traceparent": traceparent(13)}}}),
    );
    assert_eq!(response["error"]["code"], json!(-32002), "{response}");
    traced.push(("13".into(), "resources/read"));
    let other = c.token("resource URI other://<canary> (no handler claims it)");
    let resource_progress = c.token("resources/read params._meta.progressToken");
    let response = client.request(
        json!({"jsonrpc": "2.0", "id": 14, "method": "resources/read",
        "params": {"uri": format!("other://{other}"),
                   "_meta": {"traceparent": traceparent(14), "progressToken": resource_progress}}}),
    );
    assert!(response.get("error").is_some(), "{response}");
    traced.push(("14".into(), "resources/read"));

    // 15. A method the server does not know, with parameters.
    let method = c.token("unknown JSON-RPC method name");
    let custom_key = c.token("unknown method's params key");
    let custom_value = c.token("unknown method's params value");
    let response = client.request(json!({"jsonrpc": "2.0", "id": 15, "method": method,
        "params": {custom_key: custom_value, "_meta": {"traceparent": traceparent(15)}}}));
    assert_eq!(response["error"]["code"], json!(-32601), "{response}");
    c.allow(&method, vec![("mcp.method.name", method.clone())], true);
    traced.push(("15".into(), "_OTHER"));

    // 16. ping with a progress token.
    let ping_progress = c.token("ping params._meta.progressToken");
    let response = client.request(json!({"jsonrpc": "2.0", "id": 16, "method": "ping",
        "params": {"_meta": {"progressToken": ping_progress}}}));
    assert!(response["result"].is_object(), "{response}");
    traced.push(("16".into(), "ping"));

    // Notifications: a cancellation with a reason, and an unknown one.
    let reason = c.token("notifications/cancelled params.reason");
    client.notify(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 999, "reason": reason}}),
    );
    let notification = c.token("unknown notification method");
    let notification_value = c.token("unknown notification's params value");
    client.notify(
        json!({"jsonrpc": "2.0", "method": format!("notifications/{notification}"),
        "params": {"value": notification_value}}),
    );

    // A message that is not JSON.
    let malformed_id = c.token("malformed message: its would-be id");
    let malformed = c.token("malformed message: its would-be tool name");
    client.malformed(&format!(
        r#"{{"jsonrpc":"2.0","id":"{malformed_id}","method":"tools/call","params":{{"name":"{malformed}""#
    ));

    // Still serving, and answering in order.
    let response = client.request(json!({"jsonrpc": "2.0", "id": 17, "method": "ping"}));
    assert!(response["result"].is_object(), "{response}");
    traced
}

/// One span per traced request, and what its attributes say about each location.
fn check_spans(
    spans: &[SpanView],
    traced: &[(String, &'static str)],
    uri_mode: &str,
    c: &Canaries,
) {
    let by_id = |id: &str| {
        let found: Vec<&SpanView> = spans
            .iter()
            .filter(|s| s.attrs.get("jsonrpc.request.id") == Some(&json!(id)))
            .collect();
        assert_eq!(found.len(), 1, "one span for request {id}: {spans:#?}");
        found[0]
    };
    for (id, name) in traced {
        assert_eq!(by_id(id).name, *name, "span of request {id}");
    }
    let token = |location: &str| {
        c.list
            .iter()
            .find(|c| c.location.starts_with(location))
            .map(|c| c.text.clone())
            .expect("a canary")
    };
    if cfg!(feature = "args-shape") {
        let valid = by_id(&traced[0].0);
        assert!(valid.attrs.contains_key("mcp.tool.args.query.length"));
        assert_eq!(valid.attrs["mcp.tool.args.filters.count"], json!(1));
        assert_eq!(
            by_id("4").attrs["mcp.tool.args.undeclared_count"],
            json!(3),
            "the undeclared keys are counted"
        );
    }
    if cfg!(feature = "schema-check") {
        let wrong = by_id("6");
        assert_eq!(wrong.attrs["mcp.tool.args.schema_valid"], json!(false));
        assert_eq!(
            wrong.attrs["mcp.tool.args.schema_error_path"],
            json!("/priority")
        );
        assert_eq!(by_id("8").attrs["mcp.tool.args.schema_valid"], json!(false));
    }
    assert_eq!(by_id("9").attrs["error.type"], json!("tool_error"));
    let docs = &by_id("13").attrs;
    let other = &by_id("14").attrs;
    match uri_mode {
        "full" => {
            let page = token("resource URI docs://");
            assert_eq!(docs["mcp.resource.uri"], json!(format!("docs://{page}")));
            let other_page = token("resource URI other://");
            assert_eq!(
                other["mcp.resource.uri"],
                json!(format!("other://{other_page}"))
            );
        }
        mode => {
            assert!(!docs.contains_key("mcp.resource.uri"), "{mode}: {docs:?}");
            assert!(!other.contains_key("mcp.resource.uri"), "{mode}: {other:?}");
            assert_eq!(docs["mcp.resource.template"], json!("docs://{page}"));
            assert_eq!(
                docs.contains_key("mcp.resource.uri_digest"),
                mode == "digest",
                "{mode}: {docs:?}"
            );
        }
    }
}

fn assert_no_leaks(label: &str, exports: &[Export], canaries: &Canaries) {
    let found = leaks(exports, canaries);
    let searched: usize = canaries.list.iter().map(|c| c.needles.len()).sum();
    eprintln!(
        "{label}: {} canaries ({searched} forms) searched in {} exports and streams",
        canaries.list.len(),
        exports.len()
    );
    assert!(
        found.is_empty(),
        "{label}: {} finding(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// Every byte on stdout is a `\n`-terminated JSON-RPC 2.0 message, one per request.
fn assert_stdout_pure(stdout: &[u8], expected_lines: usize) {
    assert!(!stdout.is_empty(), "stdout carried the answers");
    assert_eq!(
        stdout.last(),
        Some(&b'\n'),
        "stdout ends with a complete line: {:?}",
        String::from_utf8_lossy(&stdout[stdout.len().saturating_sub(200)..])
    );
    let lines: Vec<&[u8]> = stdout[..stdout.len() - 1].split(|b| *b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let shown = String::from_utf8_lossy(line);
        assert!(!line.is_empty(), "stdout line {i} is blank");
        assert!(
            !line.contains(&b'\r'),
            "stdout line {i} has a CR: {shown:?}"
        );
        let message: Value = serde_json::from_slice(line)
            .unwrap_or_else(|e| panic!("stdout line {i} is not JSON ({e}): {shown:?}"));
        let object = message
            .as_object()
            .unwrap_or_else(|| panic!("stdout line {i} is not an object: {shown}"));
        assert_eq!(
            object.get("jsonrpc"),
            Some(&json!("2.0")),
            "line {i}: {shown}"
        );
        let response = object.contains_key("id")
            && (object.contains_key("result") ^ object.contains_key("error"));
        let request = object.get("method").is_some_and(Value::is_string);
        assert!(
            response || request,
            "stdout line {i} is no JSON-RPC message: {shown}"
        );
    }
    assert_eq!(
        lines.len(),
        expected_lines,
        "one line per request (and per malformed line answered), nothing else:\n{}",
        String::from_utf8_lossy(stdout)
    );
}

// ---- the passes ---------------------------------------------------------------------

/// Resource URIs are documented as exported, in full, only in the default mode.
fn allow_uris(c: &mut Canaries, uri_mode: &str) {
    for (location, scheme) in [
        ("resource URI docs://", "docs://"),
        ("resource URI other://", "other://"),
    ] {
        let text = c
            .list
            .iter()
            .find(|c| c.location.starts_with(location))
            .map(|c| c.text.clone())
            .unwrap();
        if uri_mode == "full" {
            c.allow(
                &text,
                vec![("mcp.resource.uri", format!("{scheme}{text}"))],
                true,
            );
        }
    }
}

fn stdio_pass(sink: Sink, uri_mode: &str) {
    let label = format!(
        "stdio_server, {}, MCP_TRACE_RESOURCE_URI={uri_mode}",
        match &sink {
            Sink::Otlp(_) => "OTLP/HTTP",
            Sink::File(_) => "MCP_TRACE_FILE",
        }
    );
    let started = Instant::now();
    let mut server = StdioServer::start(&sink, &[("MCP_TRACE_RESOURCE_URI", uri_mode)]);
    let mut canaries = Canaries::default();
    let traced = drive(&mut server, &mut canaries);
    let expected_lines = server.expected_lines;
    let (stdout, stderr) = server.finish();
    assert_stdout_pure(&stdout, expected_lines);
    allow_uris(&mut canaries, uri_mode);
    let (mut exports, spans) = sink.collect();
    check_spans(&spans, &traced, uri_mode, &canaries);
    exports.push(stream("the server's stderr", stderr));
    assert_no_leaks(&label, &exports, &canaries);
    eprintln!("{label}: {:?}", started.elapsed());
}

fn http_pass(sink: Sink, uri_mode: &str, session_ids: &str) {
    let label = format!(
        "http_server, {}, MCP_TRACE_RESOURCE_URI={uri_mode}, MCP_TRACE_SESSION_ID={session_ids}",
        match &sink {
            Sink::Otlp(_) => "OTLP/HTTP",
            Sink::File(_) => "MCP_TRACE_FILE",
        }
    );
    let started = Instant::now();
    let mut server = HttpServer::start(
        &sink,
        &[
            ("MCP_TRACE_RESOURCE_URI", uri_mode),
            ("MCP_TRACE_SESSION_ID", session_ids),
        ],
    );
    let mut canaries = Canaries::default();
    // Credentials and values in every request's headers and URL.
    let bearer = canaries.token("HTTP Authorization: Bearer header");
    let cookie = canaries.token("HTTP Cookie header");
    let baggage = canaries.token("HTTP baggage header");
    let query = canaries.token("HTTP URL query string");
    server.headers = vec![
        ("Authorization".into(), format!("Bearer {bearer}")),
        ("Cookie".into(), format!("session={cookie}")),
        ("baggage".into(), format!("user={baggage}")),
    ];
    server.target = format!("/mcp?token={query}");

    let traced = drive(&mut server, &mut canaries);

    // The server assigns the Mcp-Session-Id (rmcp's LocalSessionManager, a UUID); a
    // client cannot choose it. A client-chosen one is refused before any handler runs.
    let session = server.session.clone().expect("a session id");
    canaries.external("Mcp-Session-Id (server-assigned, a credential)", &session);
    let bogus = canaries.token("client-chosen Mcp-Session-Id header of an unknown session");
    let refused = server.post(
        &json!({"jsonrpc": "2.0", "id": 100, "method": "ping"}),
        Some(&bogus),
    );
    assert_eq!(refused.status, 404, "an unknown session is refused");

    let (stdout, stderr) = server.finish();
    allow_uris(&mut canaries, uri_mode);
    let raw = session_ids == "raw";
    if raw {
        canaries.allow(&session, vec![("mcp.session.id", session.clone())], true);
    }
    let (mut exports, spans) = sink.collect();
    check_spans(&spans, &traced, uri_mode, &canaries);
    // Every request after initialize carries the session: as a digest by default.
    for (id, _) in &traced {
        let span = spans
            .iter()
            .find(|s| s.attrs.get("jsonrpc.request.id") == Some(&json!(id)))
            .unwrap();
        let exported = span.attrs["mcp.session.id"]
            .as_str()
            .expect("mcp.session.id");
        if raw {
            assert_eq!(exported, session);
        } else {
            assert_eq!(exported.len(), 32, "a 128-bit digest: {exported}");
            assert!(exported.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    exports.push(stream("the server's stderr", stderr));
    exports.push(stream("the server's stdout", stdout));
    assert_no_leaks(&label, &exports, &canaries);
    eprintln!("{label}: {:?}", started.elapsed());
}

#[test]
fn stdio_otlp_default_mode() {
    stdio_pass(Sink::otlp(), "full");
}

#[test]
fn stdio_file_default_mode() {
    stdio_pass(Sink::file("stdio-full"), "full");
}

#[test]
fn stdio_otlp_uri_template() {
    stdio_pass(Sink::otlp(), "template");
}

#[test]
fn stdio_file_uri_template() {
    stdio_pass(Sink::file("stdio-template"), "template");
}

#[test]
fn stdio_otlp_uri_digest() {
    stdio_pass(Sink::otlp(), "digest");
}

#[test]
fn stdio_file_uri_digest() {
    stdio_pass(Sink::file("stdio-digest"), "digest");
}

#[test]
fn http_otlp_default_mode() {
    http_pass(Sink::otlp(), "full", "digest");
}

#[test]
fn http_file_default_mode() {
    http_pass(Sink::file("http-full"), "full", "digest");
}

#[test]
fn http_otlp_uri_template() {
    http_pass(Sink::otlp(), "template", "digest");
}

#[test]
fn http_file_uri_digest() {
    http_pass(Sink::file("http-digest"), "digest", "digest");
}

#[test]
fn http_otlp_session_id_raw_opt_in() {
    http_pass(Sink::otlp(), "full", "raw");
}

#[test]
fn http_file_session_id_raw_opt_in() {
    http_pass(Sink::file("http-raw"), "full", "raw");
}

/// The scanner itself: a planted canary is found in each form and each place.
#[test]
fn the_scanner_finds_what_it_is_looking_for() {
    let mut c = Canaries::default();
    let token = c.token("planted");
    let percent: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
    for raw in [
        format!("log line {token} here"),
        format!("x{percent}y"),
        format!("\"{}\"", &token[6..]),
    ] {
        let found = leaks(&[stream("planted stream", raw.clone().into_bytes())], &c);
        assert!(!found.is_empty(), "not found in {raw}");
    }
    let mut encoded = Vec::new();
    for prefix in ["", "a", "ab"] {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend_from_slice(token.as_bytes());
        bytes.extend_from_slice(b"tail");
        encoded.push(base64_standard(&bytes));
    }
    for text in encoded {
        let found = leaks(&[stream("base64", text.clone().into_bytes())], &c);
        assert!(!found.is_empty(), "not found in base64 {text}");
    }
    // Allowed as the exact attribute value, not as part of another.
    c.allow(&token, vec![("mcp.resource.uri", token.clone())], true);
    let export = |attr: &str, text: String| Export {
        what: "planted export".into(),
        raw: text.clone().into_bytes(),
        leaves: vec![Leaf {
            path: "p".into(),
            attr: Some(attr.into()),
            text,
            in_raw: true,
        }],
        spans: true,
    };
    assert!(leaks(&[export("mcp.resource.uri", token.clone())], &c).is_empty());
    assert!(!leaks(&[export("mcp.resource.name", token.clone())], &c).is_empty());
    assert!(!leaks(&[export("mcp.resource.uri", format!("{token}…"))], &c).is_empty());
    let mut hidden = export("mcp.resource.uri", token.clone());
    hidden.raw.extend_from_slice(token.as_bytes());
    assert!(
        !leaks(&[hidden], &c).is_empty(),
        "bytes outside any attribute"
    );
}

fn base64_standard(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        for i in 0..=chunk.len() {
            out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        for _ in chunk.len()..3 {
            out.push('=');
        }
    }
    out
}
