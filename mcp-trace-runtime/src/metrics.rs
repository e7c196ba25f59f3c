//! `mcp.server.operation.duration`: every traced tool call and resource read on a
//! histogram, whether or not its span is sampled, so that calls per tool, latency
//! percentiles and error rates stay complete under head sampling.
//!
//! The attributes are the convention's for this metric, plus two low-cardinality
//! booleans of ours (`mcp.tool.args.schema_valid`, `mcp.resource.cache_hit`). Never a
//! session id, request id, URI or hash: each would give every call its own series.

use crate::keys;
use opentelemetry::metrics::{BoundHistogram, Histogram};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue, global};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// The metric's name, as the MCP semantic conventions give it.
pub(crate) const OPERATION_DURATION: &str = "mcp.server.operation.duration";

/// The explicit bucket boundaries the conventions advise, in seconds.
pub(crate) const DURATION_BOUNDARIES: [f64; 14] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Most attributes one operation carries: method, operation, tool (or prompt),
/// protocol version, transport, network protocol and its version, the verdict or the
/// cache-hit bit, error type and status code.
const MAX_ATTRIBUTES: usize = 10;

/// Most series one thread keeps bound; past it, a record looks its series up in the
/// SDK's own map, as an unbound record does. Series are few (tools × outcomes), and
/// every value in them is the server's, never the client's.
const MAX_BOUND_SERIES: usize = 256;

/// The metric side of one traced call: when it started and what is known of it before
/// it ends. Plain values only; the attributes are built once per series and thread.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    start: SystemTime,
    series: Series,
}

/// The attribute values of one series of the histogram, as plain values: compared and
/// hashed to find the series' bound handle without building its attribute list.
/// The `&'static str` fields are the crate's own constants, compared by address: two
/// copies of one text at two addresses only bind the same series twice.
#[derive(Debug, Clone)]
struct Series {
    method: &'static str,
    /// `gen_ai.tool.name` of a tool call (which also sets `gen_ai.operation.name`).
    tool: Option<StringValue>,
    /// `gen_ai.prompt.name` of a `prompts/get`.
    prompt: Option<StringValue>,
    protocol: Option<&'static str>,
    transport: Option<&'static str>,
    /// `network.protocol.name` and `.version`.
    network: Option<(&'static str, &'static str)>,
    schema_valid: Option<bool>,
    cache_hit: Option<bool>,
    /// `mcp.tool.call.repeated`: the call repeated its tool's last one in its scope.
    repeated: Option<bool>,
    error_type: Option<StringValue>,
    rpc_code: Option<String>,
}

impl Operation {
    /// An operation `method`, started at `start` (the span's own start time).
    pub(crate) fn new(method: &'static str, start: SystemTime) -> Self {
        Self {
            start,
            series: Series::new(method),
        }
    }

    /// A `tools/call` of `tool`.
    pub(crate) fn tool(mut self, tool: impl Into<StringValue>) -> Self {
        self.series.tool = Some(tool.into());
        self
    }

    /// The prompt of a `prompts/get`: a name the server knows, else `_OTHER`.
    #[cfg(feature = "wire")]
    pub(crate) fn prompt(&mut self, prompt: StringValue) {
        self.series.prompt = Some(prompt);
    }

    /// The protocol version, if it is a published revision (else `_OTHER`).
    pub(crate) fn protocol(&mut self, version: &str) {
        self.series.protocol = Some(known_protocol(version));
    }

    pub(crate) fn transport(&mut self, transport: &'static str) {
        self.series.transport = Some(transport);
    }

    pub(crate) fn network_protocol(&mut self, protocol: (&'static str, &'static str)) {
        self.series.network = Some(protocol);
    }

    pub(crate) fn schema_valid(&mut self, valid: Option<bool>) {
        self.series.schema_valid = valid;
    }

    pub(crate) fn repeated(&mut self, repeated: Option<bool>) {
        self.series.repeated = repeated;
    }

    pub(crate) fn cache_hit(&mut self, hit: Option<bool>) {
        self.series.cache_hit = hit;
    }

    /// Starts the operation at `start` instead: the first round of a multi-round call.
    #[cfg(feature = "wire")]
    pub(crate) fn restart(&mut self, start: SystemTime) {
        self.start = start;
    }

    /// Records the duration up to `end` (the span's own end time), with the error
    /// type and status code of a failed call. In place, so that the series is not
    /// copied on the way (most records only compare it): the operation is spent after
    /// it, its series possibly taken.
    pub(crate) fn record(
        &mut self,
        end: SystemTime,
        error_type: Option<StringValue>,
        rpc_code: Option<String>,
    ) {
        self.series.error_type = error_type;
        self.series.rpc_code = rpc_code;
        // A clock stepped back between the two reads reads as zero, not as an error.
        let seconds = end
            .duration_since(self.start)
            .map_or(0.0, |d| d.as_secs_f64());
        record(seconds, &mut self.series);
    }
}

