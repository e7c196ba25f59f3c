//! Hostile arguments reached without rmcp: a 2 M-element array of the wrong type,
//! depth 10 000 inside a `Value` parameter, 100 000 keys, every Unicode plane. No panic,
//! no stack overflow, exact attributes, and telemetry's extra memory a small fraction of
//! what the arguments themselves take.
//!
//! The schema-check budget is raised for this binary so the validator itself meets the
//! hostile array (by default arguments that large are skipped, `schema_skipped`).
#![cfg(all(
    feature = "enable",
    feature = "args-shape",
    feature = "args-hash",
    feature = "schema-check"
))]
#![allow(unsafe_code)] // `set_var` below; the library has none

mod common;

use common::counting::{Counting, net, peak, reset_peak};
use common::{attrs, capture, expect, hash, only, tool_base};
use mcp_trace::traced_tool;
use opentelemetry::KeyValue;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time (the allocation counters are process-wide), settings fixed first.
fn exclusive() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    static SETTINGS: std::sync::Once = std::sync::Once::new();
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: under the lock, before this binary's first traced call reads settings.
    SETTINGS.call_once(|| unsafe {
        std::env::set_var("MCP_TRACE_SCHEMA_CHECK_MAX_BYTES", "1073741824");
    });
    guard
}

#[traced_tool]
fn filter(filters: Vec<String>) -> usize {
    filters.len()
}

#[traced_tool]
fn tree(doc: Value) -> usize {
    // Dropping a 10 000-deep value recurses in serde_json's own drop glue: the test owns
    // that cost, not the telemetry, so the handler leaks it.
    std::mem::forget(doc);
    0
}

#[traced_tool]
fn labels(labels: HashMap<String, String>) -> usize {
    labels.len()
}

#[traced_tool]
fn note(text: String) -> usize {
    text.chars().count()
}

fn with_raw<R>(raw: Value, f: impl FnOnce() -> R) -> R {
    mcp_trace::scope().arguments(raw).run_sync(f)
}

#[test]
fn two_million_integers_where_strings_are_expected() {
    let _one = exclusive();
    const N: u64 = 2_000_000;
    let expected_hash = {
        let raw = json!({"filters": (0..N).collect::<Vec<_>>()});
        hash(raw)
    };
    let before_parse = net();
    let raw = json!({"filters": (0..N).collect::<Vec<_>>()});
    let arguments_bytes = net() - before_parse;

    let before_call = reset_peak();
    let (_, spans) = capture(|| with_raw(raw, || filter(Vec::new())));
    let extra = peak() - before_call;
    eprintln!(
        "hostile array: arguments take {arguments_bytes} bytes; the traced call peaked \
         {extra} bytes above them ({:.3}×)",
        extra as f64 / arguments_bytes as f64
    );
    assert!(
        extra * 10 <= arguments_bytes * 3,
        "telemetry peaked at {extra} bytes over {arguments_bytes} bytes of arguments"
    );

    let mut expected = tool_base("filter");
    expected.extend([
        KeyValue::new("mcp.tool.args.filters.count", N as i64),
        expected_hash,
        KeyValue::new("mcp.tool.args.schema_valid", false),
        KeyValue::new("mcp.tool.args.schema_error_path", "/filters/0"),
        KeyValue::new(
            "mcp.tool.args.schema_error_message",
            "value is not of type \"string\"",
        ),
        // No `schema_error_count`: the arguments are over the 16 KiB counting budget.
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));
}

