//! Context cost: what a tool call puts into the model's context, in bytes of JSON.
//!
//! A tool call's span records the size of the result the client receives
//! (`mcp.tool.result.size`). The result is known only once the handler has returned,
//! after a traced handler has ended its span; so while an adapter serves a `tools/call`
//! it holds the end of the span made in its scope, measures the result, and ends the
//! span then, at the time the handler had ended it. Measured only when the span
//! records, by counting the JSON as it would be written (nothing kept), and only up to
//! [`MAX_MEASURED_RESULT`]: a larger result is marked `too_large`, not measured on.

use crate::keys;
use crate::scope::ActiveScope;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// Bytes of a result's JSON measured at most: the cost of measuring stops there.
pub(crate) const MAX_MEASURED_RESULT: usize = 1 << 20;

/// The end of a request's span, held until its result is measured.
#[derive(Debug, Default)]
pub(crate) struct HeldEnd {
    /// Whether the adapter will measure the result (set before the handler runs).
    wanted: AtomicBool,
    held: Mutex<Option<Held>>,
}

/// A recording span whose end waits; dropped, it ends at the time it was given.
#[derive(Debug)]
struct Held {
    cx: Context,
    end: Option<SystemTime>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let span = self.cx.span();
        match self.end {
            Some(end) => span.end_with_timestamp(end),
            None => span.end(),
        }
    }
}

impl HeldEnd {
    /// Asks the span made in this scope to wait for the result before it ends.
    pub(crate) fn want(&self) {
        self.wanted.store(true, Ordering::Relaxed);
    }

    /// Holds the end of the span in `cx` (at `end`), if wanted: `false` when the
    /// caller must end it now.
    pub(crate) fn hold(&self, cx: &Context, end: Option<SystemTime>) -> bool {
        if !self.wanted.load(Ordering::Relaxed) {
            return false;
        }
        let held = Held {
            cx: cx.clone(),
            end,
        };
        let earlier = self
            .held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .replace(held);
        drop(earlier);
        true
    }

    fn take(&self) -> Option<Held> {
        self.wanted.store(false, Ordering::Relaxed);
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

/// Records the size of the result `complete` (`None`: no result to measure, an error
/// or an answer that asks for input) on the span held in `scope`, and ends it.
pub(crate) fn result_measured<T: serde::Serialize + ?Sized>(
    scope: &ActiveScope,
    complete: Option<&T>,
) {
    let Some(held) = scope.held_end.take() else {
        return;
    };
    if let Some(result) = complete {
        let size = crate::bounds::json_size(result, MAX_MEASURED_RESULT);
        let attribute = if size < MAX_MEASURED_RESULT {
            KeyValue::new(
                keys::TOOL_RESULT_SIZE,
                i64::try_from(size).unwrap_or(i64::MAX),
            )
        } else {
            KeyValue::new(keys::TOOL_RESULT_SIZE_SKIPPED, "too_large")
        };
        held.cx.span().set_attribute(attribute);
    }
    drop(held);
}
