//! `mcp-trace report`: the operator's questions answered from the span files mcp-trace
//! writes (or an OpenTelemetry Collector's file exporter), with no backend. Reading
//! (`read`, `input`), per-tool figures (`tools`), counts per time slot (`windows`),
//! the alerts (`alerts`, under `settings`) and rendering (`render`) each in their file.

pub mod alerts;
pub mod clients;
pub mod grafana;
pub mod html;
pub mod input;
#[cfg(feature = "proxy")]
pub mod probe;
pub mod prometheus;
#[cfg(feature = "proxy")]
pub mod proxy;
pub mod read;
pub mod render;
mod request;
pub mod settings;
#[cfg(feature = "proxy")]
mod signals;
pub mod tools;
pub mod windows;

use settings::Settings;
use std::collections::{BTreeMap, HashMap};
use windows::{Counts, Extent, Slots};

/// Most distinct names kept for calls answered "method not found"; more are counted
/// under `…` (the names are the client's choice).
const MAX_UNKNOWN_NAMES: usize = 64;

/// Most tools and resources reported apart; the calls of any more are counted under
/// `_OTHER`, as the metric does. Each tool keeps a latency histogram (some 190 kB) and
/// its counts per slot, so a file naming a million tools must not make a million.
pub const MAX_NAMES: usize = 256;

/// The name the calls of tools (or resources) past [`MAX_NAMES`] are counted under.
pub const OTHER: &str = "_OTHER";

/// Everything the report shows, gathered in one pass over the spans.
#[derive(Debug)]
pub struct Report {
    pub settings: Settings,
    /// MCP spans read.
    pub spans: u64,
    /// Rounds of multi-round calls that answered `input_required` (MCP 2026-07-28):
    /// read, but counted with the round that ends their call.
    pub asked_rounds: u64,
    pub tools: BTreeMap<String, tools::ToolStats>,
    /// Per resource (template, else name, else URI): reads, and reads that were
    /// repeats within their session or trace.
    pub resources: BTreeMap<String, Reads>,
    /// Every MCP span's slot counts, for the rates over all calls.
    pub traffic: Slots<Traffic>,
    /// The names (tool, else method) of calls answered "method not found".
    pub unknown: BTreeMap<String, u64>,
    /// The first start and the last end seen, in nanoseconds since the Unix epoch.
    pub first_ns: u64,
    pub last_ns: u64,
    /// By a digest of the session id: the ids are not kept.
    sessions: HashMap<u64, Session>,
    pub skipped: read::Skipped,
    /// What the sets of hashes and sessions may still hold.
    pub budget: tools::SetBudget,
    /// Each tool's p50 in a baseline report, in microseconds (`--baseline`).
    baselines: HashMap<String, u64>,
    /// The spans of traced clients, kept apart.
    pub clients: clients::Clients,
    /// Per tool, its tasks (the MCP tasks extension).
    pub tasks: BTreeMap<String, tools::TaskStats>,
    /// Per probed server (`mcp.probe.target`), its probe runs (`mcp-trace probe`).
    pub probes: BTreeMap<String, Probes>,
    /// Per server (its spans' `service.name`), the spans it served, by slot: when it
    /// was seen, for the server-silent alert.
    pub services: BTreeMap<String, Slots<tools::ToolSlot>>,
}

/// Most probe runs kept per server: a run every 30 s for five weeks.
pub const MAX_PROBE_RUNS: usize = 100_000;

/// The probe runs of one server: the latest [`MAX_PROBE_RUNS`] (the current outage
/// matters more than last month's), in time order once the report is finished.
#[derive(Debug, Clone, Default)]
pub struct Probes {
    pub runs: std::collections::VecDeque<ProbeRun>,
    /// Earlier runs let go past [`MAX_PROBE_RUNS`], counted only.
    pub dropped: u64,
}

/// One probe run: when, and whether the server was up (else where and why not).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRun {
    pub start_ns: u64,
    pub end_ns: u64,
    pub up: bool,
    pub failed_step: Option<String>,
    pub reason: Option<String>,
}

impl Probes {
    /// How many runs found the server down.
    pub fn down(&self) -> usize {
        self.runs.iter().filter(|r| !r.up).count()
    }
}

impl Default for Report {
    fn default() -> Self {
        Self::new(Settings::default())
    }
}

