//! Reading span files: OTLP/JSON lines, one `ExportTraceServiceRequest` per line, as
//! the library's embedded exporter and the OpenTelemetry Collector's file exporter
//! write them. Streaming: one line in memory at a time, each MCP span handed on as a
//! [`Call`] and then dropped. What cannot be read is skipped and counted, never fatal.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use std::io::BufRead;

/// Which side of the protocol a span records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A server's span of a request it answered (SERVER, or INTERNAL from a writer
    /// that does not set the kind).
    Server,
    /// A traced client's span of a request it sent (CLIENT).
    Client,
    /// A traced client's session span (`mcp.client.session`).
    ClientSession,
    /// A task's span (`task {tool}`, with `mcp.task.status`): the MCP tasks
    /// extension's work, from the call that created it to its terminal status.
    Task,
    /// A probe run's root span (`probe {target}`, with `mcp.probe.up`): `mcp-trace
    /// probe`'s verdict on a server.
    Probe,
}

/// What one MCP span says, as far as the report goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub side: Side,
    /// A digest of the trace id: a client session span's is one agent run; a
    /// server span's scopes its runs of identical calls when it has no session.
    pub trace: Option<u64>,
    /// `mcp.method.name` (the span's name for a client session).
    pub method: String,
    /// `gen_ai.tool.name`, for `tools/call`.
    pub tool: Option<String>,
    /// `mcp.resource.template`, else `mcp.resource.name`, else `mcp.resource.uri`.
    pub resource: Option<String>,
    pub session: Option<String>,
    pub error_type: Option<String>,
    /// `rpc.response.status_code`: the JSON-RPC error code, set also for the codes the
    /// conventions do not count as failures (`-32602` invalid params, `-32601` method
    /// not found), which carry no `error.type`.
    pub rpc_code: Option<String>,
    pub schema_valid: Option<bool>,
    pub schema_error_path: Option<String>,
    pub args_hash: Option<String>,
    /// `mcp.tool.call.repeat_run`: the call's place in its run of identical calls, as
    /// the library counted it (it sees every call, sampled or not).
    pub repeat_run: Option<u64>,
    pub cache_hit: Option<bool>,
    /// A round of a multi-round call (MCP 2026-07-28) that answered `input_required`:
    /// not a call of its own, the round that ends the call counts it.
    pub input_required: bool,
    /// `mcp.tool.definition.size`: bytes of the tool's definition as advertised.
    pub definition_size: Option<u64>,
    /// `mcp.tool.result.size`: bytes of the result as the client received it.
    pub result_size: Option<u64>,
    /// `mcp.tool.result.size_skipped`: a result too large to measure (1 MiB or more).
    pub result_too_large: bool,
    /// Start, in nanoseconds since the Unix epoch. For the round that ends a
    /// multi-round call, the call's start: its end less `mcp.request.rounds_duration`.
    pub start_ns: u64,
    /// The span's duration, or a multi-round call's whole duration.
    pub duration_ns: u64,
    /// `mcp.task.status` of a task span: `completed`, `failed`, `cancelled`,
    /// `expired`.
    pub task_status: Option<String>,
    /// A probe run's verdict (`mcp.probe.up`), and the step it failed at
    /// (`mcp.probe.failed_step`); its target is in `tool`, its reason in `error_type`.
    pub probe_up: Option<bool>,
    pub failed_step: Option<String>,
    /// The `service.name` of the span's resource.
    pub service: Option<String>,
}

impl Call {
    /// What the call failed with, if it did: `error.type`, else the JSON-RPC code of an
    /// error answer (an agent's invalid parameters count, for the operator, even where
    /// the conventions leave the status unset).
    pub fn failure(&self) -> Option<&str> {
        self.error_type.as_deref().or(self.rpc_code.as_deref())
    }

    /// Whether the server answered "method not found" (`-32601`).
    pub fn method_not_found(&self) -> bool {
        self.failure() == Some("-32601") || self.rpc_code.as_deref() == Some("-32601")
    }

