//! The report as text (a table per question) and as JSON (the same figures, for
//! scripts).

use crate::Report;
use crate::alerts::{Alert, Kind, alerts};
use crate::settings::SLOTS_PER_WINDOW;
use crate::tools::{ToolStats, code_name};
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::{Duration, UNIX_EPOCH};

/// Most windows of a resource's duplicate-read rate the text shows (the last ones).
const RATE_WINDOWS_SHOWN: usize = 12;

/// A time, as RFC 3339 in UTC to the second.
pub fn time(ns: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
}

/// A length of time, as `5m`, `1h 30m`, `200ms` (to the millisecond).
pub(crate) fn length(d: Duration) -> String {
    let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    humantime::format_duration(Duration::from_millis(millis)).to_string()
}

/// The columns of the tools table, text and HTML.
pub(crate) const TOOL_COLUMNS: [&str; 14] = [
    "tool",
    "calls",
    "sessions",
    "per session",
    "errors",
    "error rate",
    "p50",
    "p95",
    "p99",
    "schema-invalid",
    "hashes",
    "repeated",
    "longest run",
    "context",
];

/// A duration in microseconds, in the unit that reads best.
pub(crate) fn duration(micros: u64) -> String {
    if micros >= crate::tools::MAX_MICROS {
        return "≥24h".to_owned();
    }
    match micros {
        0..1_000 => format!("{micros}µs"),
        1_000..1_000_000 => format!("{:.1}ms", micros as f64 / 1e3),
        _ => format!("{:.2}s", micros as f64 / 1e6),
    }
}

pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

pub(crate) fn rate(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// An error type, with its name when it is a JSON-RPC code.
pub(crate) fn error_label(error_type: &str) -> String {
    match code_name(error_type) {
        Some(name) => format!("{error_type} {name}"),
        None => error_type.to_owned(),
    }
}

/// What the report did with the rounds that asked for input.
pub(crate) fn rounds_note(asked: u64) -> String {
    format!(
        "{asked} round(s) answered input_required (MCP 2026-07-28); each call counts once, \
         when its last round answers, with the time from its first round's start"
    )
}

/// The text report.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mcp-trace report: {} MCP spans", report.spans);
    let skipped = &report.skipped;
    if skipped.total() > 0 {
        let _ = writeln!(out, "skipped: {skipped}");
    }
    if let Some(at) = report.budget.exhausted_at_ns {
        let _ = writeln!(out, "note: {}", budget_note(at));
    }
    if report.asked_rounds > 0 {
        let _ = writeln!(out, "note: {}", rounds_note(report.asked_rounds));
    }
    tools_text(report, &mut out);
    out.push_str("\nResources\n");
    if report.resources.is_empty() {
        out.push_str("  no resource reads\n");
    }
    for (name, reads) in &report.resources {
        let _ = writeln!(
            out,
            "  {name}: {} read(s), {} repeated ({} of the reads counted within a session or trace)",
            reads.reads,
            percent(reads.repeated, reads.tracked),
            reads.tracked
        );
        let windows = duplicate_rate_over_time(report, name);
        if windows.len() > 1 {
            let skip = windows.len().saturating_sub(RATE_WINDOWS_SHOWN);
            let rates: Vec<String> = windows[skip..]
                .iter()
                .map(|w| percent(w.repeated, w.tracked))
                .collect();
            let earlier = match skip {
                0 => String::new(),
                n => format!(" (after {n} earlier)"),
            };
            let _ = writeln!(
                out,
                "    repeated per {} window from {}{earlier}: {}",
                length(report.settings.window),
                time(windows[skip].start_ns),
                rates.join(" ")
            );
        }
    }
    if !report.tasks.is_empty() {
        out.push_str("\nTasks (from creation to their terminal status)\n");
        for (tool, tasks) in &report.tasks {
            let _ = writeln!(out, "  {tool}: {}", task_line(tasks));
        }
    }
    let sessions = report.sessions();
    out.push_str("\nSessions\n");
    let _ = writeln!(
        out,
        "  {} session(s), {:.1} tool call(s) per session, {:.1}s long on average, {:.1}s the longest",
        sessions.count, sessions.calls_per_session, sessions.mean_seconds, sessions.longest_seconds
    );
    if let Some(line) = clients_line(report) {
        out.push_str("\nClients (spans of traced clients, not counted above)\n");
        let _ = writeln!(out, "  {line}");
    }
    alerts_text(report, &alerts(report), &mut out);
    out
}

