//! Events the observer adds to a request's span (what the server told the client while
//! it worked), bounded per span.

use crate::keys;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanRef;
use std::sync::atomic::{AtomicU32, Ordering};

/// Most events the observer adds to one span; past it they are counted in
/// `mcp.events.dropped` on the span instead (a server that sends a million progress
/// notifications in one call must not make a million events).
pub(crate) const MAX_EVENTS_PER_SPAN: u32 = 64;

/// The events of one request's span: how many were added, how many left out.
#[derive(Debug, Default)]
pub(crate) struct EventCount {
    added: AtomicU32,
    dropped: AtomicU32,
}

impl EventCount {
    /// Whether one more event may be added; if not, it is counted as dropped.
    pub(crate) fn admit(&self) -> bool {
        let admitted = self
            .added
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_EVENTS_PER_SPAN).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    /// Sets `mcp.events.dropped` on `span` as it ends, when any event was left out.
    pub(crate) fn note_dropped(&self, span: &SpanRef<'_>) {
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            span.set_attribute(KeyValue::new(keys::EVENTS_DROPPED, i64::from(dropped)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_events_are_counted_not_added() {
        let count = EventCount::default();
        let admitted = (0..MAX_EVENTS_PER_SPAN + 10)
            .filter(|_| count.admit())
            .count();
        assert_eq!(admitted, MAX_EVENTS_PER_SPAN as usize);
        assert_eq!(count.dropped.load(Ordering::Relaxed), 10);
    }
}
