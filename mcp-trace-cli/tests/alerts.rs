//! Each alert over a hand-built file made to fire it (exact window, figures and
//! subject, and nothing else firing), a file where none fires, and the exit status.

mod common;

use common::{MINUTE_NS, MS_NS, T0_NS, file, read, tool_call};
use mcp_trace_cli::Report;
use mcp_trace_cli::alerts::{Alert, Kind, alerts};
use mcp_trace_cli::settings::Settings;
use serde_json::{Value, json};
use std::process::Command;

/// `n` calls of `tool` spread over minute `minute`, each made by `each(i)`:
/// (duration in ms, extra attributes).
fn minute_of_calls(
    tool: &str,
    minute: u64,
    n: u64,
    each: impl Fn(u64) -> (u64, Vec<(&'static str, Value)>),
) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let start = T0_NS + minute * MINUTE_NS + i * (MINUTE_NS / n);
            let (ms, extra) = each(i);
            let hash = format!("{tool}-{minute}-{i}");
            tool_call(tool, "s1", &hash, start, ms * MS_NS, &extra)
        })
        .collect()
}

/// 20 healthy calls a minute of `tool` (10 ms, schema valid, no error) over
/// `minutes`.
fn steady(tool: &str, minutes: std::ops::Range<u64>) -> Vec<Value> {
    minutes
        .flat_map(|m| {
            minute_of_calls(tool, m, 20, |_| {
                (10, vec![("mcp.tool.args.schema_valid", json!(true))])
            })
        })
        .collect()
}

fn report_of(spans: Vec<Value>) -> Report {
    let mut report = Report::new(Settings::default());
    report.read(file(spans).as_bytes()).unwrap();
    report.finish();
    report
}

fn at(minute: u64) -> u64 {
    T0_NS + minute * MINUTE_NS
}

/// The end of the last call of the steady traffic ending before minute `m`.
fn steady_end(m: u64) -> u64 {
    at(m - 1) + 19 * (MINUTE_NS / 20) + 10 * MS_NS
}

#[test]
fn none_fires_on_healthy_traffic() {
    let mut spans = steady("search", 0..30);
    spans.extend(steady("fetch", 0..30));
    spans.extend((0..30).map(|m| read(Some("s1"), Some(false), at(m))));
    let report = report_of(spans);
    assert_eq!(alerts(&report), vec![]);
    let text = mcp_trace_cli::render::text(&report);
    assert!(
        text.ends_with(
            "\nAlerts (5m windows sliding by 1m, 10 calls at least; silence 15m)\n  none\n"
        ),
        "{text}"
    );
}

