//! The client side: [`traced`] wraps the transport an rmcp client is served over, so
//! every request it sends gets a CLIENT span per the MCP conventions (`tools/call
//! {tool}`, `resources/read`, `initialize`, …) and carries that span's context in its
//! `_meta`, making the server's span its child: one trace from the agent into the
//! server. The session span (`mcp.client.session`) covers the client from
//! `initialize` to the transport's close, so one agent run is one trace.
//!
//! On a `tools/call` span, the same value-free argument signals as on the server's:
//! shapes, the hash (the same recipe, so both sides carry the same value) and the
//! verdict against the schema the server advertised in `tools/list`. Never an argument
//! value, nor result content. A result with `isError: true` is `error.type =
//! tool_error`; a JSON-RPC error its code; no answer `timeout`, `cancelled`,
//! `transport_error` or `transport_closed`.
//!
//! rmcp sends from a task of its own, where the caller's span is not current: serve
//! the client as a [`TracedClient`] and its calls hand the caller's context over, so
//! each request's span is the child of the agent step that made it (or, with
//! [`TracedClient::merge_into_current_span`], the agent framework's `execute_tool` span
//! itself carries the MCP attributes and no second span is made).

mod options;
mod record;
mod traced_client;
mod transport;

pub use traced_client::TracedClient;
pub use transport::{TracedTransport, traced};
