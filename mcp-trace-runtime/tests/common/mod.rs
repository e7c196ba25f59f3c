//! What the wire observer's tests share: one global SDK provider with the in-memory
//! exporter per test binary, and the observer fed `serde_json` values.
#![allow(dead_code)] // each test file uses its part

use mcp_trace_runtime::wire::{Observer, Sender};
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::SystemTime;

pub fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider);
        mcp_trace_runtime::provider_changed();
        exporter
    })
}

pub fn attributes(span: &SpanData) -> BTreeMap<String, Value> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect()
}

/// Shows `message`, sent by `from`, to `observer`, as read now.
pub fn send(observer: &Observer, from: Sender, message: serde_json::Value) {
    observer.observe(from, message.to_string().as_bytes(), SystemTime::now());
}