#[test]
fn error_rate_over_a_window() {
    let mut spans = steady("search", 0..30);
    // Minutes 10 and 11: 6 of the 20 calls fail.
    spans.retain(|s| {
        let start: u64 = s["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        !(at(10)..at(12)).contains(&start)
    });
    for m in [10, 11] {
        spans.extend(minute_of_calls("search", m, 20, |i| {
            let error = (i < 6).then(|| ("error.type", json!("SearchError")));
            let mut extra = vec![("mcp.tool.args.schema_valid", json!(true))];
            extra.extend(error);
            (10, extra)
        }));
    }
    let report = report_of(spans);
    // The windows holding minute 10 or 11 fire: those starting at minutes 6 to 11 (6
    // or 12 failures in 100 calls); the worst holds both.
    assert_eq!(
        alerts(&report),
        vec![Alert {
            kind: Kind::ErrorRate,
            subject: "search".into(),
            // Cut to the calls the windows hold.
            from_ns: at(6),
            to_ns: steady_end(16),
            value: 0.12,
            threshold: 0.05,
            part: 12,
            whole: 100,
        }]
    );
    assert_eq!(report.tools["search"].errors["SearchError"], 12);
}

#[test]
fn latency_against_the_first_calls() {
    let mut spans = steady("search", 0..30);
    // Minute 20: 8 of the 20 calls take 100 ms, over twice the 10 ms p50 of the first
    // 100 calls.
    for s in spans.iter_mut() {
        let start: u64 = s["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        if (at(20)..at(21)).contains(&start) && (start - at(20)) / (MINUTE_NS / 20) < 8 {
            s["endTimeUnixNano"] = json!((start + 100 * MS_NS).to_string());
        }
    }
    let report = report_of(spans);
    assert_eq!(report.tools["search"].baseline(), Some((10_000, 20_000)));
    assert_eq!(
        alerts(&report),
        vec![Alert {
            kind: Kind::Latency,
            subject: "search".into(),
            from_ns: at(16),
            to_ns: steady_end(25),
            value: 0.08,
            threshold: 0.05,
            part: 8,
            whole: 100,
        }]
    );
    let text = mcp_trace_cli::render::text(&report);
    assert!(text.contains("latency          search: p95 above 2× the baseline p50 of 10.0ms (8 of 100 calls took over 20.0ms); from 2027-01-15T08:16:00Z to 2027-01-15T08:24:57Z"), "{text}");
}

#[test]
fn latency_against_a_baseline_file() {
    // Steady 10 ms calls: no alert against their own first calls, but a baseline where
    // the tool answered in 4 ms makes every window's p95 too slow.
    let mut baseline = Report::new(Settings::default());
    let fast = (0..5).flat_map(|m| minute_of_calls("search", m, 20, |_| (4, vec![])));
    baseline.read(file(fast.collect()).as_bytes()).unwrap();
    baseline.finish();
    let mut report = Report::new(Settings::default()).with_baseline(&baseline);
    report
        .read(file(steady("search", 0..10)).as_bytes())
        .unwrap();
    report.finish();
    assert_eq!(
        report.tools["search"].baseline(),
        Some((4_001, 8_002)),
        "HdrHistogram's 3 significant digits"
    );
    let fired = alerts(&report);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (
            fired[0].kind,
            fired[0].from_ns,
            fired[0].to_ns,
            fired[0].value
        ),
        (Kind::Latency, at(0), steady_end(10), 1.0)
    );
    // And nothing against its own first calls.
    assert_eq!(alerts(&report_of(steady("search", 0..10))), vec![]);
}

/// A file of two servers' spans, each batch under its server's `service.name`.
fn servers_file(servers: &[(&str, Vec<Value>)]) -> String {
    let mut text = String::new();
    for (service, spans) in servers {
        for batch in spans.chunks(64) {
            let resource = json!({"attributes": [
                {"key": "service.name", "value": {"stringValue": service}}]});
            text.push_str(
                &json!({"resourceSpans": [{"resource": resource,
                    "scopeSpans": [{"spans": batch}]}]})
                .to_string(),
            );
            text.push('\n');
        }
    }
    text
}

#[test]
fn a_server_goes_silent_while_others_go_on() {
    let mut report = Report::new(Settings::default());
    let docs = steady("search", 0..20);
    let mail = steady("send", 0..50);
    report
        .read(servers_file(&[("docs", docs), ("mail", mail)]).as_bytes())
        .unwrap();
    report.finish();
    let silent_from = steady_end(20);
    // Its tool is silent too, and said so on its own.
    let fired: Vec<Alert> = alerts(&report)
        .into_iter()
        .filter(|a| a.kind == Kind::ServerSilent)
        .collect();
    assert_eq!(
        fired,
        vec![Alert {
            kind: Kind::ServerSilent,
            subject: "docs".into(),
            from_ns: silent_from,
            to_ns: report.last_ns,
            value: (report.last_ns - silent_from) as f64 / 1e9,
            threshold: 900.0,
            // mail's spans in the silence: minutes 20 to 49, 20 a minute.
            part: 600,
            whole: 400,
        }]
    );
    let text = mcp_trace_cli::render::text(&report);
    assert!(
        text.contains("server-silent    docs: served no request for 30m after 400 regular ones, while other servers served 600; from 2027-01-15T08:19:57Z to the end of the data"),
        "{text}"
    );
    // Servers that stop together are not silent: the data ended.
    let mut together = Report::new(Settings::default());
    together
        .read(
            servers_file(&[
                ("docs", steady("search", 0..20)),
                ("mail", steady("send", 0..20)),
            ])
            .as_bytes(),
        )
        .unwrap();
    together.finish();
    assert_eq!(alerts(&together), vec![]);
}

