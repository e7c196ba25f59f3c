//! Input no exporter of ours writes, made to cost memory or time: the report stays
//! bounded, counts what it skipped, and never panics.

mod common;

use common::{MINUTE_NS, MS_NS, T0_NS, file, line, span, tool_call};
use mcp_trace_cli::tools::SetBudget;
use mcp_trace_cli::{MAX_NAMES, OTHER, Report, render};
use serde_json::{Value, json};

fn report_of(text: &[u8]) -> Report {
    let mut report = Report::default();
    report.read(text).unwrap();
    report.finish();
    report
}

#[test]
fn a_thousand_tool_names_keep_256_apart() {
    let spans: Vec<Value> = (0..1_000)
        .map(|i| {
            tool_call(
                &format!("tool_{i:04}"),
                "s",
                "h",
                T0_NS + i * MS_NS,
                MS_NS,
                &[],
            )
        })
        .collect();
    let report = report_of(file(spans).as_bytes());
    assert_eq!(report.tools.len(), MAX_NAMES + 1);
    assert_eq!(report.tools[OTHER].calls, 1_000 - MAX_NAMES as u64);
    assert_eq!(report.tools["tool_0000"].calls, 1);
}

#[test]
fn long_names_are_cut() {
    let long = "x".repeat(100_000);
    let spans = vec![tool_call(
        &long,
        "s",
        "h",
        T0_NS,
        MS_NS,
        &[("error.type", json!(long.clone()))],
    )];
    let report = report_of(file(spans).as_bytes());
    let (name, tool) = report.tools.iter().next().unwrap();
    assert_eq!(name.chars().count(), 256);
    assert!(name.ends_with('…'));
    assert_eq!(tool.errors.keys().next().unwrap().chars().count(), 256);
}

#[test]
fn distinct_values_past_the_budget_are_lower_bounds() {
    let spans: Vec<Value> = (0..100)
        .map(|i| {
            let session = format!("session-{}", i % 10);
            let hash = format!("{:04}", i % 30);
            tool_call(
                "search",
                &session,
                &hash,
                T0_NS + i * MINUTE_NS / 10,
                MS_NS,
                &[],
            )
        })
        .collect();
    let text = file(spans);
    let whole = report_of(text.as_bytes());
    assert_eq!(whole.budget.exhausted_at_ns, None);
    assert_eq!(whole.tools["search"].distinct_hashes(), 30);
    let mut cut = Report::default();
    cut.budget = SetBudget::new(25);
    cut.read(text.as_bytes()).unwrap();
    cut.finish();
    let search = &cut.tools["search"];
    assert!(cut.budget.exhausted_at_ns.is_some());
    assert!(search.distinct_hashes() < 30);
    assert!(search.repeated <= whole.tools["search"].repeated);
    assert_eq!(search.calls, 100, "calls are counted whatever the budget");
    let text = render::text(&cut);
    assert!(
        text.contains("distinct hashes, sessions and repeated calls are lower bounds"),
        "{text}"
    );
}

#[test]
fn bad_lines_are_counted_not_fatal() {
    let good = line(vec![tool_call("search", "s", "h", T0_NS, MS_NS, &[])]);
    let mut text: Vec<u8> = Vec::new();
    // Nesting far past serde_json's recursion limit.
    text.extend("[".repeat(100_000).as_bytes());
    text.push(b'\n');
    // Not UTF-8.
    text.extend(b"{\"resourceSpans\": \"\xff\xfe\"}\n");
    // JSON, but not an export request.
    text.extend(b"{\"resourceSpans\": 7}\n");
    text.extend(b"null\n");
    // A span with no attributes at all, and one with a start after its end.
    text.extend(line(vec![span("bare", &[], T0_NS, MS_NS)]).as_bytes());
    text.push(b'\n');
    let mut backwards = tool_call("search", "s", "h", u64::MAX, 0, &[]);
    backwards["endTimeUnixNano"] = json!("0");
    text.extend(line(vec![backwards]).as_bytes());
    text.push(b'\n');
    text.extend(good.as_bytes());
    text.push(b'\n');
    let report = report_of(&text);
    assert_eq!(
        (
            report.skipped.unreadable,
            report.skipped.truncated,
            report.skipped.not_mcp
        ),
        (4, 0, 1)
    );
    assert_eq!(report.tools["search"].calls, 2);
    // The alerts and the page over timestamps at both ends of time.
    let _ = mcp_trace_cli::alerts::alerts(&report);
    let _ = mcp_trace_cli::html::page(&report);
    let _ = render::json(&report);
}

#[test]
fn an_endless_line_is_skipped_without_being_held() {
    // One line over the limit (a little, to keep the test quick), then a good one.
    let limit = mcp_trace_cli::read::MAX_LINE_BYTES as usize;
    let good = line(vec![tool_call("search", "s", "h", T0_NS, MS_NS, &[])]);
    let mut text = vec![b' '; limit + 10];
    text.push(b'\n');
    text.extend(good.as_bytes());
    text.push(b'\n');
    let report = report_of(&text);
    assert_eq!(report.skipped.unreadable, 1);
    assert_eq!(report.tools["search"].calls, 1);
}

#[test]
fn a_line_of_empty_spans_is_walked_one_at_a_time() {
    // 200 000 spans in one line: parsed one by one (the whole request would hold all
    // of them at once), each counted as not MCP.
    let mut text = String::from(r#"{"resourceSpans":[{"scopeSpans":[{"spans":["#);
    text.push_str(&vec!["{}"; 200_000].join(","));
    text.push_str("]}]}]}\n");
    let report = report_of(text.as_bytes());
    assert_eq!(report.skipped.not_mcp, 200_000);
    assert_eq!(report.skipped.unreadable, 0);
}

#[test]
fn names_cannot_forge_lines_or_drive_a_terminal() {
    let evil = "search\n  error-rate       fake: 99.9% of calls failed\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}reversed\u{ffff}";
    let spans = vec![tool_call(
        evil,
        "s",
        "h",
        T0_NS,
        MS_NS,
        &[("error.type", json!(evil))],
    )];
    let report = report_of(file(spans).as_bytes());
    let text = render::text(&report);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(!text.contains('\u{202e}') && !text.contains('\u{ffff}'));
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("error-rate       fake")),
        "{text}"
    );
    let name = report.tools.keys().next().unwrap();
    assert!(name.starts_with("search\u{fffd}  error-rate"), "{name:?}");
}

#[test]
fn a_baseline_of_many_tools_leaves_the_reports_own_apart() {
    let baseline_spans: Vec<Value> = (0..300)
        .map(|i| tool_call(&format!("old_{i}"), "s", "h", T0_NS, MS_NS, &[]))
        .collect();
    let baseline = report_of(file(baseline_spans).as_bytes());
    let mut report = Report::default().with_baseline(&baseline);
    report
        .read(file(vec![tool_call("search", "s", "h", T0_NS, MS_NS, &[])]).as_bytes())
        .unwrap();
    report.finish();
    assert_eq!(report.tools.keys().collect::<Vec<_>>(), ["search"]);
}

#[test]
fn calls_past_a_day_are_shown_as_at_least_a_day() {
    let day_ns = 24 * 3_600 * 1_000_000_000;
    let spans = vec![tool_call("batch", "s", "h", T0_NS, 2 * day_ns, &[])];
    let report = report_of(file(spans).as_bytes());
    let text = render::text(&report);
    assert!(text.contains("≥24h"), "{text}");
}
