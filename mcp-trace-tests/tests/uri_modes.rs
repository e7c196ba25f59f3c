//! `#[traced_resource(uri_mode = …)]`: what a resource's span exports of its URI, and the
//! bound on the URI when it is exported in full.
#![cfg(feature = "enable")]

mod common;

use common::{attrs, capture, expect, only};
use mcp_trace::traced_resource;
use opentelemetry::{KeyValue, Value};

#[traced_resource(
    uri = "users://{email}/profile",
    name = "profile",
    uri_mode = "template"
)]
fn profile_template(email: &str) -> String {
    format!("profile of {} bytes", email.len())
}

#[traced_resource(uri = "users://{email}/profile", name = "profile", uri_mode = "digest")]
fn profile_digest(email: &str) -> String {
    format!("profile of {} bytes", email.len())
}

#[traced_resource(uri = "users://{email}/profile", name = "profile", uri_mode = "full")]
fn profile_full(email: &str) -> String {
    format!("profile of {} bytes", email.len())
}

/// No `uri_mode`: the process-wide mode, full by default (the convention's default).
#[traced_resource(uri = "blob://{key}", name = "blob")]
fn blob(key: &str) -> usize {
    key.len()
}

fn base(length: i64) -> Vec<KeyValue> {
    vec![
        KeyValue::new("mcp.method.name", "resources/read"),
        KeyValue::new("mcp.resource.name", "profile"),
        KeyValue::new("mcp.resource.template", "users://{email}/profile"),
        KeyValue::new("mcp.resource.content.length", length),
    ]
}

const EMAIL: &str = "ada.canary@example.com";

#[test]
fn template_mode_exports_no_uri_at_all() {
    let (content, spans) = capture(|| profile_template(EMAIL));
    let span = only(spans);
    assert_eq!(span.name, "resources/read");
    assert_eq!(attrs(&span), expect(base(content.chars().count() as i64)));
}

#[test]
fn digest_mode_exports_a_keyed_digest_of_the_uri() {
    let (content, spans) = capture(|| profile_digest(EMAIL));
    let span = only(spans);
    let uri = "users://ada.canary%40example.com/profile";
    let digest = mcp_trace::resource_uri_digest(uri);
    assert_eq!(digest.len(), 32);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
    let mut expected = base(content.chars().count() as i64);
    expected.push(KeyValue::new("mcp.resource.uri_digest", digest.clone()));
    assert_eq!(attrs(&span), expect(expected));

    // The same URI read again digests the same; another URI differently.
    let (_, again) = capture(|| profile_digest(EMAIL));
    let (_, other) = capture(|| profile_digest("grace@example.com"));
    let digest_of = |span: &opentelemetry_sdk::trace::SpanData| {
        attrs(span).get("mcp.resource.uri_digest").cloned()
    };
    assert_eq!(digest_of(&only(again)), Some(Value::from(digest.clone())));
    assert_ne!(digest_of(&only(other)), Some(Value::from(digest)));
}

#[test]
fn full_mode_exports_the_uri() {
    let (content, spans) = capture(|| profile_full(EMAIL));
    let mut expected = base(content.chars().count() as i64);
    expected.push(KeyValue::new(
        "mcp.resource.uri",
        "users://ada.canary%40example.com/profile",
    ));
    assert_eq!(attrs(&only(spans)), expect(expected));
}

#[test]
fn a_ten_megabyte_uri_is_cut_to_the_bound_and_marked() {
    let key = "é".repeat(5 << 20); // 10 MB of two-byte characters
    let (length, spans) = capture(|| blob(&key));
    assert_eq!(length, key.len());
    let span = only(spans);
    let attrs = attrs(&span);
    let Some(Value::String(uri)) = attrs.get("mcp.resource.uri") else {
        panic!("no mcp.resource.uri: {attrs:?}");
    };
    let uri = uri.as_str();
    assert!(uri.len() <= mcp_trace::MAX_URI_BYTES, "{} bytes", uri.len());
    assert!(
        uri.len() > mcp_trace::MAX_URI_BYTES - 8,
        "{} bytes",
        uri.len()
    );
    assert!(uri.starts_with("blob://%C3%A9"), "{}", &uri[..32]);
    assert!(uri.ends_with('…'));
    assert_eq!(
        attrs.get(mcp_trace::TRUNCATED_KEY),
        Some(&Value::Array(opentelemetry::Array::String(vec![
            opentelemetry::StringValue::from("mcp.resource.uri")
        ])))
    );
}
