//! Per-tool figures of the report: calls, sessions, errors by type, latency quantiles
//! (HdrHistogram: memory by tool, not by span), schema mismatches, distinct argument
//! hashes and repeated calls (a hash seen before in the same session), runs of
//! identical calls in a row (retry loops), and the same counts per time slot for the
//! alerts.

use crate::read::Call;
use crate::settings::Settings;
use crate::windows::{Counts, Slots};
use hdrhistogram::Histogram;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Longest latency the histograms hold, in microseconds (a day); longer calls are
/// counted at this value, and shown as at least it.
pub const MAX_MICROS: u64 = 86_400_000_000;

/// Most distinct schema error paths and error types kept per tool; more are counted
/// under `…`.
const MAX_PATHS: usize = 256;
const MAX_ERROR_TYPES: usize = 64;

/// What the report's sets (argument hashes, (session, hash) pairs, sessions) may hold
/// in all, tools together: a file of endless distinct values costs at most this many
/// entries (some 20 bytes each), after which the figures they feed are lower bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetBudget {
    left: u64,
    /// When the budget ran out: the start of the first span whose value went uncounted.
    pub exhausted_at_ns: Option<u64>,
}

impl SetBudget {
    /// Two million entries (about 100 MB at most): a million spans with half their
    /// arguments never seen before take one million.
    pub const DEFAULT: u64 = 2_000_000;

    pub fn new(entries: u64) -> Self {
        Self {
            left: entries,
            exhausted_at_ns: None,
        }
    }

    /// Adds `value` to `set` if the budget allows: `Some(true)` if it was new,
    /// `Some(false)` if it was there already, `None` if it is new but did not fit.
    pub fn insert<T: Hash + Eq>(
        &mut self,
        set: &mut HashSet<T>,
        value: T,
        now_ns: u64,
    ) -> Option<bool> {
        if set.contains(&value) {
            return Some(false);
        }
        if self.left == 0 {
            self.exhausted_at_ns.get_or_insert(now_ns);
            return None;
        }
        self.left -= 1;
        set.insert(value);
        Some(true)
    }

    /// Takes one entry for a structure of the caller's; `false` when none is left.
    pub fn take(&mut self, now_ns: u64) -> bool {
        if self.left == 0 {
            self.exhausted_at_ns.get_or_insert(now_ns);
            return false;
        }
        self.left -= 1;
        true
    }
}

impl Default for SetBudget {
    fn default() -> Self {
        Self::new(Self::DEFAULT)
    }
}

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
    /// Runs of identical calls in a row, per session or trace.
    pub runs: Runs,
    /// The counts per slot, for the alerts.
    pub slots: Slots<ToolSlot>,
    baseline: Baseline,
    /// What the tool costs a model's context, in bytes of JSON.
    pub context: Context,
}

/// A tool's context cost: its definition (paid on every turn the tool is listed) and
/// its results (paid per call).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// The definition's size, as the latest call that carried it saw it.
    pub definition: Option<(u64, u64)>,
    /// Results measured, and their bytes in all.
    pub results: u64,
    pub result_bytes: u64,
    /// Results of 1 MiB or more (not measured on).
    pub too_large: u64,
}

impl Context {
    /// The definition's size in bytes, if a call carried it.
    pub fn definition_bytes(&self) -> Option<u64> {
        self.definition.map(|(_, size)| size)
    }

    /// The mean result size in bytes, counting a result too large to measure as
    /// 1 MiB (so the mean is then a lower bound).
    pub fn mean_result_bytes(&self) -> Option<u64> {
        let results = self.results + self.too_large;
        let bytes = self
            .result_bytes
            .saturating_add(self.too_large.saturating_mul(TOO_LARGE_BYTES));
        bytes.checked_div(results)
    }

    fn add(&mut self, call: &Call) {
        if let Some(size) = call.definition_size
            && self.definition.is_none_or(|(at, _)| at <= call.start_ns)
        {
            self.definition = Some((call.start_ns, size));
        }
        if let Some(size) = call.result_size {
            self.results += 1;
            self.result_bytes = self.result_bytes.saturating_add(size);
        } else if call.result_too_large {
            self.too_large += 1;
        }
    }
}

/// The library's budget for measuring a result: one at or over it is `too_large`.
pub const TOO_LARGE_BYTES: u64 = 1 << 20;

/// One tool's counts in one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolSlot {
    pub calls: u64,
    pub failed: u64,
    pub schema_checked: u64,
    pub schema_invalid: u64,
    /// Calls slower than the latency alert's threshold (the baseline p50 times the
    /// factor): a window's p95 is above the threshold exactly when more than 5 % of its
    /// calls are.
    pub slow: u64,
    /// The first call's start and the last call's end in the slot, in nanoseconds.
    pub first_ns: u64,
    pub last_ns: u64,
}

