//! `mcp-trace report`: the operator's questions answered from the span files mcp-trace
//! writes (or an OpenTelemetry Collector's file exporter), with no backend. Reading
//! (`read`), per-tool figures (`tools`) and rendering (`render`) each in their file.

pub mod read;
pub mod render;
pub mod tools;

use std::collections::{BTreeMap, HashMap};

/// Everything the report shows, gathered in one pass over the spans.
#[derive(Debug, Default)]
pub struct Report {
    /// MCP spans read.
    pub spans: u64,
    pub tools: BTreeMap<String, tools::ToolStats>,
    /// Per resource (template, else name, else URI): reads, and reads that were
    /// repeats within their session or trace.
    pub resources: BTreeMap<String, Reads>,
    sessions: HashMap<String, Session>,
    pub skipped: read::Skipped,
}

/// Reads of one resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    pub reads: u64,
    /// Reads with `mcp.resource.cache_hit = true`.
    pub repeated: u64,
    /// Reads that carried the bit at all (a session or a trace to count within).
    pub tracked: u64,
}

/// One session's extent and tool calls.
#[derive(Debug, Clone, Copy, Default)]
struct Session {
    first_ns: u64,
    last_ns: u64,
    tool_calls: u64,
}

/// What the sessions come to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sessions {
    pub count: u64,
    /// Mean tool calls per session.
    pub calls_per_session: f64,
    /// Mean and longest span of a session, first request to last answer, in seconds.
    pub mean_seconds: f64,
    pub longest_seconds: f64,
}

impl Report {
    /// Adds one span.
    pub fn add(&mut self, call: &read::Call) {
        self.spans += 1;
        let tool_call = call.method == "tools/call";
        if tool_call && let Some(tool) = &call.tool {
            self.tools.entry(tool.clone()).or_default().add(call);
        }
        if call.method == "resources/read"
            && let Some(resource) = &call.resource
        {
            let reads = self.resources.entry(resource.clone()).or_default();
            reads.reads += 1;
            if let Some(hit) = call.cache_hit {
                reads.tracked += 1;
                reads.repeated += u64::from(hit);
            }
        }
        if let Some(id) = &call.session {
            let end = call.start_ns.saturating_add(call.duration_ns);
            let session = self.sessions.entry(id.clone()).or_insert(Session {
                first_ns: call.start_ns,
                last_ns: end,
                tool_calls: 0,
            });
            session.first_ns = session.first_ns.min(call.start_ns);
            session.last_ns = session.last_ns.max(end);
            session.tool_calls += u64::from(tool_call);
        }
    }

    /// The sessions seen (by `mcp.session.id`), their length and calls.
    pub fn sessions(&self) -> Sessions {
        let count = self.sessions.len() as u64;
        if count == 0 {
            return Sessions::default();
        }
        let seconds = |s: &Session| s.last_ns.saturating_sub(s.first_ns) as f64 / 1e9;
        let calls: u64 = self.sessions.values().map(|s| s.tool_calls).sum();
        let total: f64 = self.sessions.values().map(seconds).sum();
        Sessions {
            count,
            calls_per_session: calls as f64 / count as f64,
            mean_seconds: total / count as f64,
            longest_seconds: self.sessions.values().map(seconds).fold(0.0, f64::max),
        }
    }

    /// Reads every span of `input` into the report.
    pub fn read(&mut self, input: impl std::io::BufRead) -> std::io::Result<()> {
        let skipped = read::read(input, |call| self.add(&call))?;
        self.skipped.add(skipped);
        Ok(())
    }
}
