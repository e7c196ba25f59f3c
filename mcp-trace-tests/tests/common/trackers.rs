//! Measuring the session trackers (duplicate reads, runs of identical calls): the tests
//! of a binary share the global provider, the trackers and the allocation counter, so
//! they take turns.

use mcp_trace::session::{self, ReadTrackerLimits};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// This test's turn: a provider with `sampler` that exports nothing, and the trackers
/// capped at `max_pairs` (idle after an hour).
pub fn exclusive(sampler: Sampler, max_pairs: usize) -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let provider = SdkTracerProvider::builder().with_sampler(sampler).build();
    opentelemetry::global::set_tracer_provider(provider);
    mcp_trace::provider_changed();
    session::set_limits(ReadTrackerLimits {
        max_pairs,
        idle: Duration::from_secs(3600),
    });
    guard
}
