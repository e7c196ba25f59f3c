//! Reading span files: OTLP/JSON lines, one `ExportTraceServiceRequest` per line, as
//! the library's embedded exporter and the OpenTelemetry Collector's file exporter
//! write them. Streaming: one line in memory at a time, each MCP span handed on as a
//! [`Call`] and then dropped. What cannot be read is skipped and counted, never fatal.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use std::io::BufRead;

/// What one MCP server span says, as far as the report goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `mcp.method.name`.
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
    pub cache_hit: Option<bool>,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_ns: u64,
    pub duration_ns: u64,
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// A last line with no newline that does not parse: a writer that stopped mid-line.
    pub truncated: u64,
    /// Lines that are not an `ExportTraceServiceRequest` in JSON.
    pub unreadable: u64,
    /// Spans without `mcp.method.name`: another service's, or not a server span.
    pub not_mcp: u64,
}

impl Skipped {
    pub fn total(&self) -> u64 {
        self.truncated + self.unreadable + self.not_mcp
    }

    pub(crate) fn add(&mut self, other: Skipped) {
        self.truncated += other.truncated;
        self.unreadable += other.unreadable;
        self.not_mcp += other.not_mcp;
    }
}

/// Longest line read: a batch of 512 spans is well under a megabyte, so a longer line
/// is not the exporter's; it is skipped (counted unreadable) without being held.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// Longest name kept (tool, resource, method, error type, schema path): longer ones are
/// cut, with `…`. The library bounds what it writes; other writers may not.
pub const MAX_NAME_CHARS: usize = 256;

/// Reads every line of `input`, handing each MCP span to `each`.
pub fn read(mut input: impl BufRead, mut each: impl FnMut(Call)) -> std::io::Result<Skipped> {
    let mut skipped = Skipped::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = std::io::Read::take(&mut input, MAX_LINE_BYTES).read_until(b'\n', &mut line)?;
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
        // unreadable file.
        match serde_json::from_slice::<ExportTraceServiceRequest>(&line) {
            Ok(request) => calls(&request, &mut skipped, &mut each),
            Err(_) if !complete => skipped.truncated += 1,
            Err(_) => skipped.unreadable += 1,
        }
    }
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

/// A name cut to [`MAX_NAME_CHARS`].
fn bounded(mut name: String) -> String {
    if let Some((cut, _)) = name.char_indices().nth(MAX_NAME_CHARS - 1) {
        name.truncate(cut);
        name.push('…');
    }
    name
}

fn calls(request: &ExportTraceServiceRequest, skipped: &mut Skipped, each: &mut impl FnMut(Call)) {
    let spans = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans);
    for span in spans {
        let attr = |key: &str| attribute(&span.attributes, key);
        let Some(method) = attr("mcp.method.name").and_then(text).map(bounded) else {
            skipped.not_mcp += 1;
            continue;
        };
        let string = |key: &str| attr(key).and_then(text);
        let name = |key: &str| string(key).map(bounded);
        let flag = |key: &str| match attr(key)?.value.as_ref()? {
            any_value::Value::BoolValue(b) => Some(*b),
            _ => None,
        };
        each(Call {
            method,
            tool: name("gen_ai.tool.name"),
            resource: name("mcp.resource.template")
                .or_else(|| name("mcp.resource.name"))
                .or_else(|| name("mcp.resource.uri")),
            session: string("mcp.session.id"),
            error_type: name("error.type"),
            rpc_code: name("rpc.response.status_code"),
            schema_valid: flag("mcp.tool.args.schema_valid"),
            schema_error_path: name("mcp.tool.args.schema_error_path"),
            args_hash: string("mcp.tool.args.hash"),
            cache_hit: flag("mcp.resource.cache_hit"),
            start_ns: span.start_time_unix_nano,
            duration_ns: span
                .end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
        });
    }
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
