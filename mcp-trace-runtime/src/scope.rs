//! The request scope: what a framework knows about a call and the handler does not.
//!
//! A scope is set around the handler call, for the whole of every poll of its future
//! (or the duration of a closure), so it works with any executor. The first traced
//! handler that starts inside it claims it; a nested traced call sees no scope.

use serde_json::Value;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// `network.transport` of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// stdio.
    Pipe,
    /// HTTP, including streamable HTTP.
    Tcp,
    /// A Unix domain socket.
    Unix,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct ScopeData {
    pub(crate) arguments: Option<Value>,
    /// Arguments over the schema-check budget, not copied into the scope: only their
    /// hash, computed before the request moved on.
    pub(crate) oversized: Option<Oversized>,
    /// The signals of arguments not copied into the scope, taken by the adapter while
    /// it still owned the request (see `raw_signals`).
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) precomputed: Option<crate::raw_signals::Precomputed>,
    pub(crate) session_id: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) traceparent: Option<String>,
    pub(crate) tracestate: Option<String>,
    pub(crate) baggage: Option<String>,
    pub(crate) protocol_version: Option<String>,
    pub(crate) transport: Option<Transport>,
    /// `network.protocol.name` and `.version` (`http`, `1.1`).
    pub(crate) network_protocol: Option<(&'static str, &'static str)>,
    /// `client.address` and `client.port` of a request over a network.
    pub(crate) client: Option<(std::net::IpAddr, Option<u16>)>,
    /// `mcp.tool.definition.hash` and `.size` of the tool a `tools/call` names, as the
    /// server advertises it.
    #[cfg(all(feature = "enable", feature = "wire", feature = "args-hash"))]
    pub(crate) tool_definition: Option<std::sync::Arc<Definition>>,
}

/// What a `tools/call` span says of the called tool's definition as advertised.
#[cfg(all(feature = "enable", feature = "wire", feature = "args-hash"))]
#[derive(Debug)]
pub(crate) struct Definition {
    /// `mcp.tool.definition.hash`.
    pub(crate) hash: opentelemetry::StringValue,
    /// `mcp.tool.definition.size`: bytes of its JSON, what listing it costs a
    /// model's context on every turn.
    pub(crate) size: usize,
}

/// What the scope keeps of arguments too large to copy.
#[derive(Debug, Default)]
pub(crate) struct Oversized {
    /// `mcp.tool.args.hash` of the arguments as sent, when the hash is on.
    #[cfg_attr(not(feature = "args-hash"), allow(dead_code))]
    pub(crate) hash: Option<String>,
}

/// Runs `future` with an already activated scope set on every poll.
#[cfg(feature = "wire")]
pub(crate) fn run_active<F: Future>(scope: Arc<ActiveScope>, future: F) -> Scoped<F> {
    Scoped {
        future,
        scope: Some(scope),
    }
}

/// A scope being run: its data, whether a traced handler has claimed it, and the span
/// made for it.
#[derive(Debug)]
pub(crate) struct ActiveScope {
    pub(crate) data: ScopeData,
    claimed: Arc<AtomicBool>,
    /// The request's span (in a context), once one started in this scope: what later
    /// messages about the request link to, are parented by, or become events on.
    #[cfg(feature = "enable")]
    span: std::sync::OnceLock<opentelemetry::Context>,
    /// Events added to the request's span by the observer, and those left out over
    /// the bound.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) events: crate::observe::events::EventCount,
    /// An adapter's span for this request that may start before the request ends.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) deferred: std::sync::Mutex<crate::observe::Deferred>,
    /// Where the request stands in a multi-round call.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) rounds: crate::observe::rounds::RoundState,
    /// The end of the request's span, held while the adapter measures the result.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) held_end: crate::observe::context_cost::HeldEnd,
    /// Notifications the transport delivered on this request's subscription stream
    /// (`subscriptions/listen`).
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) delivered: std::sync::atomic::AtomicU64,
    /// The scope was claimed by an adapter's span of the request, not a handler.
    #[cfg(all(feature = "enable", feature = "wire"))]
    adapter_claimed: AtomicBool,
    /// What the traced handler that claimed the scope said of itself.
    #[cfg(all(feature = "enable", feature = "wire"))]
    claimant: std::sync::OnceLock<crate::raw_signals::Claimant>,
}

