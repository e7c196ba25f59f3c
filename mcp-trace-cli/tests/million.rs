//! A million spans: the report's time and memory (target: 10 s and 200 MB on a 2-core
//! machine). Ignored by `cargo test`; run it by hand, optimised:
//!
//! ```sh
//! cargo test --release -p mcp-trace-cli --test million -- --ignored --nocapture
//! ```
//!
//! The file is written in batches of 512 spans a line, as the batch exporter writes
//! them: 10 tools and a resource over a day, 2,000 sessions, half the calls with an
//! argument hash never seen before (the sets of hashes grow with those), errors,
//! schema verdicts and repeated reads.

mod common;

use common::{MINUTE_NS, MS_NS, T0_NS, line, read, tool_call};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::time::Instant;

const SPANS: u64 = 1_000_000;

/// The process's resident set, and its peak, in kB (Linux).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
#[ignore = "a million spans: run by hand with --release"]
fn a_million_spans() {
    let dir = std::env::temp_dir().join(format!("mcp-trace-million-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spans.jsonl");
    let written = Instant::now();
    {
        let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut batch = Vec::with_capacity(512);
        let step = 24 * 60 * MINUTE_NS / SPANS;
        for i in 0..SPANS {
            let start = T0_NS + i * step;
            let session = format!("session-{}", i % 2_000);
            let span = if i % 10 == 9 {
                read(Some(&session), Some(i % 7 == 0), start)
            } else {
                let tool = format!("tool_{}", i % 10);
                let hash = match i % 2 {
                    0 => format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                    _ => format!("{:016x}", i % 50),
                };
                let mut extra = vec![("mcp.tool.args.schema_valid", json!(i % 13 != 0))];
                if i % 13 == 0 {
                    extra.push(("mcp.tool.args.schema_error_path", json!("/limit")));
                }
                if i % 31 == 0 {
                    extra.push(("error.type", json!("tool_error")));
                }
                tool_call(&tool, &session, &hash, start, (1 + i % 40) * MS_NS, &extra)
            };
            batch.push(span);
            if batch.len() == 512 {
                writeln!(out, "{}", line(std::mem::take(&mut batch))).unwrap();
            }
        }
        if !batch.is_empty() {
            writeln!(out, "{}", line(batch)).unwrap();
        }
    }
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "wrote {SPANS} spans, {} MB, in {:.1?}",
        size / 1_000_000,
        written.elapsed()
    );

    // The peak from here on: writing "5" to clear_refs resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before, _) = memory_kb();
    let started = Instant::now();
    let mut report = mcp_trace_cli::Report::default();
    report
        .read(mcp_trace_cli::input::open(&path).unwrap())
        .unwrap();
    report.finish();
    let text = mcp_trace_cli::render::text(&report);
    let json = mcp_trace_cli::render::json(&report);
    let elapsed = started.elapsed();
    let (_, peak) = memory_kb();
    eprintln!("{text}");
    eprintln!(
        "report over {} spans: {:.2?}, peak resident {} MB (+{} MB over the {} MB before), {} alerts",
        report.spans,
        elapsed,
        peak / 1024,
        peak.saturating_sub(before) / 1024,
        before / 1024,
        json["alerts"].as_array().map_or(0, Vec::len)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(report.spans, SPANS);
    assert!(elapsed.as_secs_f64() <= 10.0, "over 10 s: {elapsed:?}");
    assert!(peak <= 200 * 1024, "over 200 MB: {} MB", peak / 1024);
}
