//! `mcp.server.operation.duration`: every traced tool call and resource read on a
//! histogram, whether or not its span is sampled, so that calls per tool, latency
//! percentiles and error rates stay complete under head sampling.
//!
//! The attributes are the convention's for this metric, plus two low-cardinality
//! booleans of ours (`mcp.tool.args.schema_valid`, `mcp.resource.cache_hit`). Never a
//! session id, request id, URI or hash: each would give every call its own series.

use crate::keys;
use opentelemetry::metrics::Histogram;
use opentelemetry::{InstrumentationScope, KeyValue, StringValue, global};
use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::SystemTime;

/// The metric's name, as the MCP semantic conventions give it.
pub(crate) const OPERATION_DURATION: &str = "mcp.server.operation.duration";

/// The explicit bucket boundaries the conventions advise, in seconds.
pub(crate) const DURATION_BOUNDARIES: [f64; 14] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Most attributes one operation carries: method, operation, tool, protocol version,
/// transport, the verdict or the cache-hit bit, error type and status code.
const MAX_ATTRIBUTES: usize = 8;

/// The metric side of one traced call: when it started and what is known of it before
/// it ends. Plain values only; the attributes are built when the call is recorded.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    start: SystemTime,
    method: &'static str,
    /// `gen_ai.tool.name` of a tool call (which also sets `gen_ai.operation.name`).
    tool: Option<StringValue>,
    protocol: Option<&'static str>,
    transport: Option<&'static str>,
    schema_valid: Option<bool>,
    cache_hit: Option<bool>,
}

impl Operation {
    /// An operation `method`, started at `start` (the span's own start time).
    pub(crate) fn new(method: &'static str, start: SystemTime) -> Self {
        Self {
            start,
            method,
            tool: None,
            protocol: None,
            transport: None,
            schema_valid: None,
            cache_hit: None,
        }
    }

    /// A `tools/call` of `tool`.
    pub(crate) fn tool(mut self, tool: impl Into<StringValue>) -> Self {
        self.tool = Some(tool.into());
        self
    }

    /// The protocol version, if it is a published revision (else `_OTHER`).
    pub(crate) fn protocol(&mut self, version: &str) {
        self.protocol = Some(known_protocol(version));
    }

    pub(crate) fn transport(&mut self, transport: &'static str) {
        self.transport = Some(transport);
    }

    pub(crate) fn schema_valid(&mut self, valid: Option<bool>) {
        self.schema_valid = valid;
    }

    pub(crate) fn cache_hit(&mut self, hit: Option<bool>) {
        self.cache_hit = hit;
    }

    /// Records the duration up to `end` (the span's own end time), with the error
    /// type and status code of a failed call.
    pub(crate) fn record(
        &self,
        end: SystemTime,
        error_type: Option<StringValue>,
        rpc_code: Option<String>,
    ) {
        let mut attrs = Attributes::new();
        attrs.push(keys::METHOD, self.method);
        if let Some(tool) = &self.tool {
            attrs.push(keys::OPERATION, keys::EXECUTE_TOOL);
            attrs.push(keys::GEN_AI_TOOL, tool.clone());
        }
        if let Some(version) = self.protocol {
            attrs.push(keys::PROTOCOL, version);
        }
        if let Some(transport) = self.transport {
            attrs.push(keys::TRANSPORT, transport);
        }
        if let Some(valid) = self.schema_valid {
            attrs.push(keys::SCHEMA_VALID, valid);
        }
        if let Some(hit) = self.cache_hit {
            attrs.push(keys::CACHE_HIT, hit);
        }
        if let Some(error_type) = error_type {
            attrs.push(keys::ERROR_TYPE, error_type);
        }
        if let Some(code) = rpc_code {
            attrs.push(keys::RPC_STATUS, code);
        }
        // A clock stepped back between the two reads reads as zero, not as an error.
        let seconds = end
            .duration_since(self.start)
            .map_or(0.0, |d| d.as_secs_f64());
        with_operation_duration(|histogram| histogram.record(seconds, attrs.as_slice()));
    }
}

/// The attributes of one record, in one allocation sized for all of them.
struct Attributes(Vec<KeyValue>);

impl Attributes {
    fn new() -> Self {
        Self(Vec::with_capacity(MAX_ATTRIBUTES))
    }

