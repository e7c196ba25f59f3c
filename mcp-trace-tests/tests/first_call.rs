//! The first call of a handler does not carry the schema validator's compilation in its
//! span: the validator is compiled before the span starts. (Its own test binary, so no
//! other test compiles this schema first.)
#![cfg(all(feature = "enable", feature = "schema-check"))]

mod common;

use common::{capture, only};
use mcp_trace::traced_tool;
use std::time::SystemTime;

#[traced_tool(schema = "tests/schemas/first_call.json")]
fn order(email: &str, sku: &str, note: Option<&str>) -> usize {
    email.len() + sku.len() + note.map_or(0, str::len)
}

#[test]
fn the_first_calls_span_excludes_compiling_the_validator() {
    common::exporter(); // the provider, installed before the clock starts
    let before = SystemTime::now();
    let (_, spans) = capture(|| order("ada@example.com", "ABC-1234", Some("fast")));
    let span = only(spans);
    // Compiling three regular expressions and the schema happens between `before` and
    // the span's start; the span itself is only the handler and its attributes.
    let before_span = span.start_time.duration_since(before).unwrap_or_default();
    let span_took = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    eprintln!("before the span: {before_span:?}; the span: {span_took:?}");
    assert!(
        span_took < before_span,
        "the span ({span_took:?}) should not contain the compilation ({before_span:?})"
    );
}
