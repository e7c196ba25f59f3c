//! The standard sampler variables (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`)
//! reach the provider `mcp_trace::init()` installs.
//!
//! The environment must be set before `init()` builds the provider, and changing a
//! running process's environment is not safe, so each case re-runs this test binary
//! as a child process (the ignored `child` test) with the variables set, spans going
//! to an OTLP/JSON lines file through the embedded exporter, and counts what it wrote.
#![cfg(all(feature = "enable", feature = "args-shape"))]

use mcp_trace::traced_tool;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the child: which calls to make.
const CHILD: &str = "MCP_TRACE_SAMPLER_TEST_CHILD";
/// Root calls (no parent) per child.
const ROOTS: u64 = 4_000;
/// Calls under a `_meta` traceparent per child, half of them flagged sampled.
const REMOTE: u64 = 1_000;

#[traced_tool]
fn sampled(i: u64) -> u64 {
    i
}

/// xorshift64*: the remote parents' ids, the same in the child and the parent.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Call `i`'s remote parent: `(trace id, span id, sampled flag)`, for `i` ≥ [`ROOTS`].
fn remote_parent(i: u64) -> (String, String, bool) {
    let mut state = 0x5eed_0000_0000_0001 ^ i;
    let trace = format!("{:016x}{:016x}", next(&mut state) | 1, next(&mut state));
    let span = format!("{:016x}", next(&mut state) | 1);
    (trace, span, i.is_multiple_of(2))
}

/// Whether `TraceIdRatioBased(ratio)` samples `trace_id`: its low 64 bits, shifted
/// right once, below `ratio · 2^63` (the SDK's rule).
fn ratio_samples(trace_id: &str, ratio: f64) -> bool {
    let low = u64::from_str_radix(&trace_id[16..], 16).unwrap();
    (low >> 1) < (ratio * (1u64 << 63) as f64) as u64
}

/// The child: installs tracing with `init()`, exactly as a server does, makes
/// [`ROOTS`] root calls and [`REMOTE`] calls under remote parents, then drops the
/// guard (which flushes).
#[test]
#[ignore = "run in a child process by the sampler tests, with the environment under test"]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        eprintln!("not started by a sampler test: nothing to do");
        return;
    }
    let guard = mcp_trace::init();
    assert!(guard.is_active(), "init() installed a provider");
    let file = std::env::var_os("MCP_TRACE_FILE").unwrap();
    assert_eq!(guard.file_path(), Some(Path::new(&file)));
    for i in 0..ROOTS {
        assert_eq!(sampled(i), i);
    }
    for i in ROOTS..ROOTS + REMOTE {
        let (trace, span, sampled_flag) = remote_parent(i);
        let flags = if sampled_flag { "01" } else { "00" };
        let value = mcp_trace::scope()
            .traceparent(format!("00-{trace}-{span}-{flags}"))
            .run_sync(|| sampled(i));
        assert_eq!(value, i);
    }
    drop(guard);
}

/// One exported span: its trace id and parent span id (hex, empty for a root).
#[derive(Debug)]
struct Exported {
    trace_id: String,
    parent_span_id: String,
}

