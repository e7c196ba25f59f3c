//! The report over a hand-built span file: exact figures, the text snapshot, bad input
//! skipped and counted, and the exit status.

use mcp_trace_cli::{Report, render};
use serde_json::{Value, json};
use std::process::Command;

mod common;

use common::MS_NS;

/// One OTLP/JSON line holding one span.
fn line(name: &str, attrs: &[(&str, Value)], start_ms: u64, duration_ms: u64) -> String {
    common::line(vec![common::span(
        name,
        attrs,
        start_ms * MS_NS,
        duration_ms * MS_NS,
    )])
}

fn tool(name: &str, session: &str, hash: &str, ms: u64, extra: &[(&str, Value)]) -> String {
    common::line(vec![common::tool_call(
        name,
        session,
        hash,
        1_000 * MS_NS,
        ms * MS_NS,
        extra,
    )])
}

/// Two tools over two sessions, with errors, schema mismatches, a retry, other spans
/// and bad lines (the last one cut short, as by a writer that crashed).
fn file() -> String {
    let invalid = |path: &str| {
        vec![
            ("mcp.tool.args.schema_valid", json!(false)),
            ("mcp.tool.args.schema_error_path", json!(path)),
        ]
    };
    let valid = vec![("mcp.tool.args.schema_valid", json!(true))];
    let mut lines = vec![
        tool("search", "s1", "aaaa", 10, &valid),
        tool("search", "s1", "aaaa", 20, &valid),
        tool("search", "s1", "bbbb", 30, &invalid("/limit")),
        tool("search", "s2", "aaaa", 40, &valid),
        tool(
            "search",
            "s2",
            "cccc",
            1_000,
            &[("error.type", json!("SearchError"))],
        ),
        tool(
            "run_query",
            "s2",
            "dddd",
            5,
            &[("error.type", json!("-32603"))],
        ),
        "this is not json".to_owned(),
        line("GET /health", &[("http.route", json!("/health"))], 1_000, 1),
        line(
            "tools/list",
            &[("mcp.method.name", json!("tools/list"))],
            1_000,
            500,
        ),
    ];
    lines.push(tool("run_query", "s2", "dddd", 7, &invalid("/sql")));
    let read = |session: Option<&str>, hit: Option<bool>| {
        common::line(vec![common::read(session, hit, 1_000 * MS_NS)])
    };
    lines.push(read(Some("s1"), Some(false)));
    lines.push(read(Some("s1"), Some(true)));
    lines.push(read(Some("s1"), Some(true)));
    lines.push(read(None, None));
    let cut = tool("search", "s3", "eeee", 1, &[]);
    let mut text = lines.join("\n");
    text.push('\n');
    text.push_str(&cut[..cut.len() / 2]);
    text
}

fn report() -> Report {
    let mut report = Report::default();
    report.read(file().as_bytes()).unwrap();
    report.finish();
    report
}

#[test]
fn figures_per_tool() {
    let report = report();
    assert_eq!(
        report.spans, 12,
        "seven tool calls, a tools/list, four reads"
    );
    assert_eq!(
        (
            report.skipped.truncated,
            report.skipped.unreadable,
            report.skipped.not_mcp
        ),
        (1, 1, 1)
    );
    let search = &report.tools["search"];
    assert_eq!(search.calls, 5);
    assert_eq!(search.sessions(), 2);
    assert_eq!(search.failed(), 1);
    assert_eq!((search.schema_checked, search.schema_invalid), (4, 1));
    assert_eq!(search.distinct_hashes(), 3);
    assert_eq!(
        search.repeated, 1,
        "aaaa twice in s1; once in s2 is not a repeat"
    );
    assert_eq!(search.top_error_paths(3), vec![("/limit".to_owned(), 1)]);
    // HdrHistogram keeps 3 significant digits.
    assert_eq!(search.latency_micros(0.5), 30_015);
    assert_eq!(search.latency_micros(0.99), 1_000_447);
    let query = &report.tools["run_query"];
    assert_eq!(query.calls, 2);
    assert_eq!(query.repeated, 1);
    assert_eq!(
        {
            let r = &report.resources["docs://{page}"];
            (r.reads, r.repeated, r.tracked)
        },
        (4, 2, 3)
    );
    let sessions = report.sessions();
    assert_eq!(sessions.count, 2);
    assert_eq!(sessions.calls_per_session, 3.5);
    assert!((sessions.longest_seconds - 1.0).abs() < 1e-9);
    assert!((sessions.mean_seconds - 0.515).abs() < 1e-9);
}