/// Reads of one resource.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    pub reads: u64,
    /// Reads with `mcp.resource.cache_hit = true`.
    pub repeated: u64,
    /// Reads that carried the bit at all (a session or a trace to count within).
    pub tracked: u64,
    /// The same per slot.
    pub slots: Slots<ReadSlot>,
}

/// A resource's reads in one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSlot {
    pub reads: u64,
    pub tracked: u64,
    pub repeated: u64,
    /// The repeated reads' first start and last end.
    pub extent: Extent,
}

impl Counts for ReadSlot {
    fn merge(&mut self, other: &Self) {
        self.reads += other.reads;
        self.tracked += other.tracked;
        self.repeated += other.repeated;
        self.extent.merge(&other.extent);
    }

    fn extent(&self) -> Option<(u64, u64)> {
        self.extent.get()
    }
}

/// All MCP spans in one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub spans: u64,
    pub tool_calls: u64,
    /// Calls answered "method not found" (`-32601`).
    pub unknown: u64,
    /// The unknown calls' first start and last end.
    pub extent: Extent,
}

impl Counts for Traffic {
    fn merge(&mut self, other: &Self) {
        self.spans += other.spans;
        self.tool_calls += other.tool_calls;
        self.unknown += other.unknown;
        self.extent.merge(&other.extent);
    }

