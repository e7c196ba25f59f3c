//! The alerts: what the report flags, each with its window and what it is about.
//! Rates are computed over every window of [`Settings::window`](crate::settings::Settings::window) that holds calls,
//! sliding by a fifth of it; windows in a row that fire make one alert, shown with
//! its worst window.

use crate::settings::SLOTS_PER_WINDOW;
use crate::tools::ToolSlot;
use crate::windows::{Counts, Slots};
use crate::{ReadSlot, Report, Traffic};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A tool's error rate over a window is above `--error-rate`.
    ErrorRate,
    /// A tool's p95 over a window is above `--latency-factor` times its baseline p50.
    Latency,
    /// A tool called regularly went uncalled for `--silence` while others were called.
    Silent,
    /// A tool's schema-invalid share over a window is above `--schema-rate`.
    SchemaMismatch,
    /// "Method not found" answers over a window are above `--unknown-rate` of calls.
    UnknownTool,
    /// A resource's duplicate-read rate over a window is above `--duplicate-rate`.
    DuplicateReads,
    /// Probe runs of a server (`mcp-trace probe`) found it down, one or more in a row.
    ProbeDown,
    /// A server (a `service.name`) that served requests regularly served none for
    /// `--silence` while other servers in the data went on.
    ServerSilent,
    /// A tool called `--retry-threshold` times or more in a row with the same
    /// arguments in one session (or trace): an agent stuck retrying.
    RetryLoop,
}

impl Kind {
    /// The alert's name in the text and JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ErrorRate => "error-rate",
            Kind::Latency => "latency",
            Kind::Silent => "silent-tool",
            Kind::SchemaMismatch => "schema-mismatch",
            Kind::UnknownTool => "unknown-tool",
            Kind::DuplicateReads => "duplicate-reads",
            Kind::ProbeDown => "probe-down",
            Kind::ServerSilent => "server-silent",
            Kind::RetryLoop => "retry-loop",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: Kind,
    /// The tool or resource it is about; for unknown-tool alerts, the names asked for.
    pub subject: String,
    /// When it held, in nanoseconds since the Unix epoch: from the start of the first
    /// window that fired to the end of the last (for a silent tool, its last call to
    /// its next one, or to the end of the data).
    pub from_ns: u64,
    pub to_ns: u64,
    /// The worst window's rate (or the silence, in seconds), and the threshold.
    pub value: f64,
    pub threshold: f64,
    /// The worst window's counts: how many of how many.
    pub part: u64,
    pub whole: u64,
}

/// Every alert of the report, by kind, then time, then subject.
pub fn alerts(report: &Report) -> Vec<Alert> {
    let s = &report.settings;
    let mut out = probe_down(report);
    for (name, tool) in report.called_tools() {
        // A name every call of which was answered "method not found" is not a tool of
        // the server: the unknown-tool alert is about it.
        if tool.errors.get("-32601") == Some(&tool.calls) {
            continue;
        }
        let rate = |kind, threshold, part: fn(&ToolSlot) -> (u64, u64)| {
            windowed(report, &tool.slots, kind, name, threshold, part)
        };
        out.extend(rate(Kind::ErrorRate, s.error_rate, |w| (w.failed, w.calls)));
        if tool.baseline().is_some() {
            // p95 above the threshold ⇔ more than 5 % of the window's calls above it.
            out.extend(rate(Kind::Latency, 0.05, |w| (w.slow, w.calls)));
        }
        out.extend(rate(Kind::SchemaMismatch, s.schema_rate, |w| {
            (w.schema_invalid, w.schema_checked)
        }));
        let others = |first: u64, last: u64| {
            let all = report.traffic.sum(first, last).tool_calls;
            all.saturating_sub(tool.slots.sum(first, last).calls)
        };
        out.extend(silences(report, Kind::Silent, name, &tool.slots, others));
        out.extend(retry_loop(report, name, tool));
    }
    for (service, slots) in &report.services {
        let others = |first: u64, last: u64| {
            let all = report.traffic.sum(first, last).spans;
            all.saturating_sub(slots.sum(first, last).calls)
        };
        out.extend(silences(report, Kind::ServerSilent, service, slots, others));
    }
    let unknown_names = unknown_names(report);
    out.extend(windowed(
        report,
        &report.traffic,
        Kind::UnknownTool,
        &unknown_names,
        s.unknown_rate,
        |w: &Traffic| (w.unknown, w.spans),
    ));
    for (name, reads) in &report.resources {
        out.extend(windowed(
            report,
            &reads.slots,
            Kind::DuplicateReads,
            name,
            s.duplicate_rate,
            |w: &ReadSlot| (w.repeated, w.tracked),
        ));
    }
    out.sort_by(|a, b| (a.kind, a.from_ns, &a.subject).cmp(&(b.kind, b.from_ns, &b.subject)));
    out
}

/// A tool's retry loops, all in one alert: from the first looping call to the last;
/// `value`: the longest run; `part` of `whole`: the looping calls that failed.
fn retry_loop(report: &Report, name: &str, tool: &crate::tools::ToolStats) -> Option<Alert> {
    let runs = &tool.runs;
    (runs.loops > 0).then(|| Alert {
        kind: Kind::RetryLoop,
        subject: name.to_owned(),
        from_ns: runs.looping_from_ns,
        to_ns: runs.looping_to_ns,
        value: runs.longest as f64,
        threshold: report.settings.retry_threshold as f64,
        part: runs.looping_failed,
        whole: runs.looping_calls,
    })
}

