//! When nothing records, nothing is computed: no serialization, hashing or validation.
#![cfg(feature = "enable")]

use mcp_trace::traced_tool;
use std::sync::atomic::{AtomicUsize, Ordering};

static SERIALIZED: AtomicUsize = AtomicUsize::new(0);

/// Counts every time its JSON is computed.
pub struct Watched(String);

impl serde::Serialize for Watched {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SERIALIZED.fetch_add(1, Ordering::SeqCst);
        serializer.serialize_str(&self.0)
    }
}

static URI_BUILT: AtomicUsize = AtomicUsize::new(0);

fn counted_uri(page: &str) -> String {
    URI_BUILT.fetch_add(1, Ordering::SeqCst);
    format!("docs://{page}")
}

#[traced_tool]
fn watched(value: Watched, n: u32) -> usize {
    value.0.len() + n as usize
}

#[mcp_trace::traced_resource(uri = counted_uri(page))]
fn page(page: &str) -> String {
    page.to_owned()
}

#[test]
fn no_provider_and_sampled_out_compute_nothing() {
    // 1. No SDK at all: the global no-op provider.
    assert_eq!(watched(Watched("abc".into()), 1), 4);
    assert_eq!(page("intro"), "intro");
    assert_eq!(SERIALIZED.load(Ordering::SeqCst), 0);
    assert_eq!(URI_BUILT.load(Ordering::SeqCst), 0);

    // 2. An SDK whose sampler drops everything.
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider);
    // Traced calls already ran: tell them the provider changed (see `tracer_cache.rs`
    // for what happens without this).
    mcp_trace::provider_changed();
    assert_eq!(watched(Watched("abc".into()), 1), 4);
    assert_eq!(page("intro"), "intro");
    assert_eq!(SERIALIZED.load(Ordering::SeqCst), 0);
    assert_eq!(URI_BUILT.load(Ordering::SeqCst), 0);
    assert!(exporter.get_finished_spans().unwrap().is_empty());

    // 3. Recording: now the value is serialized (shape via serde, and again for the hash).
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider);
    mcp_trace::provider_changed();
    watched(Watched("abc".into()), 1);
    page("intro");
    assert!(SERIALIZED.load(Ordering::SeqCst) > 0);
    assert_eq!(URI_BUILT.load(Ordering::SeqCst), 1);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 2);
}