#[test]
fn text_report() {
    insta::assert_snapshot!(render::text(&report()));
}

#[test]
fn json_report_has_the_same_figures() {
    let json = render::json(&report());
    assert_eq!(json["spans"], 12);
    assert_eq!(
        json["resources"],
        json!([{
            "resource": "docs://{page}", "reads": 4, "repeated": 2, "tracked": 3,
            "windows": [{"start": "1970-01-01T00:00:00Z", "reads": 4, "tracked": 3, "repeated": 2}],
        }])
    );
    assert_eq!(json["sessions"]["count"], 2);
    assert_eq!(
        json["skipped"],
        json!({"truncated": 1, "unreadable": 1, "notMcp": 1})
    );
    let query = &json["tools"][0];
    assert_eq!(query["tool"], "run_query");
    assert_eq!(
        query["errorsByType"],
        json!([{"type": "-32603", "name": "internal error", "calls": 1}])
    );
    assert_eq!(query["latencyMicros"]["p50"], 5_003);
}

#[test]
fn exit_status_and_stderr() {
    let dir = std::env::temp_dir().join(format!("mcp-trace-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spans.jsonl");
    std::fs::write(&path, file()).unwrap();
    let cli = env!("CARGO_BIN_EXE_mcp-trace");
    let ok = Command::new(cli).arg("report").arg(&path).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let stdout = String::from_utf8(ok.stdout).unwrap();
    assert_eq!(stdout, render::text(&report()));
    let stderr = String::from_utf8(ok.stderr).unwrap();
    assert!(
        stderr.contains("skipped 1 truncated line(s), 1 unreadable line(s), 1 non-MCP span(s)")
    );
    let missing = Command::new(cli)
        .arg("report")
        .arg(dir.join("absent.jsonl"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gzip_input_reads_the_same() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("mcp-trace-cli-gz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Two gzip members one after the other, as `cat a.gz b.gz` makes, the cut line
    // last.
    let text = file();
    let (head, tail) = text.split_at(text.find("this is not json").unwrap());
    let mut gz = Vec::new();
    for part in [head, tail] {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(part.as_bytes()).unwrap();
        gz.extend(encoder.finish().unwrap());
    }
    let path = dir.join("spans.jsonl.gz");
    std::fs::write(&path, gz).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-trace"))
        .arg("report")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        render::text(&report())
    );
    // A file cut inside the compressed stream (a writer that crashed): what came
    // before the cut is reported, and stderr says where it broke off.
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() - 10]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-trace"))
        .arg("report")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("breaks off"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("mcp-trace report: 12 MCP spans"),
        "{stdout}"
    );
    // Not a span file at all: status 2.
    let passwd = dir.join("passwd");
    std::fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/bash\n{\"resourceMetrics\": []}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-trace"))
        .arg("report")
        .arg(&passwd)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no MCP span in the input"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn client_spans_are_kept_apart() {
    let client_call = |ms: u64, error: Option<&str>| {
        let mut attrs = vec![
            ("mcp.method.name", json!("tools/call")),
            ("gen_ai.tool.name", json!("search")),
        ];
        if let Some(error) = error {
            attrs.push(("error.type", json!(error)));
        }
        let mut span = common::span("tools/call search", &attrs, 1_000 * MS_NS, ms * MS_NS);
        span["kind"] = json!(3);
        span
    };
    let session = |trace: &str| {
        let mut span = common::span("mcp.client.session", &[], 1_000 * MS_NS, 50 * MS_NS);
        span["kind"] = json!(1);
        span["traceId"] = json!(trace);
        span
    };
    let text = common::file(vec![
        session("0af7651916cd43dd8448eb211c80319c"),
        session("1af7651916cd43dd8448eb211c80319c"),
        client_call(12, None),
        client_call(30, Some("tool_error")),
        common::tool_call("search", "s1", "h", 1_000 * MS_NS, 10 * MS_NS, &[]),
    ]);
    let mut report = Report::default();
    report.read(text.as_bytes()).unwrap();
    report.finish();
    assert_eq!(report.tools["search"].calls, 1, "the server's call alone");
    assert_eq!(report.skipped.not_mcp, 0);
    let out = render::text(&report);
    assert!(
        out.contains("\nClients (spans of traced clients, not counted above)\n  2 session(s) in 2 trace(s); 2 request(s), 1 failed; tool calls p50 12.0ms, p95 30.0ms as the clients timed them (transport included)\n"),
        "{out}"
    );
}

/// A multi-round call (MCP 2026-07-28): two rounds that answered `input_required` and
/// the round that ends it are one call, with the latency of the whole, from the first
/// round's start; the note says so.
#[test]
fn rounds_of_one_call_count_once() {
    let round = |number: i64, asked: bool, start_ms: u64, ms: u64| {
        let mut extra = vec![("mcp.request.round", json!(number))];
        if asked {
            extra.push(("mcp.request.input_required", json!(true)));
        } else {
            extra.push(("mcp.request.rounds", json!(number)));
            // First round's start (1 000 ms) to this round's end (3 000 + 20 ms).
            extra.push(("mcp.request.rounds_duration", json!(2.02)));
        }
        common::line(vec![common::tool_call(
            "approve",
            "s1",
            "aaaa",
            start_ms * MS_NS,
            ms * MS_NS,
            &extra,
        )])
    };
    let file = [
        round(1, true, 1_000, 10),
        round(2, true, 2_000, 10),
        round(3, false, 3_000, 20),
        tool("search", "s1", "bbbb", 10, &[]),
    ]
    .join("\n");
    let mut report = Report::default();
    report.read(file.as_bytes()).unwrap();
    report.finish();
    assert_eq!((report.spans, report.asked_rounds), (4, 2));
    let approve = &report.tools["approve"];
    assert_eq!(approve.calls, 1);
    assert_eq!(approve.failed(), 0);
    // HdrHistogram keeps 3 significant digits.
    assert_eq!(approve.latency_micros(0.5), 2_020_351);
    assert_eq!(report.tools["search"].calls, 1);
    let text = render::text(&report);
    assert!(
        text.contains("note: 2 round(s) answered input_required (MCP 2026-07-28)"),
        "{text}"
    );
    assert_eq!(render::json(&report)["inputRequiredRounds"], json!(2));

    // A writer's absurd duration (longer than the time since 1970) is cut at the
    // span's end, never wrapped around.
    // (Near today's epoch a float's steps are 256 ns: an end that rounds up to the
    // next step once did.)
    let absurd = common::line(vec![common::tool_call(
        "approve",
        "s1",
        "aaaa",
        common::T0_NS + 123,
        MS_NS,
        &[
            ("mcp.request.rounds", json!(2)),
            ("mcp.request.rounds_duration", json!(1e12)),
        ],
    )]);
    let mut report = Report::default();
    report.read(absurd.as_bytes()).unwrap();
    report.finish();
    assert_eq!(report.tools["approve"].calls, 1);
}

/// The context column: a tool's definition bytes (the latest a call carried) and its
/// mean result bytes; a result too large to measure counts as 1 MiB, and the mean says
/// it is a lower bound.
#[test]
fn context_column_shows_definition_and_mean_result() {
    let sized = |tool: &str, start_ms: u64, extra: &[(&str, Value)]| {
        common::line(vec![common::tool_call(
            tool,
            "s1",
            "aaaa",
            start_ms * MS_NS,
            MS_NS,
            extra,
        )])
    };
    let file = [
        sized(
            "search",
            1_000,
            &[
                ("mcp.tool.definition.size", json!(400)),
                ("mcp.tool.result.size", json!(1_000)),
            ],
        ),
        sized(
            "search",
            2_000,
            &[
                ("mcp.tool.definition.size", json!(497)),
                ("mcp.tool.result.size", json!(3_000)),
            ],
        ),
        sized(
            "export",
            1_000,
            &[("mcp.tool.result.size_skipped", json!("too_large"))],
        ),
        sized("plain", 1_000, &[]),
    ]
    .join("\n");
    let mut report = Report::default();
    report.read(file.as_bytes()).unwrap();
    report.finish();
    let context = |tool: &str| render::context(&report.tools[tool].context);
    assert_eq!(context("search"), "497 B + 2.0 KiB");
    assert_eq!(context("export"), "? + ≥1.0 MiB");
    assert_eq!(context("plain"), "-");
    let json = render::json(&report);
    let search = json["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "search")
        .unwrap();
    assert_eq!(
        search["context"],
        json!({"definitionBytes": 497, "meanResultBytes": 2000, "resultsMeasured": 2, "resultsTooLarge": 0})
    );
}

/// Task spans (the MCP tasks extension) are not calls: the Tasks section counts them
/// per tool, with their duration from creation to terminal status and how they ended.
#[test]
fn tasks_have_their_own_section() {
    let task = |tool: &str, start_ms: u64, ms: u64, extra: &[(&str, Value)]| {
        let mut attrs = vec![("gen_ai.tool.name", json!(tool))];
        attrs.extend(extra.iter().cloned());
        line(&format!("task {tool}"), &attrs, start_ms, ms)
    };
    let done = [("mcp.task.status", json!("completed"))];
    let file = [
        task("export", 1_000, 2_000, &done),
        task("export", 1_500, 4_000, &done),
        task(
            "export",
            2_000,
            1_000,
            &[
                ("mcp.task.status", json!("failed")),
                ("error.type", json!("-32603")),
            ],
        ),
        task(
            "export",
            2_500,
            500,
            &[("mcp.task.status", json!("cancelled"))],
        ),
        task(
            "export",
            3_000,
            60_000,
            &[("mcp.task.status", json!("expired"))],
        ),
        tool("export", "s1", "aaaa", 10, &[]),
    ]
    .join("\n");
    let mut report = Report::default();
    report.read(file.as_bytes()).unwrap();
    report.finish();
    assert_eq!(report.tools["export"].calls, 1, "a task is not a call");
    let tasks = &report.tasks["export"];
    assert_eq!(
        (tasks.tasks, tasks.failed, tasks.cancelled, tasks.expired),
        (5, 1, 1, 1)
    );
    // HdrHistogram keeps 3 significant digits.
    assert_eq!(tasks.latency_micros(0.5), 2_000_895);
    assert_eq!(tasks.latency_micros(0.95), 60_030_975);
    let text = render::text(&report);
    assert!(
        text.contains(
            "Tasks (from creation to their terminal status)\n  export: 5 task(s), p50 2.00s, p95 60.03s, 20.0% failed, 1 cancelled, 1 expired\n"
        ),
        "{text}"
    );
    assert_eq!(
        render::json(&report)["tasks"],
        json!([{"tool": "export", "tasks": 5, "failed": 1, "cancelled": 1, "expired": 1,
                "p50Micros": 2_000_895, "p95Micros": 60_030_975}])
    );
}