impl PartialEq for Series {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &'static str, b: &'static str| std::ptr::eq(a, b);
        let same_opt = |a: Option<&'static str>, b: Option<&'static str>| match (a, b) {
            (Some(a), Some(b)) => same(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        // A handler's name is one `&'static str`: equal at the address, no bytes read.
        let same_value = |a: &Option<StringValue>, b: &Option<StringValue>| match (a, b) {
            (Some(a), Some(b)) => {
                let (a, b) = (a.as_str(), b.as_str());
                std::ptr::eq(a, b) || a == b
            }
            (a, b) => a.is_none() && b.is_none(),
        };
        same(self.method, other.method)
            && same_opt(self.protocol, other.protocol)
            && same_opt(self.transport, other.transport)
            && same_opt(self.network.map(|n| n.0), other.network.map(|n| n.0))
            && same_opt(self.network.map(|n| n.1), other.network.map(|n| n.1))
            && self.schema_valid == other.schema_valid
            && self.cache_hit == other.cache_hit
            && self.repeated == other.repeated
            && same_value(&self.tool, &other.tool)
            && same_value(&self.prompt, &other.prompt)
            && same_value(&self.error_type, &other.error_type)
            && self.rpc_code == other.rpc_code
    }
}

impl Eq for Series {}

impl Hash for Series {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let address = |text: Option<&'static str>| text.map_or(0, |t| t.as_ptr() as usize);
        state.write_usize(address(Some(self.method)));
        state.write_usize(address(self.protocol));
        state.write_usize(address(self.transport));
        state.write_usize(address(self.network.map(|n| n.1)));
        // Each of the two bits with its own "unset": 0, 1 or 2.
        let bit = |b: Option<bool>| b.map_or(0, |b| 1 + usize::from(b));
        state.write_usize(
            bit(self.schema_valid) | bit(self.cache_hit) << 2 | bit(self.repeated) << 4,
        );
        self.tool.hash(state);
        self.prompt.hash(state);
        self.error_type.hash(state);
        self.rpc_code.hash(state);
    }
}

/// A multiply-rotate hasher (the rustc compiler's "Fx" scheme) for [`Series`] keys:
/// a few instructions per word where SipHash takes dozens. The names in the keys are
/// the server's: advertised, or vouched for by answering (at most 256 of those, see
/// the rmcp adapter); the rest are constants. Nothing a client can flood.
#[derive(Default)]
struct SeriesHasher(u64);

impl SeriesHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for SeriesHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Series {
    /// The series of an operation `method`, nothing else known yet.
    fn new(method: &'static str) -> Self {
        Series {
            method,
            tool: None,
            prompt: None,
            protocol: None,
            transport: None,
            network: None,
            schema_valid: None,
            cache_hit: None,
            repeated: None,
            error_type: None,
            rpc_code: None,
        }
    }

    /// The series' attribute list, in one allocation sized for all of them.
    fn attributes(&self) -> Vec<KeyValue> {
        let mut attrs = Vec::with_capacity(MAX_ATTRIBUTES);
        attrs.push(KeyValue::new(keys::METHOD, self.method));
        if let Some(tool) = &self.tool {
            attrs.push(KeyValue::new(keys::OPERATION, keys::EXECUTE_TOOL));
            attrs.push(KeyValue::new(keys::GEN_AI_TOOL, tool.clone()));
        }
        if let Some(prompt) = &self.prompt {
            attrs.push(KeyValue::new(keys::GEN_AI_PROMPT, prompt.clone()));
        }
        push_connection(&mut attrs, self.protocol, self.transport, self.network);
        if let Some(valid) = self.schema_valid {
            attrs.push(KeyValue::new(keys::SCHEMA_VALID, valid));
        }
        if let Some(repeated) = self.repeated {
            attrs.push(KeyValue::new(keys::REPEATED, repeated));
        }
        if let Some(hit) = self.cache_hit {
            attrs.push(KeyValue::new(keys::CACHE_HIT, hit));
        }
        if let Some(error_type) = &self.error_type {
            attrs.push(KeyValue::new(keys::ERROR_TYPE, error_type.clone()));
        }
        if let Some(code) = &self.rpc_code {
            attrs.push(KeyValue::new(keys::RPC_STATUS, code.clone()));
        }
        attrs
    }
}