impl ActiveScope {
    fn new(data: ScopeData, claimed: Arc<AtomicBool>) -> Self {
        Self {
            data,
            claimed,
            #[cfg(feature = "enable")]
            span: std::sync::OnceLock::new(),
            #[cfg(all(feature = "enable", feature = "wire"))]
            events: Default::default(),
            #[cfg(all(feature = "enable", feature = "wire"))]
            deferred: Default::default(),
            #[cfg(all(feature = "enable", feature = "wire"))]
            rounds: Default::default(),
            #[cfg(all(feature = "enable", feature = "wire"))]
            held_end: Default::default(),
            #[cfg(all(feature = "enable", feature = "wire"))]
            delivered: Default::default(),
            #[cfg(all(feature = "enable", feature = "wire"))]
            adapter_claimed: AtomicBool::new(false),
            #[cfg(all(feature = "enable", feature = "wire"))]
            claimant: std::sync::OnceLock::new(),
        }
    }

    /// Notes the traced handler that claimed the scope.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) fn note_claimant(&self, claimant: crate::raw_signals::Claimant) {
        let _ = self.claimant.set(claimant);
    }

    /// The traced handler that claimed the scope, if one did.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) fn claimant(&self) -> Option<crate::raw_signals::Claimant> {
        self.claimant.get().copied()
    }

    /// Notes the span started for this request (the first one only).
    #[cfg(feature = "enable")]
    pub(crate) fn note_span(&self, cx: &opentelemetry::Context) {
        if self.span.get().is_none() {
            let _ = self.span.set(cx.clone());
        }
    }

    /// The context holding the request's span, if one has started.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) fn span(&self) -> Option<&opentelemetry::Context> {
        self.span.get()
    }

    /// The request's span context, if its span has started.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) fn span_context(&self) -> Option<opentelemetry::trace::SpanContext> {
        use opentelemetry::trace::TraceContextExt;
        Some(self.span.get()?.span().span_context().clone())
    }

    #[cfg(feature = "wire")]
    pub(crate) fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Claims the scope for a span made outside a traced handler; `false` when a
    /// handler (or an earlier claim) already has it.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) fn claim_for_adapter(&self) -> bool {
        let claimed = !self.claimed.swap(true, Ordering::AcqRel);
        if claimed {
            self.adapter_claimed.store(true, Ordering::Release);
        }
        claimed
    }
}

/// Context of one MCP request, set around the handler call by a framework adapter or by
/// hand (see [`scope`]).
///
/// ```
/// # async fn demo() {
/// use mcp_trace_runtime::{scope, Transport};
/// let arguments = serde_json::json!({"query": "rust"});
/// let result = scope()
///     .arguments(arguments)
///     .session_id("session-1")
///     .request_id(7)
///     .transport(Transport::Pipe)
///     .run(async { 42 })
///     .await;
/// assert_eq!(result, 42);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct RequestScope {
    data: ScopeData,
    claimed: Arc<AtomicBool>,
}

/// A new, empty request scope; chain the setters, then [`RequestScope::run`].
pub fn scope() -> RequestScope {
    RequestScope::default()
}

impl RequestScope {
    pub fn new() -> Self {
        Self::default()
    }

    /// The `arguments` exactly as the client sent them; shapes, hash and schema
    /// verdict are computed from these instead of the typed parameters.
    pub fn arguments(mut self, arguments: Value) -> Self {
        self.data.arguments = Some(arguments);
        self
    }

    /// Arguments too large to copy into the scope: the handler records its typed shapes
    /// and this hash, and the schema check is skipped (`too_large`).
    #[cfg(feature = "wire")]
    pub(crate) fn oversized_arguments(mut self, hash: Option<String>) -> Self {
        self.data.oversized = Some(Oversized { hash });
        self
    }

