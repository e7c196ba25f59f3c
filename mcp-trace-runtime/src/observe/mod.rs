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
//! JSON-RPC id, so that a cancellation can link to the span of the request it cancels.

pub(crate) mod in_flight;
pub(crate) mod methods;
pub(crate) mod notification;

pub(crate) use in_flight::{InFlight, RequestKey};

/// What one client connection (stdio: the process; streamable HTTP: one session)
/// keeps between messages.
#[derive(Debug, Default)]
pub(crate) struct Connection {
    pub(crate) in_flight: InFlight,
}