    fn extent(&self) -> Option<(u64, u64)> {
        self.extent.get()
    }
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
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            spans: 0,
            asked_rounds: 0,
            tools: BTreeMap::new(),
            resources: BTreeMap::new(),
            traffic: Slots::default(),
            unknown: BTreeMap::new(),
            first_ns: u64::MAX,
            last_ns: 0,
            sessions: HashMap::new(),
            skipped: read::Skipped::default(),
            budget: tools::SetBudget::default(),
            baselines: HashMap::new(),
            clients: clients::Clients::default(),
            tasks: BTreeMap::new(),
            probes: BTreeMap::new(),
            services: BTreeMap::new(),
        }
    }

    /// Measures each tool's latency against its p50 in `baseline` (a report over
    /// earlier, normal traffic) instead of against its own first calls. Before reading.
    pub fn with_baseline(mut self, baseline: &Report) -> Self {
        self.baselines = baseline
            .tools
            .iter()
            .map(|(name, tool)| (name.clone(), tool.latency_micros(0.5)))
            .collect();
        self
    }

    /// Adds one span.
    pub fn add(&mut self, call: &read::Call) {
        self.spans += 1;
        if call.input_required {
            self.asked_rounds += 1;
            return;
        }
        if call.side == read::Side::Probe {
            if let (Some(target), Some(up)) = (&call.tool, call.probe_up) {
                if self.probes.len() >= MAX_NAMES && !self.probes.contains_key(target) {
                    return;
                }
                let probes = self.probes.entry(target.clone()).or_default();
                let run = ProbeRun {
                    start_ns: call.start_ns,
                    end_ns: call.end_ns(),
                    up,
                    failed_step: call.failed_step.clone(),
                    reason: call.error_type.clone(),
                };
                // Kept in time order as read; the earliest let go past the bound.
                let at = probes.runs.partition_point(|r| r.start_ns <= run.start_ns);
                probes.runs.insert(at, run);
                if probes.runs.len() > MAX_PROBE_RUNS {
                    probes.runs.pop_front();
                    probes.dropped += 1;
                }
            }
            return;
        }
        if call.side == read::Side::Task {
            if let Some(tool) = &call.tool {
                self.tasks.entry(tool.clone()).or_default().add(call);
            }
            return;
        }
        if call.side != read::Side::Server {
            self.clients.add(call, &mut self.budget);
            return;
        }
        self.first_ns = self.first_ns.min(call.start_ns);
        self.last_ns = self.last_ns.max(call.end_ns());
        let slot = self.settings.slot(call.start_ns);
        if let Some(service) = &call.service
            && (self.services.len() < MAX_NAMES || self.services.contains_key(service))
        {
            let seen = tools::ToolSlot {
                calls: 1,
                first_ns: call.start_ns,
                last_ns: call.end_ns(),
                ..tools::ToolSlot::default()
            };
            let slots = self.services.entry(service.clone()).or_default();
            slots.at(slot).merge(&seen);
        }
        let tool_call = call.method == "tools/call";
        let unknown = call.method_not_found();
        self.traffic.at(slot).merge(&Traffic {
            spans: 1,
            tool_calls: u64::from(tool_call),
            unknown: u64::from(unknown),
            extent: match unknown {
                true => Extent::of(call.start_ns, call.end_ns()),
                false => Extent::default(),
            },
        });
        if unknown {
            let name = call.tool.as_deref().unwrap_or(&call.method);
            let key = if self.unknown.len() < MAX_UNKNOWN_NAMES || self.unknown.contains_key(name) {
                name
            } else {
                "…"
            };
            *self.unknown.entry(key.to_owned()).or_default() += 1;
        }
        if tool_call && let Some(tool) = &call.tool {
            let name = match self.tools.len() < MAX_NAMES || self.tools.contains_key(tool) {
                true => tool.as_str(),
                false => OTHER,
            };
            if let Some(stats) = self.tools.get_mut(name) {
                stats.add(call, &self.settings, &mut self.budget);
            } else {
                let mut stats = match self.baselines.get(name) {
                    Some(&p50) => {
                        tools::ToolStats::with_baseline(p50, self.settings.latency_factor)
                    }
                    None => tools::ToolStats::default(),
                };
                stats.add(call, &self.settings, &mut self.budget);
                self.tools.insert(name.to_owned(), stats);
            }
        }
        if call.method == "resources/read"
            && let Some(resource) = &call.resource
        {
            let name =
                match self.resources.len() < MAX_NAMES || self.resources.contains_key(resource) {
                    true => resource.as_str(),
                    false => OTHER,
                };
            let reads = self.resources.entry(name.to_owned()).or_default();
            let repeated = call.cache_hit == Some(true);
            let read = ReadSlot {
                reads: 1,
                tracked: u64::from(call.cache_hit.is_some()),
                repeated: u64::from(repeated),
                extent: match repeated {
                    true => Extent::of(call.start_ns, call.end_ns()),
                    false => Extent::default(),
                },
            };
            reads.reads += read.reads;
            reads.tracked += read.tracked;
            reads.repeated += read.repeated;
            reads.slots.at(slot).merge(&read);
        }
        if let Some(id) = &call.session {
            let end = call.end_ns();
            let key = tools::digest(id);
            let session = match self.sessions.get_mut(&key) {
                Some(session) => Some(session),
                None if self.budget.take(call.start_ns) => {
                    Some(self.sessions.entry(key).or_insert(Session {
                        first_ns: call.start_ns,
                        last_ns: end,
                        tool_calls: 0,
                    }))
                }
                None => None,
            };
            if let Some(session) = session {
                session.first_ns = session.first_ns.min(call.start_ns);
                session.last_ns = session.last_ns.max(end);
                session.tool_calls += u64::from(tool_call);
            }
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

    /// Ends the reading: tools called fewer times than the baseline takes get theirs
    /// from all their calls. Call once, after the last file.
    pub fn finish(&mut self) {
        for tool in self.tools.values_mut() {
            tool.finish(self.settings.latency_factor);
        }
    }

    /// Tools that were called, without those only named by a baseline.
    pub fn called_tools(&self) -> impl Iterator<Item = (&String, &tools::ToolStats)> {
        self.tools.iter().filter(|(_, t)| t.calls > 0)
    }

    /// How many sessions made how many tool calls, in buckets that double: `0`, `1`,
    /// `2–3`, `4–7`, … (only the buckets up to the busiest session).
    pub fn calls_per_session(&self) -> Vec<(String, u64)> {
        let mut buckets: Vec<u64> = Vec::new();
        for session in self.sessions.values() {
            let bucket = match session.tool_calls {
                0 => 0,
                n => 1 + n.ilog2() as usize,
            };
            if buckets.len() <= bucket {
                buckets.resize(bucket + 1, 0);
            }
            buckets[bucket] += 1;
        }
        buckets
            .into_iter()
            .enumerate()
            .map(|(bucket, sessions)| {
                let label = match bucket {
                    0 => "0".to_owned(),
                    1 => "1".to_owned(),
                    b => format!("{}–{}", 1u64 << (b - 1), (1u64 << b) - 1),
                };
                (label, sessions)
            })
            .collect()
    }

    /// Reads every span of `input` into the report.
    pub fn read(&mut self, input: impl std::io::BufRead) -> std::io::Result<()> {
        let skipped = read::read(input, |call| self.add(&call))?;
        self.skipped.add(skipped);
        Ok(())
    }
}