#[test]
fn a_tool_goes_silent() {
    let mut spans = steady("search", 0..20);
    spans.extend(steady("fetch", 0..50));
    let report = report_of(spans);
    let silent_from = steady_end(20);
    assert_eq!(
        alerts(&report),
        vec![Alert {
            kind: Kind::Silent,
            subject: "search".into(),
            from_ns: silent_from,
            to_ns: report.last_ns,
            value: (report.last_ns - silent_from) as f64 / 1e9,
            threshold: 900.0,
            // fetch's calls in the silence: minutes 20 to 49, 20 a minute.
            part: 600,
            whole: 400,
        }]
    );
    // A tool whose every caller stopped is not silent on its own: no alert when fetch
    // stops with it.
    let mut together = steady("search", 0..20);
    together.extend(steady("fetch", 0..20));
    assert_eq!(alerts(&report_of(together)), vec![]);
}

#[test]
fn schema_mismatch_rate() {
    let spans: Vec<Value> = (0..10)
        .flat_map(|m| {
            minute_of_calls("create_issue", m, 20, |i| {
                let valid = i % 20 >= 3; // 3 in 20: 15 %
                let mut extra = vec![("mcp.tool.args.schema_valid", json!(valid))];
                if !valid {
                    extra.push(("mcp.tool.args.schema_error_path", json!("/priority")));
                }
                (10, extra)
            })
        })
        .collect();
    let report = report_of(spans);
    let fired = alerts(&report);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (
            fired[0].kind,
            fired[0].subject.as_str(),
            fired[0].from_ns,
            fired[0].to_ns,
            fired[0].part,
            fired[0].whole
        ),
        (
            Kind::SchemaMismatch,
            "create_issue",
            at(0),
            steady_end(10),
            15,
            100
        )
    );
    assert_eq!(
        report.tools["create_issue"].top_error_paths(1),
        vec![("/priority".to_owned(), 30)]
    );
}

#[test]
fn unknown_tool_calls() {
    let mut spans = steady("search", 0..10);
    // Minute 5: three calls of a tool the server does not have, answered -32601.
    spans.extend((0..3).map(|i| {
        tool_call(
            "serach",
            "s1",
            "x",
            at(5) + i * MS_NS,
            MS_NS,
            &[("rpc.response.status_code", json!("-32601"))],
        )
    }));
    let report = report_of(spans);
    assert_eq!(
        alerts(&report),
        vec![Alert {
            kind: Kind::UnknownTool,
            subject: "serach".into(),
            // The unknown calls themselves.
            from_ns: at(5),
            to_ns: at(5) + 3 * MS_NS,
            value: 3.0 / 103.0,
            threshold: 0.01,
            part: 3,
            whole: 103,
        }]
    );
    // The unknown calls are errors of their own name, not of a real tool's.
    assert_eq!(report.tools["serach"].errors["-32601"], 3);
    let text = mcp_trace_cli::render::text(&report);
    assert!(
        text.contains("serach errors: -32601 method not found ×3"),
        "{text}"
    );
}

#[test]
fn duplicate_reads() {
    let mut spans = steady("search", 0..10);
    // 12 reads a minute, the last 3 of each minute repeats: 25 %.
    spans.extend(
        (0..10)
            .flat_map(|m| (0..12).map(move |i| read(Some("s1"), Some(i >= 9), at(m) + i * MS_NS))),
    );
    let report = report_of(spans);
    let fired = alerts(&report);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (
            fired[0].kind,
            fired[0].subject.as_str(),
            fired[0].from_ns,
            fired[0].part,
            fired[0].whole
        ),
        // From the first repeated read.
        (
            Kind::DuplicateReads,
            "docs://{page}",
            at(0) + 9 * MS_NS,
            15,
            60
        )
    );
    let windows = mcp_trace_cli::render::duplicate_rate_over_time(&report, "docs://{page}");
    assert_eq!(windows.len(), 2);
    assert_eq!(
        (windows[1].start_ns, windows[1].tracked, windows[1].repeated),
        (at(5), 60, 15)
    );
}

