//! The observer: what each MCP message means for telemetry, decided in one place.
//!
//! Sans-IO: callers hand it what passed over the wire (the rmcp adapter from its
//! handler methods, a transport from its messages) and it starts and ends spans and
//! records metrics. It reads no socket and owns no transport, so every way of seeing a
//! conversation — the adapter, the stdio transport, the client, a proxy — stands on the
//! same rules: which name a method gets, which attributes a message carries, and how a
//! message links to the request it is about.
//!
//! A [`Connection`] keeps what outlives one message: the requests in flight, by
//! JSON-RPC id, so that a cancellation can link to the span of the request it cancels
//! and what the server sends while serving a request lands on that request's span; and
//! the requests sent the other way, awaiting their answers.

#[cfg(feature = "metrics")]
pub(crate) mod client_metrics;
pub(crate) mod context_cost;
pub(crate) mod events;
pub(crate) mod in_flight;
pub(crate) mod listed;
pub(crate) mod methods;
pub(crate) mod notification;
pub(crate) mod outbound;
pub(crate) mod raw;
pub(crate) mod rounds;
pub(crate) mod tasks;
pub(crate) mod wire;

use crate::scope::ActiveScope;
pub(crate) use in_flight::{InFlight, RequestKey};
use std::sync::Arc;

/// What one client connection (stdio: the process; streamable HTTP: one session)
/// keeps between messages.
#[derive(Debug, Default)]
pub(crate) struct Connection {
    pub(crate) in_flight: InFlight,
    /// Requests this side sent the peer, awaiting answers.
    pub(crate) outbound: outbound::Outbound,
    /// Most of them awaited at once, when lower than [`outbound::MAX_SENT`]: a proxy
    /// observing thousands of sessions keeps fewer per session.
    pub(crate) sent_bound: Option<usize>,
}

impl Connection {
    /// Notes the request `key` (given progress token `progress`) in flight in `scope`
    /// until the guard drops. `None` past the bound of requests in flight.
    pub(crate) fn enter(
        self: &Arc<Self>,
        key: RequestKey,
        progress: Option<RequestKey>,
        scope: &Arc<ActiveScope>,
    ) -> Option<InFlightGuard> {
        self.in_flight
            .enter(key, progress, scope)
            .then(|| InFlightGuard {
                connection: self.clone(),
                key,
                progress,
                scope: scope.clone(),
            })
    }
}

impl Connection {
    /// A notification went out on the subscription stream of request `key`
    /// (`subscriptions/listen`): counted on that request, if it is still open.
    pub(crate) fn delivered_on(&self, key: RequestKey) {
        if let Some(scope) = self.in_flight.scope_of(key) {
            scope
                .delivered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// A request in flight; dropped when it is answered or given up.
#[derive(Debug)]
pub(crate) struct InFlightGuard {
    connection: Arc<Connection>,
    key: RequestKey,
    progress: Option<RequestKey>,
    scope: Arc<ActiveScope>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.connection
            .in_flight
            .leave(self.key, self.progress, &self.scope);
    }
}

/// Lets go of what the observer keeps across requests (the process is stopping): calls
/// waiting for their next round count as given up, open tasks end `expired`.
pub(crate) fn drain() {
    rounds::drain();
    tasks::drain();
}

/// The connection a message arrived on, put among the message's extensions by the
/// transport that saw it, so the handler side observes into the same connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionHandle(pub(crate) Arc<Connection>);

/// What every requester-side metric carries of the connection.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct MetricBase {
    pub(crate) transport: &'static str,
    /// The server's address and port, on a client over HTTP.
    pub(crate) server: Option<(String, u16)>,
    pub(crate) protocol: Option<String>,
}

/// The span an adapter makes for a request no traced handler claims, which may have to
/// start before the request ends: when the server sends something while serving it (a
/// request of its own, progress) that must be its child or its event.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    /// What starts it: a `tools/call` of this tool, begun at this time, and whether
    /// the server advertises it (the name it starts with).
    tool: Option<(String, std::time::SystemTime, bool)>,
    /// The span, once started early; the adapter ends it.
    started: Option<crate::call::Call>,
}

fn lock_deferred(scope: &ActiveScope) -> std::sync::MutexGuard<'_, Deferred> {
    scope
        .deferred
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Notes that `scope`'s `tools/call` of `tool` (`known`: advertised), begun at
/// `start`, may start its span early. [`take_deferred`] gives the name back.
pub(crate) fn defer_tool(
    scope: &ActiveScope,
    tool: String,
    start: std::time::SystemTime,
    known: bool,
) {
    lock_deferred(scope).tool = Some((tool, start, known));
}

/// What was given to [`defer_tool`], and the span if it started early.
pub(crate) struct Undeferred {
    pub(crate) tool: Option<String>,
    /// Whether the early span was named as a tool the server advertises.
    pub(crate) known: bool,
    pub(crate) started: Option<crate::call::Call>,
}

/// Takes back what [`defer_tool`] was given.
pub(crate) fn take_deferred(scope: &ActiveScope) -> Undeferred {
    let mut deferred = lock_deferred(scope);
    let (tool, known) = match deferred.tool.take() {
        Some((name, _, known)) => (Some(name), known),
        None => (None, false),
    };
    Undeferred {
        tool,
        known,
        started: deferred.started.take(),
    }
}

/// The context of the span of the request served in `scope`: the one started for it,
/// else the adapter's deferred span, started now if no traced handler has the scope.
pub(crate) fn request_context(scope: &Arc<ActiveScope>) -> Option<opentelemetry::Context> {
    if let Some(cx) = scope.span() {
        return Some(cx.clone());
    }
    let mut deferred = lock_deferred(scope);
    let (tool, start, known) = deferred.tool.as_ref()?;
    if deferred.started.is_some() || !scope.claim_for_adapter() {
        return scope.span().cloned();
    }
    let call = crate::call::adapter::tool_span_start(tool, *known, scope.clone(), *start);
    // Kept without its scope (the scope keeps the call: no cycle); the adapter ends it.
    deferred.started = Some(call.without_scope());
    drop(deferred);
    scope.span().cloned()
}