    fn push(&mut self, key: &'static str, value: impl Into<opentelemetry::Value>) {
        self.0.push(KeyValue::new(key, value));
    }

    fn as_slice(&self) -> &[KeyValue] {
        &self.0
    }
}

/// `mcp.method.name` values the conventions know; any other method is `_OTHER` on the
/// metric, because the string is the client's.
#[cfg(feature = "rmcp")]
const KNOWN_METHODS: [&str; 28] = [
    "completion/complete",
    "elicitation/create",
    "initialize",
    "logging/setLevel",
    "notifications/cancelled",
    "notifications/initialized",
    "notifications/message",
    "notifications/progress",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
    "notifications/roots/list_changed",
    "notifications/subscriptions/acknowledged",
    "notifications/tools/list_changed",
    "ping",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/subscribe",
    "resources/templates/list",
    "resources/unsubscribe",
    "roots/list",
    "sampling/createMessage",
    "server/discover",
    "subscriptions/listen",
    "tools/call",
    "tools/list",
];

/// `method` if the conventions know it, else `_OTHER`.
#[cfg(feature = "rmcp")]
pub(crate) fn known_method(method: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or(keys::OTHER)
}

/// Protocol revisions published so far; any other version string is `_OTHER` on the
/// metric, because the string is the client's.
const KNOWN_PROTOCOLS: [&str; 5] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];

/// `version` if it is a published protocol revision, else `_OTHER`.
pub(crate) fn known_protocol(version: &str) -> &'static str {
    KNOWN_PROTOCOLS
        .iter()
        .find(|known| **known == version)
        .copied()
        .unwrap_or(keys::OTHER)
}

thread_local! {
    /// The histogram, read from the global meter provider once per provider change
    /// (`crate::provider_changed`) on each thread: an instrument made before a provider
    /// is installed stays a no-op.
    /// Also read again after `REREAD_AFTER` records, as the tracer is, for a provider
    /// installed without telling.
    static OPERATION: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

struct Cached {
    epoch: u64,
    records_left: u32,
    histogram: Histogram<f64>,
}

fn with_operation_duration(f: impl FnOnce(&Histogram<f64>)) {
    let epoch = crate::tracer::epoch();
    let _ = OPERATION.try_with(|cell| {
        let mut cell = cell.borrow_mut();
        match &mut *cell {
            Some(cached) if cached.epoch == epoch && cached.records_left > 0 => {
                cached.records_left -= 1;
                f(&cached.histogram);
            }
            _ => {
                let histogram = operation_histogram();
                f(&histogram);
                *cell = Some(Cached {
                    epoch,
                    records_left: crate::tracer::REREAD_AFTER,
                    histogram,
                });
            }
        }
    });
}

/// `mcp.server.operation.duration` on the global meter provider.
fn operation_histogram() -> Histogram<f64> {
    global::meter_with_scope(scope().clone())
        .f64_histogram(OPERATION_DURATION)
        .with_unit("s")
        .with_description(
            "MCP request duration as observed on the server, from receiving the request \
             until the result is sent",
        )
        .with_boundaries(DURATION_BOUNDARIES.to_vec())
        .build()
}

fn scope() -> &'static InstrumentationScope {
    static SCOPE: OnceLock<InstrumentationScope> = OnceLock::new();
    SCOPE.get_or_init(|| {
        InstrumentationScope::builder("mcp-trace")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_chosen_strings_outside_the_known_sets_are_other() {
        assert_eq!(known_protocol("2025-06-18"), "2025-06-18");
        assert_eq!(known_protocol("2025-06-19"), "_OTHER");
        assert_eq!(known_protocol(""), "_OTHER");
        #[cfg(feature = "rmcp")]
        {
            assert_eq!(known_method("tools/list"), "tools/list");
            assert_eq!(known_method("prompts/get"), "prompts/get");
            assert_eq!(known_method("tools/list/../x"), "_OTHER");
            assert_eq!(known_method("vendor/custom"), "_OTHER");
        }
    }

    #[test]
    fn boundaries_are_the_conventions() {
        assert_eq!(
            DURATION_BOUNDARIES,
            [
                0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0
            ]
        );
        assert!(DURATION_BOUNDARIES.windows(2).all(|w| w[0] < w[1]));
    }
}
