//! The report over a real span file: the one `cargo run --example demo` wrote
//! (`fixtures/demo.jsonl.gz`, gzip as archived runs are; regenerate with
//! `MCP_TRACE_FILE=/tmp/demo.jsonl cargo run --example demo && gzip -9 -c
//! /tmp/demo.jsonl > mcp-trace-cli/tests/fixtures/demo.jsonl.gz`). Text (snapshot),
//! JSON with the same figures, and the HTML page carrying them all.

mod common;

use common::{figures_on_page, well_formed};
use mcp_trace_cli::{Report, html, input, render};
use std::path::Path;

fn demo() -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo.jsonl.gz");
    let mut report = Report::default();
    report.read(input::open(&path).unwrap()).unwrap();
    report.finish();
    report
}

#[test]
fn text_over_the_demo_file() {
    insta::assert_snapshot!(render::text(&demo()));
}

#[test]
fn json_over_the_demo_file_has_the_texts_figures() {
    let report = demo();
    let json = render::json(&report);
    assert_eq!(json["spans"], report.spans);
    assert_eq!(json["skipped"]["notMcp"], 0);
    let tools = json["tools"].as_array().unwrap();
    assert_eq!(tools.len(), report.tools.len());
    for (tool, (name, stats)) in tools.iter().zip(&report.tools) {
        assert_eq!(tool["tool"], name.as_str());
        assert_eq!(tool["calls"], stats.calls);
        assert_eq!(tool["errors"], stats.failed());
        assert_eq!(tool["latencyMicros"]["p95"], stats.latency_micros(0.95));
        assert_eq!(tool["distinctHashes"], stats.distinct_hashes());
    }
    let alerts = mcp_trace_cli::alerts::alerts(&report);
    let texts: Vec<String> = alerts
        .iter()
        .map(|a| render::describe(&report, a))
        .collect();
    let json_texts: Vec<&str> = json["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert_eq!(json_texts, texts);
    assert!(!alerts.is_empty(), "the demo is made to set some off");
}

#[test]
fn html_over_the_demo_file_carries_every_figure() {
    let report = demo();
    let page = html::page(&report);
    well_formed(&page);
    let checked = figures_on_page(&render::text(&report), &page);
    assert!(checked > 40, "{checked}");
}