impl Counts for ToolSlot {
    fn merge(&mut self, other: &Self) {
        if other.calls == 0 {
            return;
        }
        if self.calls == 0 {
            *self = *other;
            return;
        }
        self.calls += other.calls;
        self.failed += other.failed;
        self.schema_checked += other.schema_checked;
        self.schema_invalid += other.schema_invalid;
        self.slow += other.slow;
        self.first_ns = self.first_ns.min(other.first_ns);
        self.last_ns = self.last_ns.max(other.last_ns);
    }

    fn extent(&self) -> Option<(u64, u64)> {
        (self.calls > 0).then_some((self.first_ns, self.last_ns))
    }
}

/// The latency a tool is measured against.
#[derive(Debug, Clone)]
enum Baseline {
    /// Its first calls, as (slot, microseconds), until there are enough of them.
    Collecting(Vec<(u64, u64)>),
    /// Fixed: the baseline p50 and the threshold above which a call counts as slow.
    Fixed { p50: u64, slow_above: u64 },
}

/// The baseline p50 of a latency sample, and the threshold `factor` times above it.
fn fixed(micros: &mut [u64], factor: f64) -> Baseline {
    micros.sort_unstable();
    let p50 = micros
        .get(micros.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0);
    Baseline::Fixed {
        p50,
        slow_above: (p50 as f64 * factor) as u64,
    }
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
            runs: Runs::default(),
            slots: Slots::default(),
            baseline: Baseline::Collecting(Vec::new()),
            context: Context::default(),
        }
    }
}