    /// The signals of the arguments, taken by the adapter instead of a copy.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) fn precomputed(mut self, precomputed: crate::raw_signals::Precomputed) -> Self {
        self.data.precomputed = Some(precomputed);
        self
    }

    /// Whether calls in this scope are counted in runs of identical calls whether or
    /// not their spans record: within a session, or a trace `_meta` named.
    #[cfg(all(feature = "enable", feature = "wire"))]
    pub(crate) fn counts_runs(&self) -> bool {
        self.data.session_id.is_some() || self.data.traceparent.is_some()
    }

    /// The session the request belongs to. Exported as a keyed digest unless raw ids
    /// were opted in to (see [`crate::SessionIdExport`]).
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.data.session_id = Some(id.into());
        self
    }

    /// The JSON-RPC request id (a number or a string).
    pub fn request_id(mut self, id: impl Display) -> Self {
        self.data.request_id = Some(id.to_string());
        self
    }

    /// [`Self::request_id`] already written as text.
    #[cfg(all(feature = "enable", feature = "rmcp"))]
    pub(crate) fn request_id_text(mut self, id: String) -> Self {
        self.data.request_id = Some(id);
        self
    }

    /// Reads `traceparent`, `tracestate` and `baggage` from a request's `params._meta`.
    /// A valid `traceparent` becomes the parent of the handler's span.
    pub fn meta(self, meta: &Value) -> Self {
        match meta {
            Value::Object(map) => self.meta_object(map),
            _ => self,
        }
    }

    /// [`Self::meta`] of the `_meta` object itself.
    pub(crate) fn meta_object(mut self, meta: &serde_json::Map<String, Value>) -> Self {
        // Past these a field is ignored whole when the span starts: not copied either,
        // so that a request kept in flight holds no client string of any size.
        let field = |name: &str, most: usize| {
            meta.get(name)
                .and_then(Value::as_str)
                .filter(|text| text.len() <= most)
                .map(str::to_owned)
        };
        self.data.traceparent = field("traceparent", 128).or(self.data.traceparent);
        self.data.tracestate = field("tracestate", 64 << 10).or(self.data.tracestate);
        self.data.baggage = field("baggage", 8192).or(self.data.baggage);
        self
    }

    /// A W3C `traceparent` header value.
    pub fn traceparent(mut self, traceparent: impl Into<String>) -> Self {
        self.data.traceparent = Some(traceparent.into());
        self
    }

    /// A W3C `tracestate` header value, with [`RequestScope::traceparent`].
    #[cfg(feature = "wire")]
    pub(crate) fn tracestate(mut self, tracestate: String) -> Self {
        self.data.tracestate = Some(tracestate);
        self
    }
    pub fn protocol_version(mut self, version: impl Into<String>) -> Self {
        self.data.protocol_version = Some(version.into());
        self
    }
    pub fn transport(mut self, transport: Transport) -> Self {
        self.data.transport = Some(transport);
        self
    }

    /// The application protocol under JSON-RPC and its version, lowercase, as the
    /// conventions write them: `("http", "1.1")`, `("http", "2")`. Spans and metrics
    /// carry them as `network.protocol.name` and `network.protocol.version`.
    pub fn network_protocol(mut self, name: &'static str, version: &'static str) -> Self {
        self.data.network_protocol = Some((name, version));
        self
    }

    /// The client's address (behind a proxy, the original client's), and its port when
    /// known: `client.address` and `client.port` on the span, never on a metric.
    pub fn client_address(mut self, address: std::net::IpAddr, port: Option<u16>) -> Self {
        self.data.client = Some((address, port));
        self
    }

    /// A flag that turns true once a traced handler has claimed this scope, so an
    /// adapter knows whether it must emit the call's span itself.
    pub fn claimed_flag(&self) -> ClaimedFlag {
        ClaimedFlag(self.claimed.clone())
    }

    /// The definition of the tool called (the rmcp adapter's, from `get_tool`).
    #[cfg(all(feature = "enable", feature = "wire", feature = "args-hash"))]
    pub(crate) fn tool_definition(mut self, definition: std::sync::Arc<Definition>) -> Self {
        self.data.tool_definition = Some(definition);
        self
    }

    /// What the scope carries so far.
    #[cfg(all(feature = "enable", feature = "metrics", feature = "wire"))]
    pub(crate) fn data(&self) -> &ScopeData {
        &self.data
    }

    /// The scope as run, kept by an adapter to read after the call.
    #[cfg(feature = "wire")]
    pub(crate) fn activate(self) -> Arc<ActiveScope> {
        Arc::new(ActiveScope::new(self.data, self.claimed))
    }

    /// Runs `future` with this scope set on every poll.
    pub fn run<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            future,
            scope: Some(Arc::new(ActiveScope::new(self.data, self.claimed))),
        }
    }

    /// Runs `f` with this scope set.
    pub fn run_sync<R>(self, f: impl FnOnce() -> R) -> R {
        let scope = Arc::new(ActiveScope::new(self.data, self.claimed));
        let _entered = enter(Some(scope));
        f()
    }
}

