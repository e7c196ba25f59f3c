//! The tracer every span starts from, cached per thread so that a call with no SDK
//! installed costs a thread-local read and a comparison, and a recording call skips the
//! global provider's lock and allocations.
//!
//! OpenTelemetry's global provider has no change notification, so the cache is
//! refreshed three ways: at once when [`provider_changed`] is called (by
//! [`crate::init`] and by applications that install a provider themselves), when the
//! first span built from a fresh read shows the provider is a no-op or shut down (the
//! thread then skips tracing), and after [`REREAD_AFTER`] calls on the thread in any
//! case, so a provider installed behind our back is picked up without any call.

use opentelemetry::InstrumentationScope;
use opentelemetry::global::{self, BoxedTracer};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Calls on one thread between two reads of the global provider when nobody said it
/// changed.
pub(crate) const REREAD_AFTER: u32 = 1024;

/// Bumped whenever the global provider is known to have changed.
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// This thread's view of the global provider: plain cells, so reading it is one
/// thread-local access with no lazy initialisation.
struct State {
    /// The epoch the tracer was read in (0: never).
    epoch: Cell<u64>,
    /// Calls left before the global provider is read again.
    calls_left: Cell<u32>,
    /// Whether [`TRACER`] holds a tracer worth starting spans with.
    live: Cell<bool>,
}

thread_local! {
    static STATE: State = const {
        State { epoch: Cell::new(0), calls_left: Cell::new(0), live: Cell::new(false) }
    };
    static TRACER: RefCell<Option<Rc<BoxedTracer>>> = const { RefCell::new(None) };
}

/// The tracer to start a span with, or `None` when this thread recently found nothing
/// installed (no SDK, `OTEL_SDK_DISABLED`, a provider shut down).
#[inline]
pub(crate) fn current() -> Option<Rc<BoxedTracer>> {
    let epoch = EPOCH.load(Ordering::Acquire);
    let live = STATE.with(|state| {
        let left = state.calls_left.get();
        if left == 0 || state.epoch.get() != epoch {
            return None;
        }
        state.calls_left.set(left - 1);
        Some(state.live.get())
    });
    match live {
        Some(false) => None,
        Some(true) => TRACER
            .try_with(|t| t.borrow().clone())
            .unwrap_or_else(|_| Some(Rc::new(read_global()))),
        None => refresh(epoch),
    }
}

#[cold]
fn refresh(epoch: u64) -> Option<Rc<BoxedTracer>> {
    let tracer = Rc::new(read_global());
    // During thread teardown there is no cache: the global is read every time.
    if TRACER
        .try_with(|t| *t.borrow_mut() = Some(tracer.clone()))
        .is_ok()
    {
        STATE.with(|state| {
            state.epoch.set(epoch);
            state.calls_left.set(REREAD_AFTER);
            state.live.set(true);
        });
    }
    Some(tracer)
}

/// Whether spans may be recorded on this thread: false once it found nothing
/// installed, so an adapter can skip preparing what no span would carry.
#[cfg(feature = "wire")]
pub(crate) fn live() -> bool {
    current().is_some()
}

/// The span just built from the cached tracer neither records nor carries a valid
/// context: the provider is a no-op (or shut down). Skip tracing on this thread until
/// the next refresh.
pub(crate) fn found_inert() {
    STATE.with(|state| state.live.set(false));
    let _ = TRACER.try_with(|t| *t.borrow_mut() = None);
}

/// Tells every thread to read the global tracer provider again on its next traced
/// call. [`crate::Builder::install`] calls it; call it after installing or replacing
/// the global provider yourself (`opentelemetry::global::set_tracer_provider`) once
/// traced calls have already run, or the change is seen only within
/// 1 024 calls per thread.
pub fn provider_changed() {
    #[cfg(feature = "metrics")]
    crate::metrics::switch_on();
    EPOCH.fetch_add(1, Ordering::AcqRel);
}

/// The provider generation: changes with every [`provider_changed`].
#[cfg(feature = "metrics")]
pub(crate) fn epoch() -> u64 {
    EPOCH.load(Ordering::Acquire)
}

fn read_global() -> BoxedTracer {
    static SCOPE: OnceLock<InstrumentationScope> = OnceLock::new();
    let scope = SCOPE.get_or_init(|| {
        InstrumentationScope::builder("mcp-trace")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build()
    });
    global::tracer_with_scope(scope.clone())
}
