//! The client side's spans, when traced clients wrote to the same files: kept apart
//! from the server's figures (a tool call traced on both sides is one call), and
//! summed up as what the agents saw: their sessions, the traces they made (one per
//! agent run), their requests and failures, and tool-call latency transport included.

use crate::read::{Call, Side};
use crate::tools::{MAX_MICROS, SetBudget};
use hdrhistogram::Histogram;
use std::collections::HashSet;

/// What the traced clients recorded.
#[derive(Debug, Clone)]
pub struct Clients {
    /// `mcp.client.session` spans.
    pub sessions: u64,
    traces: HashSet<u64>,
    /// Requests sent (CLIENT spans), and those that failed.
    pub requests: u64,
    pub failed: u64,
    tool_latency: Histogram<u64>,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            sessions: 0,
            traces: HashSet::new(),
            requests: 0,
            failed: 0,
            tool_latency: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid bounds"),
        }
    }
}

impl Clients {
    pub(crate) fn add(&mut self, call: &Call, budget: &mut SetBudget) {
        match call.side {
            Side::ClientSession => {
                self.sessions += 1;
                if let Some(trace) = call.trace {
                    budget.insert(&mut self.traces, trace, call.start_ns);
                }
            }
            Side::Client => {
                self.requests += 1;
                self.failed += u64::from(call.failure().is_some());
                if call.method == "tools/call" {
                    let micros = (call.duration_ns / 1_000).clamp(1, MAX_MICROS);
                    self.tool_latency.saturating_record(micros);
                }
            }
            Side::Server | Side::Task | Side::Probe => {}
        }
    }

    /// Whether any client span was read.
    pub fn any(&self) -> bool {
        self.sessions + self.requests > 0
    }

    /// Distinct traces of the sessions: one per agent run.
    pub fn traces(&self) -> u64 {
        self.traces.len() as u64
    }

    /// Tool calls as the client timed them (transport included), at quantile `q`, in
    /// microseconds; `None` without any.
    pub fn tool_latency_micros(&self, q: f64) -> Option<u64> {
        (!self.tool_latency.is_empty()).then(|| self.tool_latency.value_at_quantile(q))
    }
}