/// `[[[…]]]` nested `depth` deep, built without recursion.
fn nested(depth: usize) -> Value {
    let mut value = json!("leaf");
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

#[test]
fn ten_thousand_levels_inside_a_value_parameter() {
    let _one = exclusive();
    const DEPTH: usize = 10_000;
    // Runs on the harness's own test thread (2 MiB stack by default): any recursion per
    // level in the telemetry would overflow it.
    let (_, spans) = capture(|| tree(nested(DEPTH)));
    // Deeper than the 128 levels serde_json parses: shaped from the reference, but left
    // out of the rebuilt arguments (like a parameter without `Serialize`), so the hash
    // and verdict cover the rest, here nothing.
    let mut expected = tool_base("tree");
    expected.extend([
        KeyValue::new("mcp.tool.args.doc.count", 1),
        hash(json!({})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));

    // At serde_json's own limit the parameter is hashed in full, and the hash streams
    // without recursion: compare with SHA-256 of the canonical text made by another
    // program.
    const PARSEABLE: usize = 127; // the arguments object is one more level
    let (_, spans) = capture(|| tree(nested(PARSEABLE)));
    let got = attrs(&only(spans));
    let mut text = String::from("{\"doc\": ");
    text.push_str(&"[".repeat(PARSEABLE));
    text.push_str("\"leaf\"");
    text.push_str(&"]".repeat(PARSEABLE));
    text.push('}');
    if let Some(reference) = independent_sha256_16(text.as_bytes()) {
        assert_eq!(
            got.get("mcp.tool.args.hash"),
            Some(&opentelemetry::Value::from(reference))
        );
    }
}

/// The first 16 hex characters of SHA-256 of `bytes`, computed outside the library by
/// `sha256sum` or python3; `None` (and a loud message) when neither is present.
fn independent_sha256_16(bytes: &[u8]) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const PY: &str =
        "import hashlib,sys;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())";
    for (program, args) in [("sha256sum", &[][..]), ("python3", &["-c", PY][..])] {
        let Ok(mut child) = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        else {
            continue;
        };
        child.stdin.take()?.write_all(bytes).ok()?;
        let out = child.wait_with_output().ok()?;
        return String::from_utf8(out.stdout)
            .ok()?
            .get(..16)
            .map(str::to_owned);
    }
    eprintln!(
        "\n!!!! SKIPPED: neither sha256sum nor python3 found; deep hash not cross-checked !!!!\n"
    );
    None
}

#[test]
fn a_hundred_thousand_keys() {
    let _one = exclusive();
    const KEYS: usize = 100_000;
    // Typed: a map parameter is counted, its keys never become attribute names.
    let map: HashMap<String, String> = (0..KEYS).map(|i| (format!("k{i}"), "v".into())).collect();
    let (_, spans) = capture(|| labels(map));
    let attrs_typed = attrs(&only(spans));
    assert_eq!(
        attrs_typed.get("mcp.tool.args.labels.count"),
        Some(&opentelemetry::Value::I64(KEYS as i64))
    );
    assert!(
        attrs_typed.keys().all(|k| !k.contains(".k1")),
        "{attrs_typed:?}"
    );

    // Raw: 100 000 client-chosen top-level keys beside the declared one are counted.
    let mut raw = Map::new();
    raw.insert("text".into(), json!("hello"));
    for i in 0..KEYS {
        raw.insert(format!("canary{i}"), json!(i));
    }
    let raw = Value::Object(raw);
    let expected_hash = hash(raw.clone());
    let (_, spans) = capture(|| with_raw(raw, || note("hello".into())));
    let mut expected = tool_base("note");
    expected.extend([
        KeyValue::new("mcp.tool.args.text.length", 5),
        KeyValue::new("mcp.tool.args.undeclared_count", KEYS as i64),
        expected_hash,
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]);
    assert_eq!(attrs(&only(spans)), expect(expected));
}

#[test]
fn every_unicode_plane() {
    let _one = exclusive();
    // One character from each of the 17 planes (plane 0 away from the surrogates).
    let text: String = (0..=16u32)
        .map(|plane| char::from_u32(plane * 0x10000 + 0x4e2d).expect("scalar value"))
        .collect();
    let (length, spans) = capture(|| note(text.clone()));
    assert_eq!(length, 17);
    let mut expected = tool_base("note");
    expected.extend([
        KeyValue::new("mcp.tool.args.text.length", 17),
        hash(json!({"text": text})),
        KeyValue::new("mcp.tool.args.schema_valid", true),
    ]);
    let got = attrs(&only(spans));
    for (key, value) in expect(expected) {
        assert_eq!(got.get(&key), Some(&value), "{key}");
    }
}
