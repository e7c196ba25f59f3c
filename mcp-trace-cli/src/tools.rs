//! Per-tool figures of the report: calls, sessions, errors by type, latency quantiles
//! (HdrHistogram: memory by tool, not by span), schema mismatches, distinct argument
//! hashes and repeated calls (a hash seen before in the same session: retry loops).

use crate::read::Call;
use hdrhistogram::Histogram;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Longest latency the histograms hold, in microseconds (one hour); longer calls are
/// counted at this value.
const MAX_MICROS: u64 = 3_600_000_000;

/// Most distinct schema error paths kept per tool; more are counted under `…`.
const MAX_PATHS: usize = 256;

/// One tool's figures.
#[derive(Debug, Clone)]
pub struct ToolStats {
    pub calls: u64,
    sessions: HashSet<u64>,
    /// Calls per `error.type`.
    pub errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
    /// Calls with a schema verdict, and how many of them were invalid.
    pub schema_checked: u64,
    pub schema_invalid: u64,
    error_paths: HashMap<String, u64>,
    hashes: HashSet<u64>,
    seen_in_session: HashSet<(u64, u64)>,
    /// Calls whose argument hash was seen before in the same session.
    pub repeated: u64,
}

impl Default for ToolStats {
    fn default() -> Self {
        Self {
            calls: 0,
            sessions: HashSet::new(),
            errors: BTreeMap::new(),
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid bounds"),
            schema_checked: 0,
            schema_invalid: 0,
            error_paths: HashMap::new(),
            hashes: HashSet::new(),
            seen_in_session: HashSet::new(),
            repeated: 0,
        }
    }
}

fn digest(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

impl ToolStats {
    pub fn add(&mut self, call: &Call) {
        self.calls += 1;
        let session = call.session.as_deref().map(digest);
        if let Some(session) = session {
            self.sessions.insert(session);
        }
        if let Some(error) = &call.error_type {
            *self.errors.entry(error.clone()).or_default() += 1;
        }
        let micros = (call.duration_ns / 1_000).clamp(1, MAX_MICROS);
        self.latency.saturating_record(micros);
        if let Some(valid) = call.schema_valid {
            self.schema_checked += 1;
            if !valid {
                self.schema_invalid += 1;
                let path = call.schema_error_path.as_deref().unwrap_or("");
                if self.error_paths.len() < MAX_PATHS || self.error_paths.contains_key(path) {
                    *self.error_paths.entry(path.to_owned()).or_default() += 1;
                } else {
                    *self.error_paths.entry("…".to_owned()).or_default() += 1;
                }
            }
        }
        if let Some(hash) = call.args_hash.as_deref().map(digest) {
            self.hashes.insert(hash);
            if let Some(session) = session
                && !self.seen_in_session.insert((session, hash))
            {
                self.repeated += 1;
            }
        }
    }

    /// Sessions that called the tool.
    pub fn sessions(&self) -> u64 {
        self.sessions.len() as u64
    }

    /// Calls that failed.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency at quantile `q`, in microseconds.
    pub fn latency_micros(&self, q: f64) -> u64 {
        self.latency.value_at_quantile(q)
    }

    pub fn distinct_hashes(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// The most common schema error paths, most frequent first (ties by path).
    pub fn top_error_paths(&self, n: usize) -> Vec<(String, u64)> {
        let mut paths: Vec<(String, u64)> = self
            .error_paths
            .iter()
            .map(|(p, c)| (p.clone(), *c))
            .collect();
        paths.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        paths.truncate(n);
        paths
    }
}

/// A JSON-RPC code's name, for error types that are one.
pub fn code_name(error_type: &str) -> Option<&'static str> {
    Some(match error_type {
        "-32700" => "parse error",
        "-32600" => "invalid request",
        "-32601" => "method not found",
        "-32602" => "invalid params",
        "-32603" => "internal error",
        "-32002" => "resource not found",
        _ => return None,
    })
}