#[test]
fn few_calls_do_not_alert() {
    // Two failures in three calls: 67 %, under the ten calls a window needs.
    let spans = minute_of_calls("search", 0, 3, |i| {
        (
            10,
            if i < 2 {
                vec![("error.type", json!("E"))]
            } else {
                vec![]
            },
        )
    });
    assert_eq!(alerts(&report_of(spans)), vec![]);
}

#[test]
fn exit_status_and_thresholds_from_flags() {
    let dir = std::env::temp_dir().join(format!("mcp-trace-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let failing = dir.join("failing.jsonl");
    let spans: Vec<Value> = (0..10)
        .flat_map(|m| {
            minute_of_calls("search", m, 20, |i| {
                (
                    10,
                    if i < 2 {
                        vec![("error.type", json!("E"))]
                    } else {
                        vec![]
                    },
                )
            })
        })
        .collect();
    std::fs::write(&failing, file(spans)).unwrap();
    let healthy = dir.join("healthy.jsonl");
    std::fs::write(&healthy, file(steady("search", 0..10))).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mcp-trace"))
            .arg("report")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let (code, stdout, _) = run(&[&path(&failing)]);
    assert_eq!(code, Some(1), "10 % errors, above 5 %");
    assert!(
        stdout.contains("error-rate       search: 10.0% of calls failed"),
        "{stdout}"
    );
    let (code, _, _) = run(&[&path(&failing), "--error-rate", "10%"]);
    assert_eq!(code, Some(0), "10 % is not above 10 %");
    let (code, stdout, _) = run(&[&path(&healthy), "--json"]);
    assert_eq!(code, Some(0));
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["alerts"], json!([]));
    // Three identical calls in a row: a loop at the default threshold, not at 4.
    let looping = dir.join("looping.jsonl");
    std::fs::write(
        &looping,
        file(calls_in("s1", at(0), &[("search", "same", false); 3])),
    )
    .unwrap();
    let (code, stdout, _) = run(&[&path(&looping)]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("retry-loop       search: "), "{stdout}");
    let (code, _, _) = run(&[&path(&looping), "--retry-threshold", "4"]);
    assert_eq!(code, Some(0), "a run of 3 is under 4");
    let (code, _, stderr) = run(&[&path(&looping), "--retry-threshold", "1"]);
    assert_eq!(code, Some(2), "every call would be a loop: {stderr}");
    let (code, _, stderr) = run(&[&path(&healthy), "--window", "soon"]);
    assert_eq!(code, Some(2), "clap's usage error");
    assert!(stderr.contains("write it as 5m, 90s, 1h"), "{stderr}");
    let (code, _, stderr) = run(&[&path(&healthy), "--error-rate", "150"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("a percentage from 0 to 100"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_alert_at_once() {
    // search fails a fifth of its calls in minutes 10 and 11; fetch turns slow in
    // minute 20; lookup stops at minute 20 while the others go on to minute 40;
    // create_issue's arguments break its schema 15 % of the time; ten calls ask
    // for a tool that does not exist; a resource is re-read a quarter of the time;
    // an agent retries a failing `deploy` four times unchanged.
    let mut spans = steady("search", 0..40);
    for s in spans.iter_mut() {
        let start: u64 = s["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        if (at(10)..at(12)).contains(&start) && (start - at(10)) % MINUTE_NS / (MINUTE_NS / 20) < 4
        {
            s["attributes"]
                .as_array_mut()
                .unwrap()
                .push(json!({"key": "error.type", "value": {"stringValue": "SearchError"}}));
        }
    }
    let mut fetch = steady("fetch", 0..40);
    for s in fetch.iter_mut() {
        let start: u64 = s["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        if (at(20)..at(21)).contains(&start) && (start - at(20)) / (MINUTE_NS / 20) < 8 {
            s["endTimeUnixNano"] = json!((start + 100 * MS_NS).to_string());
        }
    }
    spans.extend(fetch);
    spans.extend(steady("lookup", 0..20));
    spans.extend((0..40).flat_map(|m| {
        minute_of_calls("create_issue", m, 20, |i| {
            (10, vec![("mcp.tool.args.schema_valid", json!(i >= 3))])
        })
    }));
    spans.extend((0..10).map(|i| {
        tool_call(
            "serach",
            "s1",
            "x",
            at(30) + i * MS_NS,
            MS_NS,
            &[("rpc.response.status_code", json!("-32601"))],
        )
    }));
    spans.extend(
        (0..40)
            .flat_map(|m| (0..12).map(move |i| read(Some("s1"), Some(i >= 9), at(m) + i * MS_NS))),
    );
    spans.extend((0..4).map(|i| {
        tool_call(
            "deploy",
            "s2",
            "same",
            at(35) + i * MS_NS,
            MS_NS / 2,
            &[("error.type", json!("tool_error"))],
        )
    }));
    let report = report_of(spans);
    assert_eq!(report.tools["search"].failed(), 8);
    let kinds: std::collections::BTreeSet<Kind> = alerts(&report).iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec![
            Kind::ErrorRate,
            Kind::Latency,
            Kind::Silent,
            Kind::SchemaMismatch,
            Kind::UnknownTool,
            Kind::DuplicateReads,
            Kind::RetryLoop
        ]
    );
    insta::assert_snapshot!(mcp_trace_cli::render::text(&report));
}

#[test]
fn a_silence_just_over_the_window_is_seen() {
    // lookup every 30 s, search every 10 s; lookup stops for 15 min 30 s (its last
    // call at 9:30, the next at 25:00), then comes back.
    let every = |tool: &str, step_s: u64, from_s: u64, to_s: u64| -> Vec<Value> {
        (from_s / step_s..to_s / step_s)
            .map(|i| {
                tool_call(
                    tool,
                    "s1",
                    &format!("h{i}"),
                    T0_NS + i * step_s * 1_000_000_000,
                    10 * MS_NS,
                    &[],
                )
            })
            .collect()
    };
    let mut spans = every("search", 10, 0, 3_600);
    spans.extend(every("lookup", 30, 0, 600));
    spans.extend(every("lookup", 30, 1_500, 3_600));
    let report = report_of(spans);
    let fired = alerts(&report);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].kind, Kind::Silent);
    assert_eq!(fired[0].subject, "lookup");
    assert_eq!(fired[0].from_ns, T0_NS + 570 * 1_000_000_000 + 10 * MS_NS);
    assert_eq!(fired[0].to_ns, T0_NS + 1_500 * 1_000_000_000);
}

/// A session's calls `(tool, hash, failed)` in order, a millisecond apart from `from`.
fn calls_in(session: &str, from: u64, calls: &[(&str, &str, bool)]) -> Vec<Value> {
    calls
        .iter()
        .enumerate()
        .map(|(i, (tool, hash, failed))| {
            let error = failed.then(|| ("error.type", json!("tool_error")));
            tool_call(
                tool,
                session,
                hash,
                from + i as u64 * MS_NS,
                MS_NS / 2,
                &Vec::from_iter(error),
            )
        })
        .collect()
}

#[test]
fn retry_loops_from_hashes_and_order() {
    // The sequence: A, A, other tool, A, A, B, A, A (runs 1, 2, 3, 4, 1, 1,
    // 2 of `search`); in another session three identical failing calls (1, 2, 3).
    let a = ("search", "a", false);
    let mut spans = calls_in(
        "s1",
        at(0),
        &[
            a,
            a,
            ("fetch", "a", false),
            a,
            a,
            ("search", "b", false),
            a,
            a,
        ],
    );
    spans.extend(calls_in("s2", at(1), &[("deploy", "d", true); 3]));
    // Two sessions alternating the same call: no run is longer than one session's.
    spans.extend(calls_in("s3", at(2), &[("fetch", "f", false); 2]));
    spans.extend(calls_in(
        "s4",
        at(2) + MS_NS / 4,
        &[("fetch", "f", false); 2],
    ));
    let report = report_of(spans);
    let search = &report.tools["search"].runs;
    assert_eq!(
        (search.longest, search.loops, search.looping_scopes()),
        (4, 1, 1)
    );
    // The run's four calls (1 to 4), none failed.
    assert_eq!((search.looping_calls, search.looping_failed), (4, 0));
    assert_eq!(report.tools["fetch"].runs.longest, 2);
    assert_eq!(
        alerts(&report),
        vec![
            Alert {
                kind: Kind::RetryLoop,
                subject: "search".into(),
                from_ns: at(0),
                to_ns: at(0) + 4 * MS_NS + MS_NS / 2,
                value: 4.0,
                threshold: 3.0,
                part: 0,
                whole: 4,
            },
            Alert {
                kind: Kind::RetryLoop,
                subject: "deploy".into(),
                from_ns: at(1),
                to_ns: at(1) + 2 * MS_NS + MS_NS / 2,
                value: 3.0,
                threshold: 3.0,
                part: 3,
                whole: 3,
            },
        ]
    );
    let text = mcp_trace_cli::render::text(&report);
    assert!(
        text.contains("  retry-loop       deploy: called with the same arguments 3 times in a row at most (3 or more: 1 run(s) in 1 session(s) or trace(s)); 3 of the 3 looping calls failed; from "),
        "{text}"
    );
    assert!(
        text.contains("  deploy retry loops: 1 run(s) of identical calls in a row, the longest 3, in 1 session(s) or trace(s); 3 of their 3 calls failed\n"),
        "{text}"
    );
    let json = mcp_trace_cli::render::json(&report);
    let deploy = json["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "deploy")
        .unwrap();
    assert_eq!(
        deploy["runs"],
        json!({"longest": 3, "loops": 1, "loopingScopes": 1, "loopingCalls": 3, "loopingFailed": 3})
    );
    // A higher threshold: no loop.
    let mut report = Report::new(Settings {
        retry_threshold: 5,
        ..Settings::default()
    });
    report
        .read(file(calls_in("s2", at(1), &[("deploy", "d", true); 4])).as_bytes())
        .unwrap();
    report.finish();
    assert_eq!(alerts(&report), vec![]);
    assert_eq!(report.tools["deploy"].runs.longest, 4);
}

#[test]
fn retry_loops_from_the_libraries_own_count() {
    // Sampled at a third: the library counted runs 1 to 6, the file holds places 2 and
    // 5 of the run, and a new run's place 1. The run is a loop (5 ≥ 3) once.
    let placed = |place: i64, start: u64, failed: bool| {
        let mut extra = vec![("mcp.tool.call.repeat_run", json!(place))];
        if failed {
            extra.push(("error.type", json!("tool_error")));
        }
        tool_call("search", "s1", "a", start, MS_NS, &extra)
    };
    let mut spans = vec![
        placed(2, at(0), true),
        placed(5, at(0) + 10 * MS_NS, true),
        placed(1, at(0) + 20 * MS_NS, false),
    ];
    // Another session's concurrent identical calls, written as they ended: places 3,
    // 2, 4 are one run, one loop.
    for (place, ms) in [(3, 30), (2, 31), (4, 32)] {
        let extra = [("mcp.tool.call.repeat_run", json!(place))];
        spans.push(tool_call(
            "search",
            "s2",
            "a",
            at(0) + ms * MS_NS,
            MS_NS,
            &extra,
        ));
    }
    let report = report_of(spans);
    let runs = &report.tools["search"].runs;
    assert_eq!((runs.longest, runs.loops, runs.looping_scopes()), (5, 2, 2));
    // The calls of the runs in the file: two (both failed) and three.
    assert_eq!((runs.looping_calls, runs.looping_failed), (5, 2));
    let fired = alerts(&report);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].kind, fired[0].from_ns, fired[0].to_ns),
        (Kind::RetryLoop, at(0), at(0) + 33 * MS_NS)
    );
}
