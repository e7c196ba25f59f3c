//! `mcp-trace probe`, end to end: a healthy server made with the official Python SDK
//! (both protocol eras), and servers that fail each way a probe must tell apart — one
//! that exits, one that hangs, one that writes garbage, a tool that fails. Each run is
//! one trace (a root span, a CLIENT span per step), the exit status says up or down, the
//! failing step is named, and `mcp.probe.up` is on the metric file. A hanging server
//! never hangs the probe.
#![cfg(feature = "proxy")]

mod proxy_support;

use proxy_support::{PROXY, Scratch, metric_points, python, python_server, spans};
use serde_json::json;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn probe(scratch: &Scratch, flags: &[&str], server: &[&str]) -> Output {
    Command::new(PROXY)
        .arg("probe")
        .args(flags)
        .arg("--")
        .args(server)
        .env("MCP_TRACE_FILE", scratch.0.join("spans.jsonl"))
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER")
        .stdin(Stdio::null())
        .output()
        .expect("the probe runs")
}

/// The last value of `mcp.probe.up` in the metric file.
fn up(scratch: &Scratch) -> Option<i64> {
    let points = metric_points(&scratch.0.join("spans.metrics.jsonl"), "mcp.probe.up");
    let last = &points.last()?["asInt"];
    last.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| last.as_i64())
}