/// Runs [`child`] with `sampler` set and returns its spans by call number.
fn run_child(case: &str, sampler: &[(&str, &str)]) -> BTreeMap<u64, Exported> {
    let dir = std::env::temp_dir().join(format!("mcp-trace-sampler-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("spans.jsonl");
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["child", "--exact", "--include-ignored", "--test-threads=1"])
        .env(CHILD, case)
        .env("MCP_TRACE_FILE", &file)
        // Room for every span of the child in the batch queue (default 2 048), so
        // none is dropped however slowly the file is written.
        .env("OTEL_BSP_MAX_QUEUE_SIZE", "16384")
        // Spans only: this test counts what the sampler keeps.
        .env("OTEL_METRICS_EXPORTER", "none");
    for name in [
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
    ] {
        command.env_remove(name);
    }
    command.envs(sampler.iter().copied());
    let output = command.output().expect("test binary re-runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let spans = read_spans(&file);
    let _ = std::fs::remove_dir_all(&dir);
    spans
}

fn read_spans(file: &PathBuf) -> BTreeMap<u64, Exported> {
    let text = std::fs::read_to_string(file).expect("the exporter created the span file");
    let mut spans = BTreeMap::new();
    for line in text.lines() {
        let request: Value = serde_json::from_str(line).expect("one JSON request per line");
        for resource in request["resourceSpans"].as_array().unwrap() {
            for scope in resource["scopeSpans"].as_array().unwrap() {
                for span in scope["spans"].as_array().unwrap() {
                    assert_eq!(span["name"], "tools/call sampled");
                    let i: u64 = span["attributes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|kv| kv["key"] == "mcp.tool.args.i")
                        .and_then(|kv| kv["value"]["intValue"].as_str())
                        .expect("the call number")
                        .parse()
                        .unwrap();
                    let exported = Exported {
                        trace_id: span["traceId"].as_str().unwrap().to_owned(),
                        parent_span_id: span["parentSpanId"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    };
                    assert!(spans.insert(i, exported).is_none(), "call {i} twice");
                }
            }
        }
    }
    spans
}

/// Root calls recorded: the rule holds for each, and about a quarter are.
fn check_roots(spans: &BTreeMap<u64, Exported>, ratio: f64) {
    let roots: Vec<_> = spans.range(..ROOTS).collect();
    for (i, span) in &roots {
        assert!(
            ratio_samples(&span.trace_id, ratio),
            "call {i} recorded, but trace {} is outside the ratio",
            span.trace_id
        );
        assert_eq!(span.parent_span_id, "", "call {i} is a root");
    }
    let share = roots.len() as f64 / ROOTS as f64;
    assert!(
        (0.20..=0.30).contains(&share),
        "{} of {ROOTS} root calls recorded",
        roots.len()
    );
}

#[test]
fn traceidratio_records_a_quarter_by_trace_id() {
    let spans = run_child(
        "traceidratio",
        &[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ],
    );
    check_roots(&spans, 0.25);
    // Not parent-based: a remote parent's flag does not matter, its trace id does.
    for i in ROOTS..ROOTS + REMOTE {
        let (trace, span, _) = remote_parent(i);
        let recorded = spans.get(&i);
        assert_eq!(recorded.is_some(), ratio_samples(&trace, 0.25), "call {i}");
        if let Some(recorded) = recorded {
            assert_eq!(
                (&recorded.trace_id, &recorded.parent_span_id),
                (&trace, &span)
            );
        }
    }
}

#[test]
fn parentbased_traceidratio_follows_the_remote_parent() {
    let spans = run_child(
        "parentbased_traceidratio",
        &[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ],
    );
    check_roots(&spans, 0.25);
    for i in ROOTS..ROOTS + REMOTE {
        let (trace, span, sampled_flag) = remote_parent(i);
        match spans.get(&i) {
            Some(recorded) => {
                assert!(sampled_flag, "call {i} under an unsampled parent recorded");
                assert_eq!(
                    (&recorded.trace_id, &recorded.parent_span_id),
                    (&trace, &span)
                );
            }
            None => assert!(!sampled_flag, "call {i} under a sampled parent dropped"),
        }
    }
}

#[test]
fn always_off_records_nothing() {
    let spans = run_child("always_off", &[("OTEL_TRACES_SAMPLER", "always_off")]);
    assert_eq!(spans.len(), 0, "calls {:?} recorded", spans.keys());
}

#[test]
fn without_a_sampler_variable_every_call_is_recorded() {
    // The control: the same child, same file exporter, no sampler variable.
    let spans = run_child("default", &[]);
    assert_eq!(
        spans.len() as u64,
        ROOTS + REMOTE / 2,
        "{} recorded",
        spans.len()
    );
    assert_eq!(spans.range(..ROOTS).count() as u64, ROOTS);
}