/// One tool's tasks in a sentence.
pub(crate) fn task_line(tasks: &crate::tools::TaskStats) -> String {
    format!(
        "{} task(s), p50 {}, p95 {}, {} failed, {} cancelled, {} expired",
        tasks.tasks,
        duration(tasks.latency_micros(0.50)),
        duration(tasks.latency_micros(0.95)),
        percent(tasks.failed, tasks.tasks),
        tasks.cancelled,
        tasks.expired
    )
}

/// What the traced clients saw, in a sentence; `None` without client spans.
pub(crate) fn clients_line(report: &Report) -> Option<String> {
    let c = &report.clients;
    if !c.any() {
        return None;
    }
    let mut line = format!(
        "{} session(s) in {} trace(s); {} request(s), {} failed",
        c.sessions,
        c.traces(),
        c.requests,
        c.failed
    );
    if let (Some(p50), Some(p95)) = (c.tool_latency_micros(0.5), c.tool_latency_micros(0.95)) {
        let _ = write!(
            line,
            "; tool calls p50 {}, p95 {} as the clients timed them (transport included)",
            duration(p50),
            duration(p95)
        );
    }
    Some(line)
}

/// A resource's reads in one window of the rate over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub start_ns: u64,
    pub reads: u64,
    pub tracked: u64,
    pub repeated: u64,
}

/// A resource's duplicate-read rate per window (windows of `--window`, one after the
/// other), for the windows with reads.
pub fn duplicate_rate_over_time(report: &Report, resource: &str) -> Vec<RateWindow> {
    let Some(reads) = report.resources.get(resource) else {
        return Vec::new();
    };
    let slot_ns = report.settings.slot_ns();
    reads
        .slots
        .tumbling(SLOTS_PER_WINDOW)
        .into_iter()
        .map(|(first, w)| RateWindow {
            start_ns: first.saturating_mul(slot_ns),
            reads: w.reads,
            tracked: w.tracked,
            repeated: w.repeated,
        })
        .collect()
}

/// What running out of set entries means for the figures.
pub(crate) fn budget_note(at_ns: u64) -> String {
    format!(
        "from {} on, new argument hashes and sessions went uncounted (the report keeps {} \
         of them at most): distinct hashes, sessions and repeated calls are lower bounds",
        time(at_ns),
        crate::tools::SetBudget::DEFAULT
    )
}

/// One alert in a sentence.
pub fn describe(report: &Report, alert: &Alert) -> String {
    let (part, whole) = (alert.part, alert.whole);
    let what = match alert.kind {
        Kind::ErrorRate => format!(
            "{}: {} of calls failed ({part} of {whole}), above {}",
            alert.subject,
            rate(alert.value),
            rate(alert.threshold)
        ),
        Kind::Latency => {
            let (p50, above) = report
                .tools
                .get(&alert.subject)
                .and_then(ToolStats::baseline)
                .unwrap_or_default();
            format!(
                "{}: p95 above {}× the baseline p50 of {} ({part} of {whole} calls took over {})",
                alert.subject,
                report.settings.latency_factor,
                duration(p50),
                duration(above)
            )
        }
        Kind::Silent => format!(
            "{}: not called for {} after {whole} regular calls, while other tools were called {part} times",
            alert.subject,
            length(Duration::from_secs_f64(alert.value)),
        ),
        Kind::SchemaMismatch => format!(
            "{}: {} of checked calls did not match the schema ({part} of {whole}), above {}",
            alert.subject,
            rate(alert.value),
            rate(alert.threshold)
        ),
        Kind::UnknownTool => format!(
            "{} of calls answered -32601 method not found ({part} of {whole}), above {}; asked for: {}",
            rate(alert.value),
            rate(alert.threshold),
            alert.subject
        ),
        Kind::DuplicateReads => format!(
            "{}: {} of reads repeated one made before in the session ({part} of {whole}), above {}",
            alert.subject,
            rate(alert.value),
            rate(alert.threshold)
        ),
        Kind::ProbeDown => {
            let first = report
                .probes
                .get(&alert.subject)
                .and_then(|p| p.runs.iter().find(|r| r.start_ns == alert.from_ns));
            let at = first
                .map(|r| {
                    format!(
                        " at {}: {}",
                        r.failed_step.as_deref().unwrap_or("?"),
                        r.reason.as_deref().unwrap_or("?")
                    )
                })
                .unwrap_or_default();
            format!(
                "{}: the probe found it down{at}, {part} run(s) in a row ({whole} runs in all)",
                alert.subject
            )
        }
        Kind::ServerSilent => format!(
            "{}: served no request for {} after {whole} regular ones, while other servers served {part}",
            alert.subject,
            length(Duration::from_secs_f64(alert.value)),
        ),
        Kind::RetryLoop => {
            let runs = report.tools.get(&alert.subject).map(|t| &t.runs);
            format!(
                "{}: called with the same arguments {} times in a row at most ({} or more: {} run(s) in {} session(s) or trace(s)); {part} of the {whole} looping calls failed",
                alert.subject,
                alert.value,
                alert.threshold,
                runs.map_or(0, |r| r.loops),
                runs.map_or(0, |r| r.looping_scopes()),
            )
        }
    };
    let silent = matches!(alert.kind, Kind::Silent | Kind::ServerSilent);
    let until = if silent && alert.to_ns == report.last_ns {
        "the end of the data".to_owned()
    } else {
        time(alert.to_ns)
    };
    format!("{what}; from {} to {until}", time(alert.from_ns))
}