/// See [`RequestScope::claimed_flag`].
#[derive(Debug, Clone)]
pub struct ClaimedFlag(Arc<AtomicBool>);

impl ClaimedFlag {
    pub fn is_claimed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

pin_project_lite::pin_project! {
    /// A future running inside a [`RequestScope`].
    #[derive(Debug)]
    pub struct Scoped<F> {
        #[pin]
        future: F,
        scope: Option<Arc<ActiveScope>>,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = enter(this.scope.clone());
        this.future.poll(cx)
    }
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Arc<ActiveScope>>> = const { std::cell::RefCell::new(None) };
}

/// Restores the previous scope when dropped, also while unwinding.
struct Entered(Option<Arc<ActiveScope>>);

fn enter(scope: Option<Arc<ActiveScope>>) -> Entered {
    // During thread-local teardown there is no scope to set: run without one.
    Entered(
        CURRENT
            .try_with(|current| current.replace(scope))
            .ok()
            .flatten(),
    )
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

/// Whether the request scope set on this thread was claimed by an adapter's span of
/// the request (a traced handler inside it then records no signal of its own).
#[cfg(all(feature = "enable", feature = "wire"))]
pub(crate) fn adapter_claimed() -> bool {
    CURRENT
        .try_with(|current| {
            current
                .borrow()
                .as_ref()
                .is_some_and(|scope| scope.adapter_claimed.load(Ordering::Acquire))
        })
        .unwrap_or(false)
}

/// Whether a request scope is set on this thread (claimed or not).
#[cfg(feature = "wire")]
pub(crate) fn is_set() -> bool {
    CURRENT
        .try_with(|current| current.borrow().is_some())
        .unwrap_or(false)
}

/// `f` of the current scope's data, claimed or not, if one is set.
#[cfg(all(feature = "enable", feature = "metrics"))]
pub(crate) fn peek<R>(f: impl FnOnce(&ScopeData) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(|scope| f(&scope.data)))
        .ok()
        .flatten()
}

/// The current scope, if one is set and no traced handler has claimed it yet.
pub(crate) fn claim() -> Option<Arc<ActiveScope>> {
    CURRENT
        .try_with(|current| {
            let current = current.borrow();
            let scope = current.as_ref()?;
            (!scope.claimed.swap(true, Ordering::AcqRel)).then(|| scope.clone())
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_claim_wins_and_scope_is_restored() {
        let outer = scope().session_id("outer");
        let flag = outer.claimed_flag();
        outer.run_sync(|| {
            let claimed = claim().expect("scope is set");
            assert_eq!(claimed.data.session_id.as_deref(), Some("outer"));
            assert!(claim().is_none(), "claimed once only");
        });
        assert!(flag.is_claimed());
        assert!(claim().is_none(), "restored after the closure");
    }
}