/// The names asked for in calls answered "method not found", most asked first.
fn unknown_names(report: &Report) -> String {
    let mut names: Vec<(&String, &u64)> = report.unknown.iter().collect();
    names.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let shown: Vec<&str> = names.iter().take(3).map(|(n, _)| n.as_str()).collect();
    let more = names.len().saturating_sub(shown.len());
    match more {
        0 => shown.join(", "),
        _ => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The windows of `slots` where `part / whole` is above `threshold` (with at least
/// `min_calls` in the whole), runs of them merged into one alert each.
fn windowed<C: Counts>(
    report: &Report,
    slots: &Slots<C>,
    kind: Kind,
    subject: &str,
    threshold: f64,
    part: impl Fn(&C) -> (u64, u64),
) -> Vec<Alert> {
    let s = &report.settings;
    let slot_ns = s.slot_ns();
    let mut out: Vec<Alert> = Vec::new();
    let mut last_fired: Option<u64> = None;
    for (first, counts) in slots.windows(SLOTS_PER_WINDOW) {
        let (p, w) = part(&counts);
        if w == 0 || w < s.min_calls {
            continue;
        }
        let rate = p as f64 / w as f64;
        if rate <= threshold {
            continue;
        }
        // The window, cut to the calls it holds (a burst of ten seconds is not said
        // to span the windows around it).
        let start = first.saturating_mul(slot_ns);
        let end = start.saturating_add(slot_ns.saturating_mul(SLOTS_PER_WINDOW));
        let (calls_from, calls_to) = counts.extent().unwrap_or((start, end));
        let from_ns = start.max(calls_from);
        let to_ns = end.min(calls_to).max(from_ns);
        match out.last_mut() {
            // The window after the last one that fired: the same alert goes on.
            Some(alert) if last_fired.is_some_and(|l| l + 1 == first) => {
                alert.to_ns = to_ns;
                // The worst window; of equally bad ones, the one with most calls.
                if rate > alert.value || (rate == alert.value && w > alert.whole) {
                    (alert.value, alert.part, alert.whole) = (rate, p, w);
                }
            }
            _ => out.push(Alert {
                kind,
                subject: subject.to_owned(),
                from_ns,
                to_ns,
                value: rate,
                threshold,
                part: p,
                whole: w,
            }),
        }
        last_fired = Some(first);
    }
    out
}

/// The stretches where a tool (or a server) that had been called regularly went
/// uncalled for the silence window while others were still being called (at any time
/// in it: `others(first, last)` counts their calls in those slots). "Regularly": at
/// least `min_calls` calls before, a third of the silence window apart or less on
/// average.
fn silences(
    report: &Report,
    kind: Kind,
    name: &str,
    calls: &Slots<ToolSlot>,
    others: impl Fn(u64, u64) -> u64,
) -> Vec<Alert> {
    let s = &report.settings;
    let silence_ns = u64::try_from(s.silence.as_nanos()).unwrap_or(u64::MAX);
    let slots: Vec<(u64, &ToolSlot)> = calls.iter().collect();
    let Some(first_call) = slots.first().map(|(_, c)| c.first_ns) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut calls_before = 0u64;
    // Each gap between two slots with calls, and the one after the last call.
    for (i, &(_, counts)) in slots.iter().enumerate() {
        calls_before += counts.calls;
        let last_end = counts.last_ns;
        let (until_slot, until_ns) = match slots.get(i + 1) {
            Some(&(next, c)) => (next, c.first_ns),
            None => (u64::MAX, report.last_ns),
        };
        if until_ns.saturating_sub(last_end) < silence_ns || calls_before < s.min_calls.max(2) {
            continue;
        }
        let mean_interval = last_end.saturating_sub(first_call) / (calls_before - 1);
        if mean_interval > silence_ns / 3 {
            continue;
        }
        // Calls of other tools in the silence (the slots between the tool's last call
        // and its next).
        let silent_from = s.slot(last_end).saturating_add(1);
        if silent_from >= until_slot {
            continue;
        }
        let others = others(silent_from, until_slot - 1);
        if others == 0 {
            continue;
        }
        out.push(Alert {
            kind,
            subject: name.to_owned(),
            from_ns: last_end,
            to_ns: until_ns,
            value: until_ns.saturating_sub(last_end) as f64 / 1e9,
            threshold: silence_ns as f64 / 1e9,
            part: others,
            whole: calls_before,
        });
    }
    out
}

/// A server's probe runs that found it down, each streak of them one alert: from the
/// first failed run's start to the next run that found it up (or the last failed run's
/// end). `part`: the failed runs in the streak; `whole`: the server's runs.
fn probe_down(report: &Report) -> Vec<Alert> {
    let mut out = Vec::new();
    for (target, probes) in &report.probes {
        let whole = probes.runs.len() as u64;
        let mut streak: Option<(u64, u64, u64)> = None;
        let mut close = |streak: &mut Option<(u64, u64, u64)>, to_ns: u64| {
            if let Some((from_ns, _, failed)) = streak.take() {
                out.push(Alert {
                    kind: Kind::ProbeDown,
                    subject: target.clone(),
                    from_ns,
                    to_ns,
                    value: failed as f64,
                    threshold: 1.0,
                    part: failed,
                    whole,
                });
            }
        };
        for run in &probes.runs {
            match (&mut streak, run.up) {
                (Some((_, last_end, failed)), false) => {
                    *last_end = run.end_ns;
                    *failed += 1;
                }
                (None, false) => streak = Some((run.start_ns, run.end_ns, 1)),
                (Some(_), true) => close(&mut streak, run.start_ns),
                (None, true) => {}
            }
        }
        let end = streak.map(|(_, last_end, _)| last_end);
        if let Some(end) = end {
            close(&mut streak, end);
        }
    }
    out
}