    /// End, in nanoseconds since the Unix epoch.
    pub fn end_ns(&self) -> u64 {
        self.start_ns.saturating_add(self.duration_ns)
    }
}

/// Lines and spans left out, by why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// A last line with no newline that does not parse: a writer that stopped mid-line.
    pub truncated: u64,
    /// Lines that are not an `ExportTraceServiceRequest` in JSON.
    pub unreadable: u64,
    /// Spans without `mcp.method.name`: another service's, or not a server span.
    pub not_mcp: u64,
    /// Why the input broke off before its end, if it did (a gzip stream cut short).
    pub broken: Option<String>,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} truncated line(s), {} unreadable line(s), {} non-MCP span(s)",
            self.truncated, self.unreadable, self.not_mcp
        )
    }
}

impl Skipped {
    pub fn total(&self) -> u64 {
        self.truncated + self.unreadable + self.not_mcp
    }

    pub(crate) fn add(&mut self, other: Skipped) {
        self.truncated += other.truncated;
        self.unreadable += other.unreadable;
        self.not_mcp += other.not_mcp;
        if other.broken.is_some() {
            self.broken = other.broken;
        }
    }
}

/// Longest line read: a batch of 512 spans is well under a megabyte, so a longer line
/// is not the exporter's; it is skipped (counted unreadable) without being held.
pub const MAX_LINE_BYTES: u64 = 16 << 20;

/// Longest name kept (tool, resource, method, error type, schema path): longer ones are
/// cut, with `…`. The library bounds what it writes; other writers may not.
pub const MAX_NAME_CHARS: usize = 256;

/// Reads every line of `input`, handing each MCP span to `each`. Input that breaks off
/// (a gzip stream cut short, garbage after its end) ends the reading as a truncated
/// line would: what came before counts.
pub fn read(mut input: impl BufRead, mut each: impl FnMut(Call)) -> std::io::Result<Skipped> {
    let mut skipped = Skipped::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match std::io::Read::take(&mut input, MAX_LINE_BYTES).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(error) if corrupt(&error) => {
                skipped.truncated += 1;
                skipped.broken = Some(error.to_string());
                return Ok(skipped);
            }
            Err(error) => return Err(error),
        };
        if n == 0 {
            return Ok(skipped);
        }
        let complete = line.ends_with(b"\n");
        if !complete && n as u64 == MAX_LINE_BYTES {
            skip_rest_of_line(&mut input)?;
            skipped.unreadable += 1;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // Bytes, not text: a line that is not UTF-8 is one unreadable line, not an
        // unreadable file. Spans one at a time, never the whole line's.
        let mut not_mcp = 0;
        let parsed = crate::request::each_span(&line, &mut |span, service| match call(&span) {
            Some(mut call) => {
                call.service = service.map(|s| bounded(s.to_owned()));
                each(call)
            }
            None => not_mcp += 1,
        });
        skipped.not_mcp += not_mcp;
        match parsed {
            Ok(true) => {}
            // JSON, but not spans: a metrics line, another format.
            Ok(false) => skipped.unreadable += 1,
            Err(_) if !complete => skipped.truncated += 1,
            Err(_) => skipped.unreadable += 1,
        }
    }
}

/// Whether a read error is the data's (a decompressor that met a cut or garbage)
/// rather than the file's (a directory, a device error).
fn corrupt(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
    matches!(error.kind(), InvalidData | InvalidInput | UnexpectedEof)
}

/// Consumes input up to and including the next newline.
fn skip_rest_of_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => {
                input.consume(end + 1);
                return Ok(());
            }
            None => {
                let all = buffer.len();
                input.consume(all);
            }
        }
    }
}