/// A 64-bit digest of bytes (a trace id).
pub(crate) fn digest_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// A 64-bit digest of an id or a hash: what the sets keep instead of the text.
pub(crate) fn digest(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

impl ToolStats {
    /// A tool measured against a baseline p50 taken elsewhere (`--baseline FILE`).
    pub fn with_baseline(p50_micros: u64, factor: f64) -> Self {
        Self {
            baseline: fixed(&mut [p50_micros], factor),
            ..Self::default()
        }
    }

    pub fn add(&mut self, call: &Call, settings: &Settings, budget: &mut SetBudget) {
        self.calls += 1;
        self.context.add(call);
        let slot_index = settings.slot(call.start_ns);
        let slot = self.slots.at(slot_index);
        slot.merge(&ToolSlot {
            calls: 1,
            failed: u64::from(call.failure().is_some()),
            schema_checked: u64::from(call.schema_valid.is_some()),
            schema_invalid: u64::from(call.schema_valid == Some(false)),
            slow: 0,
            first_ns: call.start_ns,
            last_ns: call.end_ns(),
        });
        let session = call.session.as_deref().map(digest);
        let now = call.start_ns;
        if let Some(session) = session {
            budget.insert(&mut self.sessions, session, now);
        }
        if let Some(error) = call.failure() {
            let key = match self.errors.len() < MAX_ERROR_TYPES || self.errors.contains_key(error) {
                true => error,
                false => "…",
            };
            *self.errors.entry(key.to_owned()).or_default() += 1;
        }
        let micros = (call.duration_ns / 1_000).clamp(1, MAX_MICROS);
        self.latency.saturating_record(micros);
        match &mut self.baseline {
            Baseline::Fixed { slow_above, .. } => {
                if micros > *slow_above {
                    self.slots.at(slot_index).slow += 1;
                }
            }
            Baseline::Collecting(first) => {
                first.push((slot_index, micros));
                if first.len() >= settings.baseline_calls {
                    let first = std::mem::take(first);
                    self.fix_baseline(first, settings.latency_factor);
                }
            }
        }
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
            budget.insert(&mut self.hashes, hash, now);
            if let Some(session) = session
                && budget.insert(&mut self.seen_in_session, (session, hash), now) == Some(false)
            {
                self.repeated += 1;
            }
            let scope = session.or(call.trace);
            self.runs
                .add(call, scope, hash, settings.retry_threshold, budget);
        }
    }

    /// Fixes the baseline from the first calls, and counts which of them were slow.
    fn fix_baseline(&mut self, first: Vec<(u64, u64)>, factor: f64) {
        let mut micros: Vec<u64> = first.iter().map(|(_, m)| *m).collect();
        self.baseline = fixed(&mut micros, factor);
        if let Baseline::Fixed { slow_above, .. } = self.baseline {
            for (slot, micros) in first {
                if micros > slow_above {
                    self.slots.at(slot).slow += 1;
                }
            }
        }
    }

    /// Fixes the baseline of a tool called fewer times than the baseline takes, from
    /// all of its calls. Called once everything is read.
    pub(crate) fn finish(&mut self, factor: f64) {
        if let Baseline::Collecting(first) = &mut self.baseline {
            let first = std::mem::take(first);
            self.fix_baseline(first, factor);
        }
    }

    /// The baseline p50 and the slow threshold, in microseconds, once fixed.
    pub fn baseline(&self) -> Option<(u64, u64)> {
        match self.baseline {
            Baseline::Fixed { p50, slow_above } => Some((p50, slow_above)),
            Baseline::Collecting(_) => None,
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

/// A tool's runs of identical calls: calls in a row, in one session (else one trace),
/// with the same argument hash. A call's place in its run is the one the library
/// recorded (`mcp.tool.call.repeat_run`: it saw every call, sampled or not, in the
/// order served); for spans without it (older files), it is counted here from the
/// hashes in the order the spans were written.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    /// Per scope, the tool's last call: its hash, its place, the failed calls of its
    /// run so far.
    last: HashMap<u64, Run>,
    /// The longest run.
    pub longest: u64,
    /// Runs that reached the retry threshold: retry loops.
    pub loops: u64,
    /// Sessions or traces with a loop.
    looping_scopes: HashSet<u64>,
    /// The calls of those runs, and how many of them failed (an error, or a result
    /// with `isError`): a failing call retried unchanged is the costliest loop.
    pub looping_calls: u64,
    pub looping_failed: u64,
    /// The looping calls' first start and last end.
    pub looping_from_ns: u64,
    pub looping_to_ns: u64,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    hash: u64,
    /// The last call's place in the run.
    length: u64,
    /// The run's calls in the files so far (with sampling, fewer than its length),
    /// and how many of them failed.
    seen: u64,
    failed: u64,
    first_ns: u64,
    /// Counted as a loop already.
    looped: bool,
}

impl Runs {
    fn add(
        &mut self,
        call: &Call,
        scope: Option<u64>,
        hash: u64,
        threshold: u64,
        budget: &mut SetBudget,
    ) {
        let failed = u64::from(call.failure().is_some());
        let last = scope
            .and_then(|s| self.last.get(&s).copied())
            .filter(|run| run.hash == hash);
        let length = call
            .repeat_run
            .unwrap_or_else(|| last.map_or(1, |run| run.length + 1));
        // The same run goes on for any place after the first (spans are written as
        // calls end, so concurrent identical calls may come out of order); a first
        // place starts a new one.
        let mut run = match last {
            Some(run) if length > 1 => run,
            _ => Run {
                hash,
                length,
                seen: 0,
                failed: 0,
                first_ns: call.start_ns,
                looped: false,
            },
        };
        run.length = run.length.max(length);
        run.seen += 1;
        run.failed += failed;
        let remembered =
            scope.filter(|scope| self.last.contains_key(scope) || budget.take(call.start_ns));
        // A run nothing remembers (no scope, or the budget ran out) is counted as a
        // loop at the call that reaches the threshold, so no more than once.
        let newly_looped = match remembered {
            Some(_) => length >= threshold && !run.looped,
            None => length == threshold,
        };
        run.looped |= length >= threshold;
        if let Some(scope) = remembered {
            self.last.insert(scope, run);
        }
        self.longest = self.longest.max(length);
        if newly_looped {
            // The run becomes a loop: its earlier calls count with this one.
            self.loops += 1;
            self.looping_calls += run.seen;
            self.looping_failed += run.failed;
            if let Some(scope) = scope {
                budget.insert(&mut self.looping_scopes, scope, call.start_ns);
            }
            self.looping_from_ns = match self.looping_to_ns {
                0 => run.first_ns,
                _ => self.looping_from_ns.min(run.first_ns),
            };
        } else if run.looped {
            self.looping_calls += 1;
            self.looping_failed += failed;
        } else {
            return;
        }
        self.looping_to_ns = self.looping_to_ns.max(call.end_ns());
    }

    /// Sessions or traces in which the tool looped.
    pub fn looping_scopes(&self) -> u64 {
        self.looping_scopes.len() as u64
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

/// One tool's tasks (the MCP tasks extension): how many, how long they took from
/// creation to their terminal status, and how they ended.
#[derive(Debug, Clone)]
pub struct TaskStats {
    pub tasks: u64,
    /// Tasks that failed: an `error.type` (a result with `isError`, a JSON-RPC error
    /// of the server's) or a JSON-RPC code (one the conventions count as the client's
    /// mistake), as a call's failure is counted.
    pub failed: u64,
    pub cancelled: u64,
    /// Tasks the server never reported finished before the library let go of them.
    pub expired: u64,
    latency: Histogram<u64>,
}

impl Default for TaskStats {
    fn default() -> Self {
        Self {
            tasks: 0,
            failed: 0,
            cancelled: 0,
            expired: 0,
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid bounds"),
        }
    }
}

impl TaskStats {
    pub fn add(&mut self, call: &Call) {
        self.tasks += 1;
        self.failed += u64::from(call.failure().is_some());
        match call.task_status.as_deref() {
            Some("cancelled") => self.cancelled += 1,
            Some("expired") => self.expired += 1,
            _ => {}
        }
        let micros = (call.duration_ns / 1_000).clamp(1, MAX_MICROS);
        self.latency.saturating_record(micros);
    }

    /// The task duration at `quantile`, in microseconds.
    pub fn latency_micros(&self, quantile: f64) -> u64 {
        self.latency.value_at_quantile(quantile)
    }
}