#[test]
fn a_healthy_server_is_up_in_both_eras() {
    let Some(python) = python() else { return };
    let server = python_server();
    let server = [
        python.to_str().expect("a path"),
        server.to_str().expect("a path"),
    ];
    for (protocol, opening) in [
        ("2025-11-25", "initialize"),
        ("2026-07-28", "server/discover"),
    ] {
        let scratch = Scratch::new(&format!("probe-up-{}", &protocol[..4]));
        let out = probe(
            &scratch,
            &[
                "--protocol",
                protocol,
                "--name",
                "docs",
                "--call",
                "search_documents",
                "--arguments",
                r#"{"query": "SECRET"}"#,
            ],
            &server,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing on stdout");
        assert!(stderr.contains("docs up (py-docs"), "{stderr}");
        let exported = std::fs::read_to_string(scratch.0.join("spans.jsonl")).expect("spans");
        assert!(!exported.contains("SECRET"));
        let (spans, services) = spans(&scratch.0.join("spans.jsonl"));
        assert!(
            services.iter().all(|s| s == "mcp-trace-probe"),
            "{services:?}"
        );
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [opening, "tools/list", "tools/call", "probe docs"],
            "{spans:#?}"
        );
        let root = &spans[3];
        assert_eq!(root.kind, 1, "INTERNAL");
        assert_eq!(root.parent, "");
        assert_eq!(
            root.attributes,
            [
                ("mcp.probe.target", json!("docs")),
                ("mcp.probe.up", json!(true))
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
        );
        for (n, step) in spans[..3].iter().enumerate() {
            assert_eq!(step.kind, 3, "CLIENT");
            assert_eq!(
                (step.trace.as_str(), step.parent.as_str()),
                (root.trace.as_str(), root.id.as_str())
            );
            assert_eq!(
                step.attributes["jsonrpc.request.id"],
                json!((n + 1).to_string())
            );
            assert_eq!(step.status, 0);
        }
        assert_eq!(up(&scratch), Some(1));
        let report = report(&scratch);
        let text = String::from_utf8_lossy(&report.stdout);
        assert_eq!(report.status.code(), Some(0), "no alert: {text}");
    }
}

/// Each way down: the status is 1, the failing step and its reason are named (on
/// stderr, on the root span and as the step's `error.type`), the gauge is 0.
#[test]
fn a_server_down_is_told_apart_by_step_and_reason() {
    let python = python();
    let python_step = python.as_ref().map(|python| {
        let server = python_server();
        (
            vec![
                python.to_str().expect("a path").to_owned(),
                server.to_str().expect("a path").to_owned(),
            ],
            vec![
                "--call",
                "always_fails",
                "--arguments",
                r#"{"reason": "x"}"#,
            ],
            "tools/call always_fails",
            "tool_error",
        )
    });
    let sh = |script: &str| vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    let mut cases = vec![
        (sh("exit 3"), vec![], "initialize", "transport_closed"),
        (
            sh("sleep 30"),
            vec!["--timeout", "1s"],
            "initialize",
            "timeout",
        ),
        (
            sh("echo garbage; sleep 30"),
            vec![],
            "initialize",
            "invalid_json",
        ),
        (
            sh(
                r#"read line; echo '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"SECRET"}}'; sleep 30"#,
            ),
            vec![],
            "initialize",
            "-32603",
        ),
        (
            vec!["/nonexistent/server".to_owned()],
            vec![],
            "start",
            "cannot_start",
        ),
        // A code that is no number: never exported, whatever it holds.
        (
            sh(
                r#"read line; echo '{"jsonrpc":"2.0","id":1,"error":{"code":"SECRET","message":"x"}}'; sleep 30"#,
            ),
            vec![],
            "initialize",
            "invalid_response",
        ),
        // Writes on and on, never answering: the step's deadline still holds.
        (
            sh(r#"while true; do echo '{"jsonrpc":"2.0","method":"notifications/message"}'; done"#),
            vec!["--timeout", "1s"],
            "initialize",
            "timeout",
        ),
    ];
    cases.extend(python_step);
    for (n, (server, flags, step, reason)) in cases.into_iter().enumerate() {
        let scratch = Scratch::new(&format!("probe-down-{n}"));
        let server: Vec<&str> = server.iter().map(String::as_str).collect();
        let started = Instant::now();
        let out = probe(&scratch, &flags, &server);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "a hanging server hung the probe"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{server:?}: {stderr}");
        assert!(
            stderr.contains(&format!("down at {step}: {reason}")),
            "{server:?}: {stderr}"
        );
        let exported = std::fs::read_to_string(scratch.0.join("spans.jsonl")).expect("spans");
        assert!(
            !exported.contains("SECRET"),
            "the server's message was exported"
        );
        let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
        let root = spans
            .iter()
            .find(|s| s.name.starts_with("probe "))
            .expect("the root span");
        assert_eq!(root.status, 2);
        assert_eq!(root.attributes["mcp.probe.up"], json!(false));
        assert_eq!(root.attributes["mcp.probe.failed_step"], json!(step));
        assert_eq!(root.attributes["error.type"], json!(reason));
        // The step's own span says why it ended, as the root does (a JSON-RPC error
        // answer ends it with the code; an in-band tool error is a result).
        if step != "start" && reason != "tool_error" && reason != "invalid_response" {
            let method = step.split(' ').next().unwrap_or(step);
            let span = spans
                .iter()
                .find(|s| s.name == method)
                .expect("the step's span");
            assert_eq!(span.kind, 3);
            assert_eq!(span.attributes["error.type"], json!(reason), "{span:#?}");
        }
        assert_eq!(up(&scratch), Some(0));
        // The report raises what tracing alone cannot: the server is down.
        let report = report(&scratch);
        assert_eq!(report.status.code(), Some(1), "an alert");
        let text = String::from_utf8_lossy(&report.stdout);
        let target = server[0].rsplit('/').next().unwrap_or_default();
        assert!(
            text.contains(&format!("probe-down       {target}: the probe found it down at {step}: {reason}, 1 run(s) in a row (1 runs in all)")),
            "{text}"
        );
    }
}

fn report(scratch: &Scratch) -> Output {
    Command::new(PROXY)
        .arg("report")
        .arg(scratch.0.join("spans.jsonl"))
        .output()
        .expect("the report runs")
}

/// What a server starts is ended with it: a grandchild holding the server's stdout
/// neither hangs the probe nor outlives the run.
#[test]
fn what_the_server_started_is_ended_with_it() {
    let scratch = Scratch::new("probe-group");
    let pidfile = scratch.0.join("grandchild.pid");
    let script = format!("sleep 300 & echo $! > {}; exit 3", pidfile.display());
    let started = Instant::now();
    let out = probe(&scratch, &["--timeout", "1s"], &["sh", "-c", &script]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "hung on the grandchild"
    );
    assert_eq!(out.status.code(), Some(1));
    let pid = std::fs::read_to_string(&pidfile).expect("the grandchild's pid");
    std::thread::sleep(Duration::from_millis(200));
    // Ended: gone, or a zombie its new parent has not reaped yet.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap_or_default();
    let alive = status
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .is_some_and(|state| !state.trim().starts_with('Z'));
    assert!(!alive, "the grandchild outlived the run: {status}");
}

/// With `--interval`, runs until a signal; each run its own trace, the last verdict
/// the exit status.
#[test]
fn an_interval_runs_until_stopped() {
    let scratch = Scratch::new("probe-interval");
    let mut probe = Command::new(PROXY)
        .args(["probe", "--interval", "300ms", "--", "sh", "-c", "exit 3"])
        .env("MCP_TRACE_FILE", scratch.0.join("spans.jsonl"))
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the probe runs");
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-TERM", &probe.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = probe.try_wait().expect("waited") {
            break status;
        }
        assert!(Instant::now() < deadline, "the probe did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1), "the last run's verdict");
    let (spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "probe sh").collect();
    assert!(roots.len() >= 2, "{} runs", roots.len());
    let traces: std::collections::BTreeSet<&str> = roots.iter().map(|r| r.trace.as_str()).collect();
    assert_eq!(traces.len(), roots.len(), "a trace per run");
}

/// A probe in front of the proxy in front of a server nobody here wrote: one trace,
/// the proxy's SERVER span of each step the child of the probe's CLIENT span of it
/// (the probe puts its context in `_meta`, the proxy reads it from there).
#[test]
fn the_probe_and_the_proxy_make_one_trace() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("probe-proxy");
    let proxy_file = scratch.0.join("proxy.jsonl");
    let server = python_server();
    let proxy_env = format!("MCP_TRACE_FILE={}", proxy_file.display());
    let out = probe(
        &scratch,
        &["--ping"],
        &[
            "env",
            &proxy_env,
            PROXY,
            "proxy",
            "--",
            python.to_str().expect("a path"),
            server.to_str().expect("a path"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (probe_spans, _) = spans(&scratch.0.join("spans.jsonl"));
    let (proxy_spans, _) = spans(&proxy_file);
    for step in ["initialize", "tools/list", "ping"] {
        let client = probe_spans
            .iter()
            .find(|s| s.name == step)
            .expect("the probe's span");
        let server = proxy_spans
            .iter()
            .find(|s| s.name == step)
            .expect("the proxy's span");
        assert_eq!((client.kind, server.kind), (3, 2), "CLIENT, SERVER");
        assert_eq!(server.trace, client.trace, "{step}: one trace");
        assert_eq!(
            server.parent, client.id,
            "{step}: the client's span is the parent"
        );
    }
}
