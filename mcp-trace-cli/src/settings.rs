//! The report's thresholds and windows: the alerts' defaults, each one a flag of
//! `mcp-trace report`.

use std::time::Duration;

/// How many slots an alert window is cut into: windows slide by one slot.
pub const SLOTS_PER_WINDOW: u64 = 5;

/// Thresholds and windows of the alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The window rates are computed over (`--window`, default 5 minutes). Windows slide
    /// by a fifth of it.
    pub window: Duration,
    /// How long a tool that was called regularly must go uncalled, while other tools
    /// are still called, to be reported silent (`--silence`, default 15 minutes).
    pub silence: Duration,
    /// Tool error rate over a window (`--error-rate`, default 5 %).
    pub error_rate: f64,
    /// A window's p95 above this factor times the tool's baseline p50
    /// (`--latency-factor`, default 2).
    pub latency_factor: f64,
    /// Schema-invalid share of a tool's checked calls over a window (`--schema-rate`,
    /// default 10 %).
    pub schema_rate: f64,
    /// Share of all calls answered "method not found", `-32601` (`--unknown-rate`,
    /// default 1 %).
    pub unknown_rate: f64,
    /// Share of a resource's reads that repeat one made before in the same session
    /// (`--duplicate-rate`, default 20 %).
    pub duplicate_rate: f64,
    /// Identical calls of a tool in a row in one session (or trace) that make a retry
    /// loop (`--retry-threshold`, default 3).
    pub retry_threshold: u64,
    /// The rules' and the dashboard's view of the same: a tool's share of calls that
    /// repeated its previous one in their session (`mcp.tool.call.repeated`) over a
    /// window (`--repeat-rate`, default 20 %).
    pub repeat_rate: f64,
    /// Fewest calls (or reads) a window needs before a rate over it can alert: two
    /// failures in three calls are not a trend (`--min-calls`, default 10).
    pub min_calls: u64,
    /// Without `--baseline FILE`, each tool's baseline is its first this many calls
    /// (`--baseline-calls`, default 100).
    pub baseline_calls: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(5 * 60),
            silence: Duration::from_secs(15 * 60),
            error_rate: 0.05,
            latency_factor: 2.0,
            schema_rate: 0.10,
            unknown_rate: 0.01,
            duplicate_rate: 0.20,
            retry_threshold: 3,
            repeat_rate: 0.20,
            min_calls: 10,
            baseline_calls: 100,
        }
    }
}

impl Settings {
    /// The length of one slot, in nanoseconds (at least one).
    pub fn slot_ns(&self) -> u64 {
        let window = u64::try_from(self.window.as_nanos()).unwrap_or(u64::MAX);
        (window / SLOTS_PER_WINDOW).max(1)
    }

    /// The slot a time falls in.
    pub fn slot(&self, ns: u64) -> u64 {
        ns / self.slot_ns()
    }
}