/// The attributes both metrics carry of the connection a request came over: protocol
/// version, transport, and network protocol and its version.
pub(crate) fn push_connection(
    attrs: &mut Vec<KeyValue>,
    protocol: Option<&'static str>,
    transport: Option<&'static str>,
    network: Option<(&'static str, &'static str)>,
) {
    if let Some(version) = protocol {
        attrs.push(KeyValue::new(keys::PROTOCOL, version));
    }
    if let Some(transport) = transport {
        attrs.push(KeyValue::new(keys::TRANSPORT, transport));
    }
    if let Some((name, version)) = network {
        attrs.push(KeyValue::new(keys::NETWORK_PROTOCOL, name));
        attrs.push(KeyValue::new(keys::NETWORK_PROTOCOL_VERSION, version));
    }
}

/// `method` if the conventions know it, else `_OTHER` (the observer's rule).
#[cfg(feature = "wire")]
pub(crate) use crate::observe::methods::known_method;

/// `version` if it is a published protocol revision, else `_OTHER`.
pub(crate) fn known_protocol(version: &str) -> &'static str {
    keys::KNOWN_PROTOCOLS
        .iter()
        .find(|known| **known == version)
        .copied()
        .unwrap_or(keys::OTHER)
}

/// Set when [`crate::init`] chose no metrics exporter: calls then skip the metric
/// altogether (no clock read, verdict or lookup for it). Cleared by
/// [`crate::provider_changed`], which may announce a meter provider of the user's.
static OFF: AtomicBool = AtomicBool::new(false);

/// Whether calls record the metric.
#[inline]
pub(crate) fn enabled() -> bool {
    !OFF.load(Ordering::Relaxed)
}

pub(crate) fn switch_off() {
    OFF.store(true, Ordering::Relaxed);
}

pub(crate) fn switch_on() {
    OFF.store(false, Ordering::Relaxed);
}

thread_local! {
    /// The histogram, read from the global meter provider once per provider change
    /// (`crate::provider_changed`) on each thread: an instrument made before a provider
    /// is installed stays a no-op.
    /// Also read again after `REREAD_AFTER` records, as the tracer is, for a provider
    /// installed without telling.
    static OPERATION: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

/// One thread's histogram and its bound series. A bound handle writes straight to its
/// series' buckets: no attribute list built, sorted and hashed per record.
struct Cached {
    epoch: u64,
    records_left: u32,
    histogram: Histogram<f64>,
    /// The series recorded last, and its handle.
    last: Option<(Series, BoundHistogram<f64>)>,
    bound: HashMap<Series, BoundHistogram<f64>, BuildHasherDefault<SeriesHasher>>,
}

/// Records `seconds` on `series`, through the thread's bound handle for it; `series`
/// is taken (left empty) when the thread keeps it as the one recorded last.
fn record(seconds: f64, series: &mut Series) {
    let epoch = crate::tracer::epoch();
    let _ = OPERATION.try_with(|cell| {
        // A meter provider that records through a traced call of its own would find
        // the cell busy: that one record is dropped, never a panic.
        let Ok(mut cell) = cell.try_borrow_mut() else {
            return;
        };
        let cached = match &mut *cell {
            Some(cached) if cached.epoch == epoch && cached.records_left > 0 => {
                cached.records_left -= 1;
                cached
            }
            // A new provider, or time to look again: the old handles go with the old
            // histogram.
            stale => stale.insert(Cached {
                epoch,
                records_left: crate::tracer::REREAD_AFTER,
                histogram: operation_histogram(),
                last: None,
                bound: HashMap::default(),
            }),
        };
        // The series recorded last on this thread is compared before any lookup: most
        // calls repeat it, and comparing costs less than hashing.
        if let Some((last, bound)) = &cached.last
            && last == series
        {
            bound.record(seconds);
            return;
        }
        let bound = match cached.bound.get(series) {
            Some(bound) => bound.clone(),
            None if cached.bound.len() < MAX_BOUND_SERIES => {
                let bound = cached.histogram.bind(&series.attributes());
                cached.bound.insert(series.clone(), bound.clone());
                bound
            }
            None => {
                cached.histogram.record(seconds, &series.attributes());
                return;
            }
        };
        bound.record(seconds);
        cached.last = Some((std::mem::replace(series, Series::new("")), bound));
    });
}

/// `mcp.server.operation.duration` on the global meter provider.
fn operation_histogram() -> Histogram<f64> {
    meter()
        .f64_histogram(OPERATION_DURATION)
        .with_unit("s")
        .with_description(
            "MCP request duration as observed on the server, from receiving the request \
             until the result is sent",
        )
        .with_boundaries(DURATION_BOUNDARIES.to_vec())
        .build()
}

/// The crate's meter on the global meter provider.
pub(crate) fn meter() -> opentelemetry::metrics::Meter {
    global::meter_with_scope(scope().clone())
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
        #[cfg(feature = "wire")]
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
