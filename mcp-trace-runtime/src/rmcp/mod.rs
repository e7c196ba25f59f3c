//! rmcp (the official Rust MCP SDK) integration: [`adapter::TracedServer`] traces any
//! `ServerHandler` by delegation, [`stdio`](stdio::stdio) answers and records the lines
//! rmcp's stdio transport would drop, and [`support`] classifies rmcp's result and error
//! types and reads the request scope from its `RequestContext`.

pub mod adapter;
#[cfg(feature = "client")]
pub mod client;
pub mod server_transport;
#[cfg(feature = "rmcp-http")]
pub mod session_manager;
pub mod stdio;
pub mod support;
mod tools;
