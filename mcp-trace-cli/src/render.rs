//! The report as text (a table per question) and as JSON (the same figures, for
//! scripts).

use crate::Report;
use crate::tools::{ToolStats, code_name};
use serde_json::{Value, json};
use std::fmt::Write;

/// A duration in microseconds, in the unit that reads best.
fn duration(micros: u64) -> String {
    match micros {
        0..1_000 => format!("{micros}µs"),
        1_000..1_000_000 => format!("{:.1}ms", micros as f64 / 1e3),
        _ => format!("{:.2}s", micros as f64 / 1e6),
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// An error type, with its name when it is a JSON-RPC code.
fn error_label(error_type: &str) -> String {
    match code_name(error_type) {
        Some(name) => format!("{error_type} {name}"),
        None => error_type.to_owned(),
    }
}

/// The text report.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mcp-trace report: {} MCP spans", report.spans);
    let skipped = &report.skipped;
    if skipped.total() > 0 {
        let _ = writeln!(
            out,
            "skipped: {} truncated line(s), {} unreadable line(s), {} non-MCP span(s)",
            skipped.truncated, skipped.unreadable, skipped.not_mcp
        );
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
    }
    let sessions = report.sessions();
    out.push_str("\nSessions\n");
    let _ = writeln!(
        out,
        "  {} session(s), {:.1} tool call(s) per session, {:.1}s long on average, {:.1}s the longest",
        sessions.count, sessions.calls_per_session, sessions.mean_seconds, sessions.longest_seconds
    );
    out
}

fn tools_text(report: &Report, out: &mut String) {
    out.push_str("\nTools\n");
    if report.tools.is_empty() {
        out.push_str("  no tool calls\n");
        return;
    }
    let header = [
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
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for (name, tool) in &report.tools {
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
    for (name, tool) in &report.tools {
        if !tool.errors.is_empty() {
            let errors: Vec<String> = tool
                .errors
                .iter()
                .map(|(t, n)| format!("{} ×{n}", error_label(t)))
                .collect();
            let _ = writeln!(out, "  {name} errors: {}", errors.join(", "));
        }
        let paths = tool.top_error_paths(3);
        if !paths.is_empty() {
            let paths: Vec<String> = paths
                .iter()
                .map(|(p, n)| format!("{} ×{n}", if p.is_empty() { "(root)" } else { p }))
                .collect();
            let _ = writeln!(out, "  {name} schema errors at: {}", paths.join(", "));
        }
    }
}

fn row(name: &str, tool: &ToolStats) -> Vec<String> {
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
    ]
}

/// The same figures as JSON.
pub fn json(report: &Report) -> Value {
    let tools: Vec<Value> = report
        .tools
        .iter()
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
            })
        })
        .collect();
    let resources: Vec<Value> = report
        .resources
        .iter()
        .map(|(name, r)| {
            json!({"resource": name, "reads": r.reads, "repeated": r.repeated, "tracked": r.tracked})
        })
        .collect();
    let sessions = report.sessions();
    let s = &report.skipped;
    json!({
        "spans": report.spans,
        "skipped": {"truncated": s.truncated, "unreadable": s.unreadable, "notMcp": s.not_mcp},
        "tools": tools,
        "resources": resources,
        "sessions": {
            "count": sessions.count,
            "callsPerSession": sessions.calls_per_session,
            "meanSeconds": sessions.mean_seconds,
            "longestSeconds": sessions.longest_seconds,
        },
    })
}