/// A name cut to [`MAX_NAME_CHARS`], with what a terminal or a page would act on
/// instead of showing replaced by `�`: control characters (a newline would forge a
/// report line, an escape sequence clear the screen), the bidirectional overrides
/// (which reverse the text after them) and the two non-characters XML forbids.
pub(crate) fn bounded(name: String) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{FFFE}' | '\u{FFFF}')
    };
    let mut name = if name.contains(unsafe_char) {
        name.chars()
            .map(|c| if unsafe_char(c) { '\u{FFFD}' } else { c })
            .collect()
    } else {
        name
    };
    if let Some((cut, _)) = name.char_indices().nth(MAX_NAME_CHARS - 1) {
        name.truncate(cut);
        name.push('…');
    }
    name
}

/// The name of a traced client's session span.
const CLIENT_SESSION: &str = "mcp.client.session";

/// OTLP's span kind of a CLIENT span.
const KIND_CLIENT: i32 = 3;

/// The MCP call a span records; `None` for a span without `mcp.method.name` (but a
/// client's session span).
fn call(span: &Span) -> Option<Call> {
    let attr = |key: &str| attribute(&span.attributes, key);
    let method = attr("mcp.method.name").and_then(text).map(bounded);
    let side = match (&method, span.kind) {
        (None, _) if span.name == CLIENT_SESSION => Side::ClientSession,
        (None, _) if attr("mcp.task.status").is_some() => Side::Task,
        (None, _) if attr("mcp.probe.up").is_some() => Side::Probe,
        (None, _) => return None,
        (Some(_), KIND_CLIENT) => Side::Client,
        (Some(_), _) => Side::Server,
    };
    let trace = Some(crate::tools::digest_bytes(&span.trace_id));
    let method = method.unwrap_or_else(|| match side {
        Side::Task => "task".to_owned(),
        Side::Probe => "probe".to_owned(),
        _ => CLIENT_SESSION.to_owned(),
    });
    let string = |key: &str| attr(key).and_then(text);
    let name = |key: &str| string(key).map(bounded);
    let flag = |key: &str| match attr(key)?.value.as_ref()? {
        any_value::Value::BoolValue(b) => Some(*b),
        _ => None,
    };
    let count = |key: &str| match attr(key)?.value.as_ref()? {
        any_value::Value::IntValue(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    let end_ns = span.end_time_unix_nano.max(span.start_time_unix_nano);
    // The round that ends a multi-round call stands for the whole call.
    let duration_ns = match attr("mcp.request.rounds_duration").and_then(|v| v.value.as_ref()) {
        // A writer's absurd figure is cut at the span's end (the cast saturates, and
        // the float may round above `end_ns`: the cut is made after it).
        Some(any_value::Value::DoubleValue(seconds)) if seconds.is_finite() && *seconds >= 0.0 => {
            ((seconds * 1e9) as u64).min(end_ns)
        }
        _ => end_ns - span.start_time_unix_nano,
    };
    Some(Call {
        side,
        trace,
        method,
        tool: match side {
            Side::Probe => name("mcp.probe.target"),
            _ => name("gen_ai.tool.name"),
        },
        resource: name("mcp.resource.template")
            .or_else(|| name("mcp.resource.name"))
            .or_else(|| name("mcp.resource.uri")),
        session: string("mcp.session.id"),
        error_type: name("error.type"),
        rpc_code: name("rpc.response.status_code"),
        schema_valid: flag("mcp.tool.args.schema_valid"),
        schema_error_path: name("mcp.tool.args.schema_error_path"),
        args_hash: string("mcp.tool.args.hash"),
        repeat_run: count("mcp.tool.call.repeat_run").filter(|run| *run >= 1),
        cache_hit: flag("mcp.resource.cache_hit"),
        input_required: flag("mcp.request.input_required") == Some(true),
        definition_size: count("mcp.tool.definition.size"),
        result_size: count("mcp.tool.result.size"),
        result_too_large: string("mcp.tool.result.size_skipped").is_some(),
        start_ns: end_ns - duration_ns,
        duration_ns,
        task_status: name("mcp.task.status"),
        probe_up: flag("mcp.probe.up"),
        failed_step: name("mcp.probe.failed_step"),
        service: None,
    })
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// A string attribute's text (an integer's too: `error.type` is written either way by
/// some exporters).
fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        _ => None,
    }
}
