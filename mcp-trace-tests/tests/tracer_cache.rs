//! The tracer is cached per thread: a provider installed after traced calls ran is
//! used at once after `provider_changed()`, and within 1 024 calls per thread without
//! it; a provider shut down stops costing anything.
#![cfg(feature = "enable")]

use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

#[mcp_trace::traced_tool]
fn ping(n: u32) -> u32 {
    n + 1
}

fn install() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    (provider, exporter)
}

fn spans(exporter: &InMemorySpanExporter) -> usize {
    exporter.get_finished_spans().unwrap().len()
}

#[test]
fn the_cached_tracer_follows_the_global_provider() {
    // No SDK: this thread learns there is nothing to record into.
    for n in 0..10 {
        assert_eq!(ping(n), n + 1);
    }

    // Installed behind the cache's back: picked up within 1 024 calls on this thread.
    let (first, exporter) = install();
    let mut missed = 0;
    while spans(&exporter) == 0 {
        ping(0);
        missed += 1;
        assert!(
            missed <= 1024,
            "the new provider was not picked up in 1 024 calls"
        );
    }
    assert!(
        missed > 1,
        "the cache was not used: the provider was read on every call"
    );

    // Replaced, and said so: the very next call uses the new provider.
    let (second, replacement) = install();
    mcp_trace::provider_changed();
    ping(1);
    assert_eq!(spans(&replacement), 1);
    let before = spans(&exporter);
    ping(2);
    assert_eq!(spans(&exporter), before, "the old provider still got spans");
    assert_eq!(spans(&replacement), 2);

    // A fresh thread reads the global provider on its first call.
    std::thread::spawn(|| ping(3)).join().unwrap();
    assert_eq!(spans(&replacement), 3);

    // Shut down (the in-memory exporter forgets its spans then): calls record nothing
    // and do not panic.
    second.shutdown().unwrap();
    assert_eq!(spans(&replacement), 0);
    for n in 0..10 {
        assert_eq!(ping(n), n + 1);
    }
    assert_eq!(spans(&replacement), 0);
    drop(first);
}