fn alerts_text(report: &Report, alerts: &[Alert], out: &mut String) {
    let s = &report.settings;
    let _ = writeln!(
        out,
        "\nAlerts ({} windows sliding by {}, {} calls at least; silence {})",
        length(s.window),
        length(s.window / SLOTS_PER_WINDOW as u32),
        s.min_calls,
        length(s.silence)
    );
    if alerts.is_empty() {
        out.push_str("  none\n");
    }
    for alert in alerts {
        let _ = writeln!(
            out,
            "  {:<15}  {}",
            alert.kind.name(),
            describe(report, alert)
        );
    }
}

fn tools_text(report: &Report, out: &mut String) {
    out.push_str("\nTools\n");
    if report.called_tools().next().is_none() {
        out.push_str("  no tool calls\n");
        return;
    }
    let header = TOOL_COLUMNS;
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for (name, tool) in report.called_tools() {
        rows.push(row(name, tool));
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 0 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    for (name, tool) in report.called_tools() {
        for note in tool_notes(name, tool) {
            let _ = writeln!(out, "  {note}");
        }
    }
}

/// The lines under the tools table for one tool: its errors by type, where its
/// arguments most often broke the schema, its retry loops.
pub(crate) fn tool_notes(name: &str, tool: &ToolStats) -> Vec<String> {
    let mut notes = Vec::new();
    if !tool.errors.is_empty() {
        let errors: Vec<String> = tool
            .errors
            .iter()
            .map(|(t, n)| format!("{} ×{n}", error_label(t)))
            .collect();
        notes.push(format!("{name} errors: {}", errors.join(", ")));
    }
    let paths = tool.top_error_paths(3);
    if !paths.is_empty() {
        let paths: Vec<String> = paths
            .iter()
            .map(|(p, n)| format!("{} ×{n}", if p.is_empty() { "(root)" } else { p }))
            .collect();
        notes.push(format!("{name} schema errors at: {}", paths.join(", ")));
    }
    let runs = &tool.runs;
    if runs.loops > 0 {
        notes.push(format!(
            "{name} retry loops: {} run(s) of identical calls in a row, the longest {}, in {} session(s) or trace(s); {} of their {} calls failed",
            runs.loops,
            runs.longest,
            runs.looping_scopes(),
            runs.looping_failed,
            runs.looping_calls
        ));
    }
    notes
}

pub(crate) fn row(name: &str, tool: &ToolStats) -> Vec<String> {
    let per_session = match tool.sessions() {
        0 => "-".to_owned(),
        sessions => format!("{:.1}", tool.calls as f64 / sessions as f64),
    };
    vec![
        name.to_owned(),
        tool.calls.to_string(),
        tool.sessions().to_string(),
        per_session,
        tool.failed().to_string(),
        percent(tool.failed(), tool.calls),
        duration(tool.latency_micros(0.50)),
        duration(tool.latency_micros(0.95)),
        duration(tool.latency_micros(0.99)),
        percent(tool.schema_invalid, tool.schema_checked),
        tool.distinct_hashes().to_string(),
        percent(tool.repeated, tool.calls),
        match tool.runs.longest {
            0 => "-".to_owned(),
            n => n.to_string(),
        },
        context(&tool.context),
    ]
}

/// The context column: the definition's bytes (paid on every turn the tool is
/// listed) + the mean result's (paid per call); `?` for what no span said.
pub fn context(context: &crate::tools::Context) -> String {
    let definition = context.definition_bytes();
    let result = context.mean_result_bytes();
    if definition.is_none() && result.is_none() {
        return "-".to_owned();
    }
    let definition = definition.map_or_else(|| "?".to_owned(), bytes);
    let result = match result {
        None => "?".to_owned(),
        Some(mean) if context.too_large > 0 => format!("≥{}", bytes(mean)),
        Some(mean) => bytes(mean),
    };
    format!("{definition} + {result}")
}

/// A size in bytes, in the unit that reads best (binary: KiB, MiB).
pub(crate) fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// The same figures as JSON.
pub fn json(report: &Report) -> Value {
    let tools: Vec<Value> = report
        .called_tools()
        .map(|(name, tool)| {
            let errors: Vec<Value> = tool
                .errors
                .iter()
                .map(|(t, n)| json!({"type": t, "name": code_name(t), "calls": n}))
                .collect();
            let paths: Vec<Value> = tool
                .top_error_paths(3)
                .into_iter()
                .map(|(p, n)| json!({"path": p, "calls": n}))
                .collect();
            json!({
                "tool": name,
                "calls": tool.calls,
                "sessions": tool.sessions(),
                "errors": tool.failed(),
                "errorsByType": errors,
                "latencyMicros": {
                    "p50": tool.latency_micros(0.50),
                    "p95": tool.latency_micros(0.95),
                    "p99": tool.latency_micros(0.99),
                },
                "schemaChecked": tool.schema_checked,
                "schemaInvalid": tool.schema_invalid,
                "schemaErrorPaths": paths,
                "distinctHashes": tool.distinct_hashes(),
                "repeatedCalls": tool.repeated,
                "runs": {
                    "longest": tool.runs.longest,
                    "loops": tool.runs.loops,
                    "loopingScopes": tool.runs.looping_scopes(),
                    "loopingCalls": tool.runs.looping_calls,
                    "loopingFailed": tool.runs.looping_failed,
                },
                "baselineP50Micros": tool.baseline().map(|(p50, _)| p50),
                "context": {
                    "definitionBytes": tool.context.definition_bytes(),
                    "meanResultBytes": tool.context.mean_result_bytes(),
                    "resultsMeasured": tool.context.results,
                    "resultsTooLarge": tool.context.too_large,
                },
            })
        })
        .collect();
    let resources: Vec<Value> = report
        .resources
        .iter()
        .map(|(name, r)| {
            let windows: Vec<Value> = duplicate_rate_over_time(report, name)
                .into_iter()
                .map(|w| {
                    json!({"start": time(w.start_ns), "reads": w.reads, "tracked": w.tracked, "repeated": w.repeated})
                })
                .collect();
            json!({
                "resource": name,
                "reads": r.reads,
                "repeated": r.repeated,
                "tracked": r.tracked,
                "windows": windows,
            })
        })
        .collect();
    let alerts: Vec<Value> = alerts(report)
        .iter()
        .map(|a| {
            json!({
                "alert": a.kind.name(),
                "subject": a.subject,
                "from": time(a.from_ns),
                "to": time(a.to_ns),
                "value": a.value,
                "threshold": a.threshold,
                "part": a.part,
                "whole": a.whole,
                "text": describe(report, a),
            })
        })
        .collect();
    let sessions = report.sessions();
    let s = &report.skipped;
    json!({
        "spans": report.spans,
        "inputRequiredRounds": report.asked_rounds,
        "tasks": report.tasks.iter().map(|(tool, t)| json!({
            "tool": tool,
            "tasks": t.tasks,
            "failed": t.failed,
            "cancelled": t.cancelled,
            "expired": t.expired,
            "p50Micros": t.latency_micros(0.50),
            "p95Micros": t.latency_micros(0.95),
        })).collect::<Vec<_>>(),
        "skipped": {"truncated": s.truncated, "unreadable": s.unreadable, "notMcp": s.not_mcp},
        "tools": tools,
        "resources": resources,
        "sessions": {
            "count": sessions.count,
            "callsPerSession": sessions.calls_per_session,
            "meanSeconds": sessions.mean_seconds,
            "longestSeconds": sessions.longest_seconds,
        },
        "clients": {
            "sessions": report.clients.sessions,
            "traces": report.clients.traces(),
            "requests": report.clients.requests,
            "failed": report.clients.failed,
            "toolLatencyMicros": {
                "p50": report.clients.tool_latency_micros(0.5),
                "p95": report.clients.tool_latency_micros(0.95),
            },
        },
        "windowSeconds": report.settings.window.as_secs_f64(),
        "uncountedFrom": report.budget.exhausted_at_ns.map(time),
        "alerts": alerts,
    })
}
